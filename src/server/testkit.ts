/**
 * For the server's tests: one shard server app over a real data dir, driven with app.request() as a primary and the
 * LB would. Not a test itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/**
 * A replica over real HTTP that answers every append ok (holding all it was sent) while `mode.ok`, else 503 (down),
 * for a primary under test to count toward its majority.
 */
export async function fakeReplica(mode: { ok: boolean } = { ok: true }): Promise<{ url: string; server: Server }> {
  const s = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const b = JSON.parse(data || '{}');
      const last = (b.prevIndex ?? 0) + (b.entries?.length ?? 0);
      res.setHeader('content-type', 'application/json');
      if (!mode.ok) {
        res.statusCode = 503;
        res.end(JSON.stringify({ message: 'down', code: 'NO_REPLICA' }));
        return;
      }
      res.end(JSON.stringify({ term: b.term, ok: true, matchIndex: last, lastIndex: last, commitIndex: b.leaderCommit }));
    });
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, server: s };
}

/** The store's next fsync takes `ms` longer (a stalled disk); the ones after it are as fast as ever. */
export function slowNextSync(store: ShardStore, ms: number): void {
  const orig = store.syncShard.bind(store);
  let slow = true;
  (store as unknown as { syncShard: typeof orig }).syncShard = async (...a: Parameters<typeof orig>) => {
    if (slow) {
      slow = false;
      await sleep(ms);
    }
    return orig(...a);
  };
}
