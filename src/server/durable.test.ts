/**
 * The store on a real data dir: rows survive a restart of the store, one fsync per request, snapshots, torn
 * tails, corrupt middles, another format version. Driven through the server app like the LB drives it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServerApp } from './app.js';
import { ShardStore, type StoreOptions } from './store.js';
import { FormatError } from './wal.js';
import { encodeRecord, scanRecords } from './wal-format.js';
import { appCall } from './testkit.js';

const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
const row = (id: number, marks: number | string = id % 100) => ({ Stud_id: id, Stud_name: `S${id}`, Stud_marks: marks });

async function open(dataDir: string, o: Omit<StoreOptions, 'dataDir'> = {}) {
  const store = await ShardStore.open({ dataDir, ...o });
  await store.replay();
  const app = createServerApp({ store, serverId: 'S0' });
  return { store, app, call: appCall(app) };
}

type Node = Awaited<ReturnType<typeof open>>;
const tmp = () => mkdtempSync(join(tmpdir(), 'shardctl-wal-'));
const copy = async (n: Node, shards = ['sh1', 'sh2']) => {
  const r = await n.call('POST', '/copy', { shards });
  assert.equal(r.status, 200, r.text);
  return r.body;
};
const segments = (dir: string, shard: string) => readdirSync(join(dir, 'shards', shard)).filter((f) => f.startsWith('wal-')).sort();

async function fill(n: Node): Promise<void> {
  assert.equal((await n.call('POST', '/config', { schema, shards: ['sh1', 'sh2'] })).status, 200);
  assert.equal((await n.call('POST', '/write', { shard: 'sh1', curr_idx: 0, data: [row(1), row(2), row(3)] })).status, 200);
  assert.equal((await n.call('POST', '/write', { shard: 'sh2', curr_idx: 0, data: [row(5000), row(5001)] })).status, 200);
  assert.equal((await n.call('PUT', '/update', { shard: 'sh1', Stud_id: 2, data: row(2, 'updated') })).status, 200);
  assert.equal((await n.call('DELETE', '/del', { shard: 'sh1', Stud_id: 3 })).status, 200);
  assert.equal((await n.call('POST', '/rollback', { shard: 'sh2', remove: [5001], restore: [row(5002)] })).status, 200);
  const b = await n.call('POST', '/batch', { ops: [{ op: 'write', w: { shard: 'sh1', curr_idx: 2, data: [row(4)] } }, { op: 'write', w: { shard: 'sh1', data: [row(1)] } }] });
  assert.match(b.text, /^\{"current_idx":3\}\n!.*Duplicate/);
}

test('every change survives a restart of the store; the log positions come back', async () => {
  const dir = tmp();
  const a = await open(dir);
  await fill(a);
  const before = await copy(a);
  assert.deepEqual(before.sh1.map((r: { Stud_id: number }) => r.Stud_id), [1, 2, 4]);
  const stateBefore = (await a.call('GET', '/state')).body.shards;
  const b = await open(dir);
  assert.deepEqual(await copy(b), before);
  const state = (await b.call('GET', '/state')).body;
  assert.deepEqual(state.shards, stateBefore);
  assert.equal(state.shards.sh1.last_index, 4); // write, update, delete, batch write (the refused op is not logged)
  assert.equal(state.shards.sh1.rows, 3);
  assert.equal(state.shards.sh1.corrupt, null);
  assert.equal(state.durable, true);
  // a server without a data dir keeps the old memory-only behaviour
  const mem = await ShardStore.open();
  assert.equal(mem.durable, false);
});

test('one fdatasync per request, whatever its row count; concurrent requests share one', async () => {
  const n = await open(tmp());
  await n.call('POST', '/config', { schema, shards: ['sh1', 'sh2'] });
  const f0 = n.store.walStats.fsyncs;
  await n.call('POST', '/write', { shard: 'sh1', curr_idx: 0, data: Array.from({ length: 500 }, (_, i) => row(i)) });
  assert.equal(n.store.walStats.fsyncs - f0, 1, 'a 500-row write: one fsync');
  const f1 = n.store.walStats.fsyncs;
  await n.call('POST', '/batch', {
    ops: [
      { op: 'write', w: { shard: 'sh1', data: [row(1000)] } },
      { op: 'write', w: { shard: 'sh1', data: [row(1001)] } },
      { op: 'read', shard: 'sh1', low: 0, high: 10 },
    ],
  });
  assert.equal(n.store.walStats.fsyncs - f1, 1, 'a batch of two writes: one fsync');
  const f2 = n.store.walStats.fsyncs;
  await n.call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 10 } });
  assert.equal(n.store.walStats.fsyncs - f2, 0, 'a read: none');
  const f3 = n.store.walStats.fsyncs;
  await Promise.all(Array.from({ length: 20 }, (_, i) => n.call('POST', '/write', { shard: 'sh1', data: [row(2000 + i)] })));
  const used = n.store.walStats.fsyncs - f3;
  assert.ok(used >= 1 && used < 20, `20 concurrent writes took ${used} fsyncs`);
});

test('snapshot + log replay to the same rows; the snapshot drops the segments it covers', async () => {
  const dir = tmp();
  const n = await open(dir, { snapshotBytes: 2000 });
  await n.call('POST', '/config', { schema, shards: ['sh1', 'sh2'] });
  for (let i = 0; i < 40; i++) await n.call('POST', '/write', { shard: 'sh1', data: Array.from({ length: 10 }, (_, k) => row(i * 10 + k)) });
  // changes while snapshots run: every kind of entry over keys a snapshot already holds
  for (let i = 0; i < 40; i += 3) await n.call('PUT', '/update', { shard: 'sh1', Stud_id: i, data: row(i, 'u') });
  for (let i = 1; i < 40; i += 5) await n.call('DELETE', '/del', { shard: 'sh1', Stud_id: i });
  await n.call('POST', '/rollback', { shard: 'sh1', remove: [2], restore: [row(1, 'back')] });
  // one more snapshot, taken once any in progress has finished; then the log holds only what came after it
  for (let i = 0; i < 200 && !(await n.store.snapshot('sh1')); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(n.store.walStats.snapshots >= 2, `snapshots were taken (${n.store.walStats.snapshots})`);
  assert.equal(segments(dir, 'sh1').length, 1, 'the segments the snapshot covers are gone');
  assert.ok(n.store.state().sh1.snapshot_index > 0);
  assert.ok(readdirSync(join(dir, 'shards', 'sh1')).includes('snap'));
  const before = await copy(n);
  const again = await open(dir);
  assert.deepEqual(await copy(again), before);
  assert.equal(again.store.state().sh1.rows, before.sh1.length);
  assert.equal(again.store.state().sh1.last_index, n.store.state().sh1.last_index);
  // and a write after the restart continues the same log
  assert.equal((await again.call('POST', '/write', { shard: 'sh1', data: [row(9999)] })).status, 200);
  assert.equal((await open(dir)).store.state().sh1.rows, before.sh1.length + 1);
});

test('a torn tail is cut at the last good record, and the log goes on from there', async () => {
  const dir = tmp();
  const n = await open(dir);
  await fill(n);
  const before = await copy(n);
  const seg = join(dir, 'shards', 'sh1', segments(dir, 'sh1').at(-1)!);
  const whole = readFileSync(seg);
  const good = scanRecords(whole).end;
  assert.ok(good > 0);
  // a crash in the middle of an append: half a record where the next one goes
  const fd = openSync(seg, 'r+');
  writeSync(fd, whole.subarray(0, 30), 0, 30, good);
  closeSync(fd);
  const b = await open(dir);
  assert.deepEqual(await copy(b), before);
  const after = readFileSync(seg);
  assert.equal(scanRecords(after).status, 'ok');
  assert.ok(after.subarray(good).every((x) => x === 0), 'the torn bytes are zeroed');
  assert.equal((await b.call('POST', '/write', { shard: 'sh1', data: [row(77)] })).status, 200);
  const c = await open(dir);
  assert.equal(c.store.state().sh1.rows, before.sh1.length + 1);
  assert.equal(c.store.state().sh1.corrupt, null);
});

test('a damaged record mid-log: the shard is refused (503, in /state) until a reset refills it', async () => {
  const dir = tmp();
  const n = await open(dir);
  await fill(n);
  const seg = join(dir, 'shards', 'sh1', segments(dir, 'sh1').at(-1)!);
  const bytes = readFileSync(seg);
  bytes[20] ^= 0xff; // inside the first record's payload; three good records follow
  writeFileSync(seg, bytes);
  const b = await open(dir);
  const st = (await b.call('GET', '/state')).body.shards;
  assert.match(st.sh1.corrupt, /checksum mismatch.*valid records after it/);
  assert.equal(st.sh2.corrupt, null, 'the other shard is unaffected');
  for (const [m, p, body] of [
    ['POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 100 } }],
    ['POST', '/copy', { shards: ['sh1'] }],
    ['POST', '/digest', { shards: ['sh1'] }],
    ['POST', '/write', { shard: 'sh1', data: [row(50)] }],
  ] as const) {
    const r = await b.call(m, p, body);
    assert.equal(r.status, 503, `${p}: ${r.text}`);
    assert.match(r.body.message, /Shard sh1 .*damaged log/);
  }
  assert.equal((await b.call('POST', '/read', { shard: 'sh2', Stud_id: { low: 0, high: 9999 } })).status, 200);
  // the LB's refill: /config with reset, then /write chunks
  assert.equal((await b.call('POST', '/config', { schema, shards: ['sh1', 'sh2'], reset: ['sh1'] })).status, 200);
  assert.equal((await b.call('POST', '/write', { shard: 'sh1', curr_idx: 0, data: [row(1), row(2)] })).status, 200);
  assert.equal(b.store.state().sh1.corrupt, null);
  const c = await open(dir);
  assert.equal(c.store.state().sh1.corrupt, null, 'the refill rewrote the log');
  assert.deepEqual((await copy(c, ['sh1'])).sh1, [row(1), row(2)]);
});

test('a data dir of another format version is refused with a reason', async () => {
  const dir = tmp();
  const n = await open(dir);
  await fill(n);
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, format: 0 }));
  const s = await ShardStore.open({ dataDir: dir });
  assert.throws(() => s.replay(), (e: Error) => e instanceof FormatError && /format 0; this server reads format 1/.test(e.message));
  // a log record of another version (whole, checksum right) inside an otherwise current data dir
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  const seg = join(dir, 'shards', 'sh2', segments(dir, 'sh2').at(-1)!);
  const at = scanRecords(readFileSync(seg)).end;
  const rec = encodeRecord(JSON.stringify({ i: 99, t: 0, op: 'delete', key: 1 }), 0);
  const vfd = openSync(seg, 'r+');
  writeSync(vfd, rec, 0, rec.length, at);
  closeSync(vfd);
  const t = await ShardStore.open({ dataDir: dir });
  await assert.rejects(t.replay(), (e: Error) => e instanceof FormatError && /format 0/.test(e.message));
  // whereas a version byte changed by damage fails its checksum: corruption, not another format
  const bytes = readFileSync(seg);
  bytes[2] = 9;
  writeFileSync(seg, bytes);
  const u = await ShardStore.open({ dataDir: dir });
  await u.replay();
  assert.match(u.state().sh2.corrupt ?? '', /checksum/);
});

test('replay of a large log leaves the event loop free (no stall over 150 ms)', async () => {
  const dir = tmp();
  const n = await open(dir, { snapshotBytes: 1 << 30 });
  await n.call('POST', '/config', { schema, shards: ['sh1'] });
  for (let i = 0; i < 60; i++) await n.call('POST', '/write', { shard: 'sh1', data: Array.from({ length: 1000 }, (_, k) => row(i * 1000 + k)) });
  const s = await ShardStore.open({ dataDir: dir });
  let last = Date.now();
  let worst = 0;
  const timer = setInterval(() => {
    worst = Math.max(worst, Date.now() - last);
    last = Date.now();
  }, 2);
  const t0 = Date.now();
  await s.replay();
  clearInterval(timer);
  assert.equal(s.state().sh1.rows, 60_000);
  assert.ok(worst < 150, `the event loop stalled ${worst} ms during a ${Date.now() - t0} ms replay`);
});

test('while it replays, a server answers /heartbeat and /state at once and holds data requests until every row is back', async () => {
  const dir = tmp();
  const n = await open(dir, { snapshotBytes: 1 << 30 });
  await n.call('POST', '/config', { schema, shards: ['sh1'] });
  for (let i = 0; i < 30; i++) await n.call('POST', '/write', { shard: 'sh1', data: Array.from({ length: 1000 }, (_, k) => row(i * 1000 + k)) });
  const store = await ShardStore.open({ dataDir: dir });
  const app = createServerApp({ store, serverId: 'S0' });
  const replay = store.replay();
  assert.equal(store.replaying, true);
  const read = app.request('/read', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ shard: 'sh1', Stud_id: { low: 0, high: 1e6 } }) });
  const hb = await app.request('/heartbeat');
  assert.equal(hb.status, 200);
  const st = await (await app.request('/state')).json();
  assert.equal(st.replaying, true, 'the heartbeat and /state answered during the replay');
  const r = await (await read).json();
  assert.equal(store.replaying, false);
  assert.equal(r.data.length, 30_000, 'the read waited for every row');
  await replay;
});

test('segments are preallocated with zeros and rotate when full; replay over several segments gives the same rows', async () => {
  const dir = tmp();
  const n = await open(dir, { segmentBytes: 8 * 1024, snapshotBytes: 1 << 30 });
  await n.call('POST', '/config', { schema, shards: ['sh1'] });
  for (let i = 0; i < 300; i++) assert.equal((await n.call('POST', '/write', { shard: 'sh1', data: [row(i), row(10_000 + i)] })).status, 200);
  await new Promise((r) => setTimeout(r, 50)); // a preparation in flight lands
  const segs = segments(dir, 'sh1');
  assert.ok(segs.length >= 3, `${segs.length} segments`);
  const sizes = segs.slice(1, -1).map((f) => readFileSync(join(dir, 'shards', 'sh1', f)).length);
  assert.ok(sizes.every((x) => x === 8 * 1024), `full segments keep their preallocated size: ${sizes}`);
  const before = await copy(n, ['sh1']);
  const again = await open(dir, { segmentBytes: 8 * 1024 });
  assert.deepEqual(await copy(again, ['sh1']), before);
  assert.equal(again.store.state().sh1.last_index, 300);
});
