/**
 * Faults and membership races, through the LB's HTTP API over real in-process shard servers. Each test replays a
 * failure that today's code must not have (issue 10): a pause that lost a shard, /rm of a last serving replica,
 * an /add that forgot acknowledged rows, /init under load, recoveries racing /rm and /init, a failed resume, the
 * majority counted over unfilled replicas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStore } from './metadata.js';
import { allRows, DEFAULT, row, serverStates, setup, sleep, until, type Call } from './testkit.js';
import { HttpShardClient, UpstreamError, type VoteBody } from './shard-client.js';

const SH1 = ['Server0', 'Server3', 'Server5']; // sh1's replicas in the default configuration

async function assertReplicasIdentical(call: Call, shard: string, servers: string[]) {
  const copies = await Promise.all(servers.map(async (s) => JSON.stringify((await call('GET', `/read/${s}`)).body[shard])));
  for (const c of copies) assert.equal(c, copies[0], `replicas of ${shard} differ`);
}

test('a pause of every replica of a shard loses nothing: fenced and kept, N unchanged, serving again once they answer', async (t) => {
  const { call, close, runtime } = await setup();
  t.after(close);
  await call('POST', '/init', DEFAULT);
  const rows = Array.from({ length: 100 }, (_, i) => row(i * 7));
  assert.equal((await call('POST', '/write', { data: rows })).status, 200);
  for (const s of SH1) runtime.pause(s);
  const fenced = async () => {
    const st = await serverStates(call);
    return SH1.every((s) => st[s] === 'fenced');
  };
  assert.ok(await until(fenced, 3000), 'not fenced');
  await sleep(600); // several recovery rounds while they are silent
  assert.equal((await call('GET', '/status')).body.N, 6, 'no server dropped');
  assert.equal((await call('POST', '/read', { Stud_id: { low: 0, high: 100 } })).status, 503, 'sh1 has no serving replica while paused');
  for (const s of SH1) runtime.resume(s);
  assert.ok(await until(async () => Object.values(await serverStates(call)).every((x) => x === 'serving'), 8000), JSON.stringify(await serverStates(call)));
  assert.deepEqual((await allRows(call)).map((r) => r.Stud_id), rows.map((r) => r.Stud_id));
  await assertReplicasIdentical(call, 'sh1', SH1);
  // a write after the return reaches every replica
  assert.equal((await call('POST', '/write', { data: [row(3)] })).status, 200);
  await assertReplicasIdentical(call, 'sh1', SH1);
});

test('/rm refuses to remove the last SERVING replica of a shard (recovering ones are no source)', async (t) => {
  const { call, close, runtime } = await setup({ autoRecover: false });
  t.after(close);
  await call('POST', '/init', DEFAULT);
  await call('POST', '/write', { data: [row(1), row(2)] });
  await runtime.kill('Server3');
  await runtime.kill('Server5');
  assert.ok(await until(async () => { const st = await serverStates(call); return st.Server3 === 'fenced' && st.Server5 === 'fenced'; }, 3000));
  const r = await call('DELETE', '/rm', { n: 1, servers: ['Server0'] });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.code, 'LAST_REPLICA');
  assert.match(r.body.message, /shard sh1 with no serving replica/);
  assert.equal((await call('GET', '/status')).body.N, 6);
  assert.deepEqual((await allRows(call)).map((x) => x.Stud_id), [1, 2]);
  const r2 = await call('DELETE', '/rm', { n: 5, servers: [] }); // random picks cannot leave every shard a serving replica
  assert.equal(r2.status, 400, JSON.stringify(r2.body));
});

test('an /add that fails halfway forgets no acknowledged row: a new shard takes writes only once every added server serves', async (t) => {
  const { call, close, runtime } = await setup();
  t.after(close);
  await call('POST', '/init', DEFAULT);
  runtime.spawnDelayMs.set('Bad', 300);
  runtime.failSpawn.add('Bad');
  const add = call('POST', '/add', { n: 2, new_shards: [{ Stud_id_low: 16384, Shard_id: 'sh5', Shard_size: 4096 }], servers: { Good: ['sh5'], Bad: ['sh5'] } });
  const acked: number[] = [];
  let refused = 0;
  let done = false;
  void add.then(() => (done = true));
  for (let k = 16384; !done && k < 16384 + 200; k++) {
    const w = await call('POST', '/write', { data: [row(k)] });
    if (w.status === 200) acked.push(k);
    else if (w.body.code === 'KEY_OUT_OF_RANGE') refused++;
    await sleep(10);
  }
  const a = await add;
  assert.equal(a.status, 500, JSON.stringify(a.body));
  assert.ok(refused > 0, 'writes into the shard being added were refused while it was added');
  // every acknowledged write can be read back
  const back = (await call('POST', '/read', { Stud_id: { low: 16384, high: 20479 } })).body.data?.map((r: { Stud_id: number }) => r.Stud_id) ?? [];
  assert.deepEqual(back, acked, `acknowledged ${acked.length} rows in sh5, ${back.length} readable after the failed /add`);
  assert.equal((await call('GET', '/status')).body.N, 6);
  assert.ok(!(await runtime.list()).some((h) => h.name === 'Good'), 'the rolled-back server was stopped');
});

test('an /add whose new shard cannot elect its first primary is rolled back like one whose server failed: nothing half-added stays', async (t) => {
  // the collaborator refuses every vote for the new shard sh5 while `refuse` is set (the election fails 5 times)
  let refuse = true;
  const real = new HttpShardClient({ timeoutMs: 3000 });
  const client = new Proxy(real, {
    get(target, p) {
      if (p === 'vote')
        return (server: string, body: VoteBody, ms: number) => (refuse && body.shard === 'sh5' ? Promise.reject(new UpstreamError(server, 'vote refused by the test')) : target.vote(server, body, ms));
      const v = (target as unknown as Record<string | symbol, unknown>)[p];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const { call, close, runtime } = await setup({ extra: { client } });
  t.after(close);
  await call('POST', '/init', DEFAULT);
  const body = { n: 2, new_shards: [{ Stud_id_low: 16384, Shard_id: 'sh5', Shard_size: 4096 }], servers: { Server8: ['sh5', 'sh1'], Server9: ['sh5'] } };
  const before = Object.keys(await serverStates(call)).sort();
  const a = await call('POST', '/add', body);
  assert.equal(a.status, 503, JSON.stringify(a.body));
  assert.equal(a.body.code, 'NO_PRIMARY');
  const st = (await call('GET', '/status')).body;
  assert.equal(st.N, 6, 'the added servers left again');
  assert.ok(!st.shards.some((s: { Shard_id: string }) => s.Shard_id === 'sh5'), 'sh5 was forgotten');
  assert.ok(!(await runtime.list()).some((h) => h.name === 'Server8' || h.name === 'Server9'), 'their processes were stopped');
  assert.deepEqual(Object.keys(await serverStates(call)).sort(), before);
  // sh1 still takes writes with its own three voters, and the same /add works once votes are answered
  assert.equal((await call('POST', '/write', { data: [row(7)] })).status, 200);
  refuse = false;
  const again = await call('POST', '/add', body);
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal((await call('POST', '/write', { data: [row(16390)] })).status, 200);
  assert.equal((await call('GET', '/status')).body.N, 8);
});

test('/init while many writes are in flight: no unhandled rejection, the LB keeps serving', async (t) => {
  // stopping servers takes a while, as with docker: the old cluster is gone and the new one not yet there
  const { call, close } = await setup({ wrap: (r) => Object.assign(Object.create(r), { stopAll: async () => (await sleep(30), r.stopAll()) }) });
  t.after(close);
  const unhandled: unknown[] = [];
  const onRej = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onRej);
  t.after(() => process.off('unhandledRejection', onRej));
  await call('POST', '/init', DEFAULT);
  // 32 writers keep every shard's executor cycling (linger, batch, apply) while /init replaces the cluster, several
  // times, so that teardown lands inside an executor's linger at least once
  let stop = false;
  let key = 0;
  const statuses = new Set<number>();
  const writers = Array.from({ length: 32 }, async () => {
    while (!stop) {
      const r = await call('POST', '/write', { data: [row((key++ * 37) % 16384)] });
      statuses.add(r.status);
      if (r.status !== 200) await sleep(2);
    }
  });
  try {
    for (let i = 0; i < 6; i++) {
      await sleep(40);
      const ir = await call('POST', '/init', DEFAULT);
      assert.equal(ir.status, 200, JSON.stringify(ir.body));
    }
  } finally {
    // a failed assertion must not leave the writers spinning (the test process would never end)
    stop = true;
    await Promise.all(writers);
  }
  await sleep(100);
  assert.deepEqual(unhandled.map(String), []);
  for (const st of statuses) assert.ok([200, 400, 503].includes(st), `status ${st}`);
  await call('POST', '/init', DEFAULT);
  // the new database is empty and takes writes
  assert.deepEqual(await allRows(call), []);
  assert.equal((await call('POST', '/write', { data: [row(7)] })).status, 200);
});

test('/rm during a recovery: the instance the recovery spawns is not leaked', async (t) => {
  const { call, close, runtime, cluster } = await setup();
  t.after(close);
  await call('POST', '/init', DEFAULT);
  runtime.spawnDelayMs.set('Server3', 400);
  await runtime.kill('Server3');
  assert.ok(await until(() => cluster.events.list().some((e) => e.kind === 'detected' && e.server === 'Server3'), 3000));
  const rm = await call('DELETE', '/rm', { n: 1, servers: ['Server3'] });
  assert.equal(rm.status, 200, JSON.stringify(rm.body));
  await sleep(800);
  assert.ok(!(await runtime.list()).some((h) => h.name === 'Server3'), 'a Server3 instance is running after its /rm');
  assert.equal((await call('GET', '/status')).body.N, 5);
});

test('a recovery that spans /init never touches the new server of the same name', async (t) => {
  const { call, close, runtime, cluster } = await setup();
  t.after(close);
  await call('POST', '/init', DEFAULT);
  runtime.spawnDelayMs.set('Server3', 300);
  await runtime.kill('Server3');
  assert.ok(await until(() => cluster.events.list().some((e) => e.kind === 'detected' && e.server === 'Server3'), 3000));
  assert.equal((await call('POST', '/init', DEFAULT)).status, 200);
  await sleep(800);
  const st = await serverStates(call);
  assert.deepEqual(Object.values(st), Array(6).fill('serving'), JSON.stringify(st));
  assert.equal((await runtime.list()).filter((h) => h.name === 'Server3').length, 1);
  assert.equal((await call('POST', '/write', { data: [row(1), row(5000), row(9000), row(13000)] })).status, 200);
  await assertReplicasIdentical(call, 'sh1', SH1);
});

test('a resume that fails is retried, never served half-built: 503 saying so, then every row back', async (t) => {
  const meta = await MetaStore.open();
  const first = await setup({ extra: { meta } });
  await first.call('POST', '/init', DEFAULT);
  const rows = [row(1), row(4100), row(8200), row(12300)];
  assert.equal((await first.call('POST', '/write', { data: rows })).status, 200);
  first.cluster.stopHeartbeats();
  // a second LB over the same running servers; the runtime fails its first two listings
  let failures = 2;
  const second = await setup({
    runtime: first.runtime,
    wrap: (r) => Object.assign(Object.create(r), { list: () => (failures-- > 0 ? Promise.reject(new Error('docker: cannot connect')) : r.list()) }),
  });
  t.after(async () => {
    await second.close();
    await first.close();
  });
  await second.cluster.resume(meta.load()!);
  const during = await second.call('POST', '/read', { Stud_id: { low: 0, high: 16383 } });
  assert.equal(during.status, 503);
  assert.match(during.body.message, /resuming/);
  assert.ok(await until(async () => (await second.call('POST', '/read', { Stud_id: { low: 0, high: 16383 } })).status === 200, 5000));
  assert.deepEqual(await allRows(second.call), rows);
});

test('the majority is counted over voters: a replica being added is not one until filled', async (t) => {
  const { call, close, runtime } = await setup({ autoRecover: false });
  t.after(close);
  await call('POST', '/init', DEFAULT);
  await call('POST', '/write', { data: [row(1)] });
  await runtime.kill('Server3'); // sh1: 2 of 3 serving
  assert.ok(await until(async () => (await serverStates(call)).Server3 === 'fenced', 3000));
  runtime.spawnDelayMs.set('NewS', 300);
  const add = call('POST', '/add', { n: 1, servers: { NewS: ['sh1'] } });
  await sleep(100); // NewS is placed and spawning
  const w = await call('POST', '/write', { data: [row(2)] });
  assert.equal(w.status, 200, JSON.stringify(w.body));
  assert.equal((await add).status, 200);
  assert.deepEqual((await call('GET', '/read/NewS')).body.sh1.map((r: { Stud_id: number }) => r.Stud_id), [1, 2]);
});

test('error codes travel end to end: a duplicate is DUPLICATE_KEY, an unknown path NOT_FOUND, a wrong method METHOD_NOT_ALLOWED', async (t) => {
  const { call, close } = await setup();
  t.after(close);
  await call('POST', '/init', DEFAULT);
  await call('POST', '/write', { data: [row(1)] });
  const dup = await call('POST', '/write', { data: [row(1)] });
  assert.equal(dup.status, 400);
  assert.equal(dup.body.code, 'DUPLICATE_KEY');
  const nf = await call('GET', '/nowhere');
  assert.equal(nf.body.code, 'NOT_FOUND');
  const ma = await call('GET', '/write');
  assert.equal(ma.status, 405);
  assert.equal(ma.body.code, 'METHOD_NOT_ALLOWED');
  const bad = await call('POST', '/init', { ...DEFAULT, shards: [{ Stud_id_low: 0, Shard_id: 'status', Shard_size: 10 }], servers: { S: ['status'] } });
  assert.equal(bad.status, 400);
  assert.match(bad.body.message, /status is a field of the responses/);
});
