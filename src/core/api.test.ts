/**
 * The route table's zod schemas and the hand-written fast-path validation (core/schemas.ts, core/table.ts) must
 * accept and refuse the same bodies: one table of good and bad bodies per endpoint, run through both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { DelBody, InitBody, AddBody, RmBody, ReadBody, UpdateBody, WriteBody } from './api.js';
import { parseAddBody, parseDelBody, parseInitBody, parseReadBody, parseRmBody, parseUpdateBody, parseWriteBody } from './schemas.js';
import type { Schema } from './table.js';

const SCHEMA: Schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
const row = (id: unknown, extra: Record<string, unknown> = {}) => ({ Stud_id: id, Stud_name: 'A', Stud_marks: 27, ...extra });

type Case = [body: unknown, good: boolean];
const cases: Record<string, { zod: z.ZodType; hand: (b: unknown) => unknown; table: Case[] }> = {
  write: {
    zod: WriteBody,
    hand: (b) => parseWriteBody(SCHEMA, b),
    table: [
      [{ data: [row(1)] }, true],
      [{ data: [row('2255'), row(3, { Stud_marks: 'x' })] }, true],
      [{ data: [row(-5)] }, true],
      [{ data: [] }, false],
      [{ data: 'x' }, false],
      [{}, false],
      [[row(1)], false],
      [{ data: [row(1.5)] }, false],
      [{ data: [row('12a')] }, false],
      [{ data: [row(1, { extra: 1 })] }, false],
      [{ data: [{ Stud_id: 1, Stud_name: 'A' }] }, false],
      [{ data: [row(1, { Stud_marks: null })] }, false],
      [{ data: [row(1, { Stud_marks: { a: 1 } })] }, false],
      [{ data: [row(1, { Stud_name: true })] }, false],
      [{ data: [row(2 ** 60)] }, false],
    ],
  },
  read: {
    zod: ReadBody,
    hand: (b) => parseReadBody(SCHEMA, b),
    table: [
      [{ Stud_id: { low: 0, high: 10 } }, true],
      [{ Stud_id: { low: '5', high: 5 } }, true],
      [{ Stud_id: { low: 10, high: 0 } }, false],
      [{ Stud_id: { low: 0 } }, false],
      [{ Stud_id: [0, 1] }, false],
      [{ low: 0, high: 1 }, false],
      [{ Stud_id: { low: 0.5, high: 1 } }, false],
    ],
  },
  update: {
    zod: UpdateBody,
    hand: (b) => parseUpdateBody(SCHEMA, b),
    table: [
      [{ Stud_id: 1, data: row(1) }, true],
      [{ Stud_id: '1', data: row(1) }, true],
      [{ Stud_id: 1, data: row(2) }, false],
      [{ Stud_id: 1 }, false],
      [{ data: row(1) }, false],
      [{ Stud_id: 1, data: row(1, { x: 1 }) }, false],
    ],
  },
  del: {
    zod: DelBody,
    hand: (b) => parseDelBody(SCHEMA, b),
    table: [
      [{ Stud_id: 1 }, true],
      [{ Stud_id: '77' }, true],
      [{ Stud_id: 'x' }, false],
      [{}, false],
      [{ Stud_id: 1.25 }, false],
    ],
  },
  init: {
    zod: InitBody,
    hand: parseInitBody,
    table: [
      [{ N: 3, schema: SCHEMA, shards: [{ Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 10 }] }, true],
      [{ N: 3, schema: SCHEMA, shards: [{ Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 10 }], dry_run: true }, true],
      [{ N: 3, schema: { columns: ['a'], dtypes: ['Number'] }, shards: [{ Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 10 }] }, true],
      [{ N: 3, schema: { columns: ['a'], dtypes: ['Nope'] }, shards: [{ Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 10 }] }, false],
      [{ N: 3, schema: { columns: ['a b'], dtypes: ['Number'] }, shards: [{ Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 10 }] }, false],
      [{ N: 0, schema: SCHEMA, shards: [{ Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 10 }] }, false],
      [{ N: 3, schema: SCHEMA, shards: [] }, false],
      [{ N: 3, schema: SCHEMA, shards: [{ Stud_id_low: 0, Shard_id: 'sh-1', Shard_size: 10 }] }, false],
      [{ N: 3, schema: SCHEMA, shards: [{ Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 10 }], dry_run: 'yes' }, false],
    ],
  },
  add: {
    zod: AddBody,
    hand: parseAddBody,
    table: [
      [{ n: 1, servers: { Server9: ['sh1'] } }, true],
      [{ n: 1, servers: { 'Server[5]': ['sh1'] }, dry_run: true }, true],
      [{ n: 0, servers: {} }, false],
      [{ n: 1, servers: { 'bad name': ['sh1'] } }, false],
    ],
  },
  rm: {
    zod: RmBody,
    hand: parseRmBody,
    table: [
      [{ n: 1, servers: ['Server1'] }, true],
      [{ n: 2, force: true, dry_run: true }, true],
      [{ n: -1 }, false],
      [{ n: 1, force: 'yes' }, false],
    ],
  },
};

for (const [name, { zod, hand, table }] of Object.entries(cases)) {
  test(`${name}: the zod schema and the hand-written validation agree on every body`, () => {
    for (const [body, good] of table) {
      const byZod = zod.safeParse(body).success;
      let byHand = true;
      try {
        hand(body);
      } catch {
        byHand = false;
      }
      assert.equal(byHand, good, `hand-written check of ${JSON.stringify(body)}`);
      assert.equal(byZod, good, `zod schema of ${JSON.stringify(body)}`);
    }
  });
}
