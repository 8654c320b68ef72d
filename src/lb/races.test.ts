/**
 * Interleavings found by an independent review of the LB split (each failed before its fix): /rm judged again under
 * the shard locks, a rolled-back /add with serving new replicas, undo of a multi-shard write racing del + write,
 * a resume retry after an /init, a server started on its data that answered late, a half-done /add never saved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessRuntime } from '../runtime/fake.js';
import { allRows, row, serverStates, setup, sleep, until } from './testkit.js';

const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
const shards2 = [
  { Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 4096 },
  { Stud_id_low: 4096, Shard_id: 'sh2', Shard_size: 4096 },
];

// R1: /rm judged on a snapshot, executed after awaits: a fence meanwhile leaves the shard with no serving replica
test('R1 /rm without force never leaves a shard with no serving replica, even if another replica is fenced while it waits for the lock', async (t) => {
  const { call, close, cluster } = await setup();
  t.after(close);
  assert.equal((await call('POST', '/init', { N: 2, schema, shards: [shards2[0]], servers: { Server0: ['sh1'], Server1: ['sh1'] } })).status, 200);
  assert.equal((await call('POST', '/write', { data: [row(1), row(2)] })).status, 200);
  let release!: () => void;
  const held = cluster.withShardLock('sh1', () => new Promise<void>((r) => (release = r)));
  const rm = call('DELETE', '/rm', { n: 1, servers: ['Server0'] }); // judged now: Server1 serves sh1
  await sleep(50);
  cluster.fence('Server1', 'test: a write failed on it');
  release();
  await held;
  const r = await rm;
  // either /rm is refused now, or sh1 gets a serving replica back (Server1 holds every row)
  const ok = await until(async () => (await call('POST', '/read', { Stud_id: { low: 0, high: 10 } })).status === 200, 3000);
  assert.ok(r.status !== 200 || ok, `rm answered ${r.status}; sh1 never serves again: ${JSON.stringify(await serverStates(call))} ${JSON.stringify(cluster.details().shards)}`);
});

// R2: /add rollback after new replicas became voters and acked a write alone
test('R2 an /add that fails after its new replicas of an existing shard served loses no acknowledged row', async (t) => {
  const { call, close, runtime, cluster } = await setup({ extra: { spawnTimeoutMs: 30000 } });
  t.after(close);
  assert.equal((await call('POST', '/init', { N: 1, schema, shards: [shards2[0]], servers: { Server0: ['sh1'] } })).status, 200);
  assert.equal((await call('POST', '/write', { data: [row(1)] })).status, 200);
  runtime.spawnDelayMs.set('Server3', 1500);
  runtime.failSpawn.add('Server3');
  const add = call('POST', '/add', { n: 3, servers: { Server1: ['sh1'], Server2: ['sh1'], Server3: ['sh1'] } });
  assert.ok(await until(() => { const v = cluster.shardView('sh1')!; return v.ready.includes('Server1') && v.ready.includes('Server2'); }, 1400), 'new replicas never served');
  runtime.pause('Server0');
  cluster.fence('Server0', 'test');
  const w = await call('POST', '/write', { data: [row(2)] });
  const a = await add;
  runtime.resume('Server0');
  assert.notEqual(a.status, 200);
  await until(async () => (await call('POST', '/read', { Stud_id: { low: 0, high: 10 } })).status === 200, 3000);
  const got = await call('POST', '/read', { Stud_id: { low: 0, high: 10 } });
  assert.deepEqual(got.body?.data?.map((r: { Stud_id: number }) => r.Stud_id), w.status === 200 ? [1, 2] : [1], `write 2 answered ${w.status}; /add answered ${a.status}; read: ${JSON.stringify(got)}`);
});

// R3: the undo of a multi-shard write removes a row written (and acknowledged) by another client meanwhile
test('R3 undo of a failed multi-shard write never removes a row acknowledged to another request', async (t) => {
  const { call, close, cluster, runtime } = await setup();
  t.after(close);
  assert.equal((await call('POST', '/init', { N: 4, schema, shards: shards2, servers: { Server0: ['sh1'], Server1: ['sh1'], Server2: ['sh2'], Server3: ['sh2'] } })).status, 200);
  let release!: () => void;
  const held = cluster.withShardLock('sh2', () => new Promise<void>((r) => (release = r)));
  const w1 = call('POST', '/write', { data: [row(1, 'first'), row(5000)] });
  assert.ok(await until(async () => (await call('POST', '/read', { Stud_id: { low: 0, high: 10 } })).body.data?.length === 1, 1000));
  await call('DELETE', '/del', { Stud_id: 1 });
  const w2 = await call('POST', '/write', { data: [row(1, 'second')] });
  runtime.pause('Server2');
  runtime.pause('Server3');
  cluster.fence('Server2', 't');
  cluster.fence('Server3', 't');
  release();
  await held;
  assert.notEqual((await w1).status, 200);
  const rows = (await call('POST', '/read', { Stud_id: { low: 0, high: 10 } })).body.data;
  if (w2.status === 200) assert.deepEqual(rows, [row(1, 'second')], 'acknowledged row gone');
  else assert.deepEqual(rows, [], 'a refused write left a row');
  runtime.resume('Server2');
  runtime.resume('Server3');
});

function wrapRt(r: InProcessRuntime, over: Partial<Record<'spawn' | 'list', (...a: any[]) => Promise<any>>>) {
  return {
    kind: r.kind,
    spawn: over.spawn ?? ((n: string) => r.spawn(n)),
    stop: (n: string, o?: any) => r.stop(n),
    kill: (n: string) => r.kill(n),
    list: over.list ?? (() => r.list()),
    state: (n: string) => r.state(n),
    logs: () => r.logs(),
    stopAll: () => r.stopAll(),
  };
}
const saved = { schema, shards: [{ ...shards2[0], valid_idx: 0 }], servers: { Server0: ['sh1'], Server1: ['sh1'] }, stale: [] as string[], primaries: {}, terms: {} };

// R4: a resume retried in the background after /init brings the old saved cluster back over the new one
test('R4 a failed resume retried later never replaces a cluster the operator initialised meanwhile', async (t) => {
  let lists = 0;
  const { call, close, cluster, runtime } = await setup({
    extra: { retryBaseMs: 400 },
    wrap: (r) => wrapRt(r, { list: async () => { if (lists++ === 0) throw new Error('docker not answering (test)'); return r.list(); } }),
  });
  t.after(close);
  await cluster.resume(saved as any);
  const init = await call('POST', '/init', { N: 1, schema, shards: [{ Stud_id_low: 0, Shard_id: 'shX', Shard_size: 4096 }], servers: { Alpha: ['shX'] } });
  assert.equal(init.status, 200);
  assert.equal((await call('POST', '/write', { data: [row(7)] })).status, 200);
  await sleep(1500);
  const st = (await call('GET', '/status')).body;
  console.log('R4 running instances after background resume:', (await runtime.list()).map((h) => h.name), 'rows:', JSON.stringify((await call('POST', '/read', { Stud_id: { low: 0, high: 10 } })).body));
  assert.deepEqual(Object.keys(st.servers), ['Alpha'], `status after the background resume: ${JSON.stringify(st)}`);
  assert.deepEqual((await allRows(call)).map((r) => r.Stud_id), [7]);
});

// R5: startOnData times out: the instance it spawned runs, but the entry has no url: recovery refuses to replace it forever
test('R5 a saved server that started on its data but answered late is adopted once it answers', async (t) => {
  let first = true;
  const { call, close, cluster, runtime } = await setup({
    extra: { spawnTimeoutMs: 300 },
    wrap: (r) => wrapRt(r, { spawn: async (n: string) => { const h = await r.spawn(n); if (n === 'Server0' && first) { first = false; r.pause(n); } return h; } }),
  });
  t.after(close);
  await cluster.resume(saved as any);
  runtime.resume('Server0');
  const ok = await until(async () => (await serverStates(call)).Server0 === 'serving', 4000);
  assert.ok(ok, JSON.stringify(cluster.details().servers));
});

// R6: a fault during /add persists the uncommitted membership (added servers, their new shard ids)
test('R6 the saved metadata never holds the servers of an /add that has not finished', async (t) => {
  const { MetaStore } = await import('./metadata.js');
  const meta = await MetaStore.open();
  const { call, close, runtime, cluster } = await setup({ extra: { meta } });
  t.after(close);
  assert.equal((await call('POST', '/init', { N: 3, schema, shards: [shards2[0]], servers: { Server0: ['sh1'], Server1: ['sh1'], Server2: ['sh1'] } })).status, 200);
  runtime.spawnDelayMs.set('Server9', 800);
  const add = call('POST', '/add', { n: 1, new_shards: [shards2[1]], servers: { Server9: ['sh1', 'sh2'] } });
  await sleep(200);
  cluster.fence('Server2', 'test'); // any fault persists
  const saved = meta.load()!;
  await add;
  assert.ok(!('Server9' in saved.servers), `saved while /add was in flight: ${JSON.stringify({ servers: saved.servers, shards: saved.shards.map((s) => s.Shard_id), stale: saved.stale })}`);
});
