/**
 * Request bodies of the LB and the shard servers: parse, validate, normalise. Pure.
 * Data bodies (the hot path) are checked by hand; membership bodies (cold) with zod.
 */
import { z } from 'zod';
import { fail } from './errors.js';
import { isPlainObject, parseKey, parseRange, parseRow, parseSchema, type Row, type Schema } from './table.js';
import type { ShardDef } from './shard-map.js';

export function parseWriteBody(schema: Schema, body: unknown): Row[] {
  if (!isPlainObject(body)) fail('INVALID_FIELD', 'body must be a JSON object with a data array');
  const data = body.data;
  if (!Array.isArray(data)) fail('INVALID_FIELD', 'data must be an array of rows');
  if (data.length === 0) fail('INVALID_FIELD', 'data must hold at least one row');
  const rows = new Array<Row>(data.length);
  for (let i = 0; i < data.length; i++) rows[i] = parseRow(schema, data[i], `data[${i}]`);
  return rows;
}

export function parseReadBody(schema: Schema, body: unknown): { low: number; high: number } {
  if (!isPlainObject(body)) fail('INVALID_FIELD', `body must be a JSON object with ${schema.columns[0]}: {low, high}`);
  return parseRange(body[schema.columns[0]], schema.columns[0]);
}

export function parseUpdateBody(schema: Schema, body: unknown): { key: number; row: Row } {
  const keyCol = schema.columns[0];
  if (!isPlainObject(body)) fail('INVALID_FIELD', `body must be a JSON object with ${keyCol} and data`);
  const key = parseKey(body[keyCol], keyCol);
  const row = parseRow(schema, body.data, 'data');
  if (row[keyCol] !== key)
    fail('INVALID_FIELD', `data.${keyCol} (${row[keyCol]}) must equal ${keyCol} (${key}): the key of a row cannot change`);
  return { key, row };
}

export function parseDelBody(schema: Schema, body: unknown): number {
  const keyCol = schema.columns[0];
  if (!isPlainObject(body)) fail('INVALID_FIELD', `body must be a JSON object with ${keyCol}`);
  return parseKey(body[keyCol], keyCol);
}

/**
 * A shard id names a table, so it must be a plain identifier; and responses list shards by id beside their own
 * fields (`/read/{server}`, `/copy`, `/digest`), so ids that would collide with a field are refused (API.md).
 */
export const RESERVED_SHARD_IDS = ['status', 'message', 'data', 'shards_queried', 'code'];
export function reservedShardId(id: string): string | undefined {
  if (id.startsWith('__')) return `${id} starts with __ (reserved)`;
  if (RESERVED_SHARD_IDS.includes(id)) return `${id} is a field of the responses that list shards by id (reserved: ${RESERVED_SHARD_IDS.join(', ')}, __*)`;
  return undefined;
}
const shardId = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be an identifier (letters, digits, _)')
  .refine((id) => !reservedShardId(id), { error: (iss) => `shard id ${reservedShardId(String(iss.input))}: pick another name` });
const intLike = z.union([z.number().int(), z.string().regex(/^-?\d{1,15}$/).transform(Number)]);
const shardDef = z.strictObject({
  Stud_id_low: intLike,
  Shard_id: shardId,
  Shard_size: intLike.pipe(z.number().int().positive()),
});
/** Server names start with a letter or digit (they name containers, log files and data directories). */
const serverName = z.string().min(1).max(63).regex(/^[A-Za-z0-9][A-Za-z0-9_.\-[\]]*$/, 'must start with a letter or digit, then letters, digits, _ . - or [ ]');

const initSchema = z.object({
  N: intLike.pipe(z.number().int().min(1).max(256)),
  schema: z.unknown(),
  shards: z.array(shardDef).min(1),
  servers: z.record(serverName, z.array(shardId)).optional(),
  replicas: intLike.pipe(z.number().int().min(1)).optional(),
});
const addSchema = z.object({
  n: intLike.pipe(z.number().int().min(1).max(256)),
  new_shards: z.array(shardDef).optional(),
  servers: z.record(serverName, z.array(shardId)).optional(),
});
const rmSchema = z.object({
  n: intLike.pipe(z.number().int().min(0)),
  servers: z.array(serverName).optional(),
  force: z.boolean().optional(),
});

/** zod's first issue as "<path>: <message>", the way every other 400 names its field. */
export function zparse<T extends z.ZodType>(s: T, input: unknown): z.infer<T> {
  const r = s.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue.path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
  return fail('INVALID_FIELD', `${path || 'body'}: ${issue.message}`);
}

export interface InitBody {
  N: number;
  schema: Schema;
  shards: ShardDef[];
  servers: Record<string, string[]>;
  replicas?: number;
}
export function parseInitBody(body: unknown): InitBody {
  if (!isPlainObject(body)) fail('INVALID_FIELD', 'body must be a JSON object with N, schema, shards');
  const b = zparse(initSchema, body);
  return { N: b.N, schema: parseSchema(b.schema), shards: b.shards, servers: b.servers ?? {}, replicas: b.replicas };
}

export interface AddBody {
  n: number;
  new_shards: ShardDef[];
  servers: Record<string, string[]>;
}
export function parseAddBody(body: unknown): AddBody {
  if (!isPlainObject(body)) fail('INVALID_FIELD', 'body must be a JSON object with n and servers');
  const b = zparse(addSchema, body);
  return { n: b.n, new_shards: b.new_shards ?? [], servers: b.servers ?? {} };
}

export interface RmBody {
  n: number;
  servers: string[];
  force: boolean;
}
export function parseRmBody(body: unknown): RmBody {
  if (!isPlainObject(body)) fail('INVALID_FIELD', 'body must be a JSON object with n and servers');
  const b = zparse(rmSchema, body);
  return { n: b.n, servers: b.servers ?? [], force: b.force ?? false };
}

/** Shard-server bodies. */
export function parseShardField(body: Record<string, unknown>): string {
  const s = body.shard;
  if (typeof s !== 'string' || s.length === 0) fail('INVALID_FIELD', 'shard must be a shard id string');
  return s;
}
export function parseShardList(v: unknown, where = 'shards'): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(s)))
    fail('INVALID_FIELD', `${where} must be an array of shard ids`);
  return v as string[];
}
