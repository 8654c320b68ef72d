/**
 * For the server's tests: one shard server app over a real data dir, driven with app.request() as a primary and the
 * LB would. Not a test itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { createServerApp } from './app.js';
import { ShardStore } from './store.js';

export const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
export const tmp = (prefix = 'shardctl-repl-') => mkdtempSync(join(tmpdir(), prefix));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A log entry writing rows `ids` at `index` of `term`, as a primary sends it. */
export const w = (index: number, term: number, ...ids: number[]) => ({ index, term, op: { op: 'write', rows: ids.map((id) => [id, `S${id}`, id % 100]) } });

/** Calls an app as HTTP would: status, text, and the body parsed when it is JSON (/batch answers lines of text). */
export function appCall(app: Hono) {
  return async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    let parsed: any; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, text, body: parsed };
  };
}

/** Server S1 on `dataDir` (replayed), configured with shard sh1 unless told not to. */
export async function open(dataDir: string, configure = true) {
  const store = await ShardStore.open({ dataDir });
  await store.replay();
  const call = appCall(createServerApp({ store, serverId: 'S1' }));
  if (configure) assert.equal((await call('POST', '/config', { schema, shards: ['sh1'] })).status, 200);
  const ids = async () => ((await call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 1000 } })).body.data as { Stud_id: number }[]).map((r) => r.Stud_id);
  const st = async () => (await call('GET', '/state')).body.shards.sh1;
  return { store, call, ids, st };
}
