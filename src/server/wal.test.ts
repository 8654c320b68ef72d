/**
 * The replicated shard's log on disk (ShardLog): truncate records across segments, segment numbers that keep
 * write order after a cut, compaction at an index below the log's end, a copy installed as a snapshot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShardLog } from './wal.js';
import type { LogEntry } from './wal-format.js';

const cols = ['Stud_id', 'Stud_name', 'Stud_marks'];
const e = (i: number, t: number): LogEntry => ({ i, t, op: 'write', rows: [[i, `name-${i}-${'x'.repeat(40)}`, t]] });
const stats = () => ({ fsyncs: 0, snapshots: 0 });

async function load(dir: string) {
  const log = new ShardLog(dir, stats(), 256);
  const applied: number[] = [];
  const rows: unknown[][] = [];
  await log.load(cols, { rows: (r) => rows.push(...r), entry: (x) => void applied.push(x.i) });
  return { log, applied, rows, kept: log.loaded.map((x) => `${x.i}@${x.t}`) };
}

test('a cut across segments survives replay; segments after the cut keep write order; compaction below the end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardctl-wal-'));
  const a = new ShardLog(dir, stats(), 256); // ~2 entries per segment
  await a.load(cols, { rows: () => undefined, entry: () => undefined });
  a.saveHard({ term: 1, votedFor: null });
  for (let i = 1; i <= 8; i++) a.appendEntry(e(i, 1));
  await a.sync();
  const before = readdirSync(dir).filter((f) => f.startsWith('wal-')).sort();
  assert.ok(before.length >= 3, `several segments (${before})`);
  // a new primary of term 2 agrees up to 3: entries 4..8 are cut and 4..6 of term 2 follow, in segments numbered
  // above the old ones although their indexes are lower
  a.truncateFrom(4);
  for (let i = 4; i <= 6; i++) a.appendEntry(e(i, 2));
  await a.sync();
  a.saveHard({ term: 2, votedFor: 'S2' });
  a.saveCommitHint(2);
  await new Promise((r) => setTimeout(r, 50)); // the hint is written off the event loop
  const after = readdirSync(dir).filter((f) => f.startsWith('wal-')).sort();
  assert.deepEqual(after.slice(0, before.length), before, 'the old segments stay; new ones sort after them');

  const b = await load(dir);
  assert.deepEqual(b.kept, ['1@1', '2@1', '3@1', '4@2', '5@2', '6@2']);
  assert.deepEqual(b.applied, [1, 2], 'only entries up to the commit hint are applied on replay');
  assert.equal(b.log.lastIndex, 6);
  assert.deepEqual(b.log.hard, { term: 2, votedFor: 'S2' });
  // compaction at 5 (below the log's end): segments holding nothing above 5 go, in file order
  assert.equal(await b.log.snapshot(cols, () => [], 2000, { index: 5, term: 2 }), true);
  const left = readdirSync(dir).filter((f) => f.startsWith('wal-')).sort();
  assert.ok(left.length < after.length && !left.includes(before[0]), `covered segments deleted (${after} -> ${left})`);
  const c = await load(dir);
  assert.equal(c.log.snapIndex, 5);
  assert.equal(c.log.snapTerm, 2);
  assert.deepEqual(c.kept, ['6@2']);
  assert.equal(c.log.corrupt, undefined);
  // and the log goes on
  c.log.appendEntry(e(7, 2));
  await c.log.sync();
  assert.deepEqual((await load(dir)).kept, ['6@2', '7@2']);
});

test('a copy installed as a snapshot keeps the entries after it; replay gives rows + those entries', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardctl-wal-'));
  const a = new ShardLog(dir, stats(), 256);
  await a.load(cols, { rows: () => undefined, entry: () => undefined });
  a.saveHard({ term: 3, votedFor: null });
  for (let i = 1; i <= 5; i++) a.appendEntry(e(i, 1));
  await a.sync();
  a.installSnapshot(cols, 10, 3, [[1, 'a', 1], [2, 'b', 2]], [e(11, 3)]);
  const b = await load(dir);
  assert.equal(b.log.snapIndex, 10);
  assert.equal(b.log.lastIndex, 11);
  assert.deepEqual(b.rows, [[1, 'a', 1], [2, 'b', 2]]);
  assert.deepEqual(b.kept, ['11@3']);
  assert.equal(b.log.corrupt, undefined);
});
