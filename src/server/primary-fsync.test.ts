/**
 * A primary's fsync stays off the event loop (replication.ts sync()). Tried in session 6: inline when its write was
 * the server's only request, as a replica's is; an independent review found these two, each failing then:
 * one /batch writing several shards is one request, so its shards fsynced one after another on the event loop
 * before the next was even logged; and a slow disk blocked the loop past the commit deadline while both replicas'
 * answers waited unread, so a committed write came back 503 INDETERMINATE. Every fdatasync of this process is
 * made slow here (fs patched; this file runs in its own process).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createServerApp } from './app.js';
import { ShardStore } from './store.js';
import { serveReplStream } from './repl-stream.js';
import { appCall, schema, tmp } from './testkit.js';

// ---- a slow disk: while `slowMs` > 0 every fdatasync (sync or async) of the process takes that long ----
const realSync = fs.fdatasyncSync;
const realAsync = fs.fdatasync;
let slowMs = 0;
const events: string[] = [];
const busy = (ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end);
};
(fs as unknown as Record<string, unknown>).fdatasyncSync = (fd: number) => {
  if (slowMs > 0) busy(slowMs);
  realSync(fd);
  events.push(`fsync-done(inline) fd${fd}`);
};
(fs as unknown as Record<string, unknown>).fdatasync = (fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => {
  const go = () =>
    realAsync(fd, (e) => {
      events.push(`fsync-done(async) fd${fd}`);
      cb(e);
    });
  if (slowMs > 0) setTimeout(go, slowMs);
  else go();
};
syncBuiltinESMExports();

const row = (id: number) => ({ Stud_id: id, Stud_name: `s${id}`, Stud_marks: 1 });

/** A replica that answers every append at once, over the primary's stream (as a real one does). */
async function streamReplica(): Promise<{ url: string; close: () => void }> {
  const s = createServer((_req, res) => res.writeHead(404).end());
  serveReplStream(s, async (_path, body) => {
    const b = body as { prevIndex: number; entries?: unknown[]; term: number; leaderCommit: number };
    const last = b.prevIndex + (b.entries?.length ?? 0);
    return { status: 200, body: { term: b.term, ok: true, matchIndex: last, lastIndex: last, commitIndex: b.leaderCommit } };
  }, 1 << 20);
  // upgraded connections are not the HTTP server's any more (closeAllConnections misses them): kept to be closed
  const sockets = new Set<Socket>();
  s.on('connection', (c: Socket) => sockets.add(c));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const close = () => {
    for (const c of sockets) c.destroy();
    s.close();
  };
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close };
}

async function primary(shards: string[], replicas: Record<string, string>, commitTimeoutMs?: number) {
  const store = await ShardStore.open({ dataDir: tmp() });
  await store.replay();
  const call = appCall(createServerApp({ store, serverId: 'S1', commitTimeoutMs }));
  assert.equal((await call('POST', '/config', { schema, shards })).status, 200);
  const names = ['S1', ...Object.keys(replicas)];
  for (const shard of shards) {
    assert.equal((await call('POST', '/repl/vote', { shard, term: 1, candidate: 'S1', lastIndex: 0, lastTerm: 0 })).body.granted, true);
    const p = await call('POST', '/repl/promote', { shard, term: 1, replicas: names, voters: names, addresses: replicas, reported: {} });
    assert.equal(p.status, 200, p.text);
  }
  return { store, call };
}

test('one /batch writing 4 shards of this primary: no shard waits behind another shard\'s fsync (the "lone request" is 4 writes)', async () => {
  const shards = ['sh1', 'sh2', 'sh3', 'sh4'];
  const { store, call } = await primary(shards, {});
  let id = 0;
  // warm: segments exist, so no fsync of a new segment below
  for (const shard of shards) assert.equal((await call('POST', '/write', { shard, term: 1, data: [row(++id)] })).status, 200);
  for (const shard of shards) {
    const log = store.logOf(shard)!;
    const orig = log.appendEntry.bind(log);
    log.appendEntry = (e) => (events.push(`append ${shard}`), orig(e));
  }
  events.length = 0;
  slowMs = 40;
  const t0 = Date.now();
  const b = await call('POST', '/batch', { term: 1, ops: shards.map((shard) => ({ op: 'write', w: { shard, data: [row(++id)] } })) });
  const took = Date.now() - t0;
  slowMs = 0;
  assert.equal(b.status, 200, b.text);
  assert.ok(b.text.split('\n').every((l) => /"index"/.test(l)), b.text);
  const firstDone = events.findIndex((e) => e.startsWith('fsync-done'));
  const lastAppend = events.map((e) => e.startsWith('append')).lastIndexOf(true);
  assert.ok(lastAppend < firstDone, `shard appends waited behind another shard's fsync: ${events.join(' | ')}`);
  assert.ok(took < 120, `${took} ms: 4 fsyncs in a row on the event loop`);
});

test('a primary fsync slower than the commit timeout: both replicas acknowledged at once, yet the write is 503 INDETERMINATE', async (t) => {
  const r2 = await streamReplica();
  const r3 = await streamReplica();
  t.after(() => {
    r2.close();
    r3.close();
  });
  const { call } = await primary(['sh1'], { S2: r2.url, S3: r3.url }, 300);
  assert.equal((await call('POST', '/write', { shard: 'sh1', term: 1, data: [row(1)] })).status, 200); // streams open
  slowMs = 400; // a slow disk moment on the primary only (the replicas do not fsync here)
  const w = await call('POST', '/write', { shard: 'sh1', term: 1, data: [row(2)] });
  slowMs = 0;
  assert.equal(w.status, 200, `a majority (S2, S3) held the entry within ms; got ${w.status} ${w.text}`);
});
