/**
 * A primary per shard on real processes (the LB with the process runtime, real server processes): the shard
 * manager's elections under kill -9 and SIGSTOP, what a client's 200 and 503 mean (core/REPLICATION.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allRows, call, config, replicasIdentical, row, sleep, startLb, until, type LbProc } from '../helpers/lb-process.js';

const DEFAULT = config('default') as { servers: Record<string, string[]>; shards: { Shard_id: string }[] };
const FAST_HB = { SHARDCTL_HB_INTERVAL_MS: '200', SHARDCTL_HB_TIMEOUT_MS: '300', SHARDCTL_HB_MISSES: '3' };

function pidOf(lb: LbProc, name: string): number {
  const list = JSON.parse(readFileSync(join(lb.stateDir, 'servers.json'), 'utf8')) as { name: string; pid: number }[];
  return list.find((e) => e.name === name)!.pid;
}

async function primaries(lb: LbProc): Promise<{ primaries: Record<string, string>; terms: Record<string, number> }> {
  return (await call(lb.url, 'GET', '/primaries')).body;
}

/** Keys `keys(0..max-1)` (distinct) written one per request by `n` writers until stopped; what each answer meant. */
function writers(lb: LbProc, n: number, keys: (i: number) => number, max: number) {
  const acked: number[] = [];
  const maybe: number[] = [];
  const refused: string[] = [];
  let next = 0;
  let stop = false;
  const one = async () => {
    while (!stop && next < max) {
      const id = keys(next++);
      const r = await call(lb.url, 'POST', '/write', { data: [row(id)] });
      if (r.status === 200) acked.push(id);
      else if (r.status === 503 && r.body.outcome === 'indeterminate') maybe.push(id);
      else if (r.status === 503 && r.body.outcome === 'refused') {
        refused.push(`${r.body.code}: ${r.body.message}`);
        await sleep(20);
      } else assert.fail(`write ${id}: ${r.status} ${r.text}`);
    }
  };
  const all = Array.from({ length: n }, one);
  return {
    acked,
    maybe,
    refused,
    stop: async () => {
      stop = true;
      await Promise.all(all);
    },
  };
}

/** Every acknowledged row is there; nothing is there that was refused or never sent. */
async function assertRows(lb: LbProc, w: { acked: number[]; maybe: number[] }, low = 0, high = 16383): Promise<void> {
  const ids = new Set((await allRows(lb.url, high)).map((r) => r.Stud_id).filter((id) => id >= low));
  for (const id of w.acked) assert.ok(ids.has(id), `acknowledged write ${id} is lost`);
  const allowed = new Set([...w.acked, ...w.maybe]);
  for (const id of ids) assert.ok(allowed.has(id), `row ${id} was never acknowledged nor indeterminate`);
}

test('/init names a primary per shard, spread over the servers; /primary_elect elects again at a higher term', async (t) => {
  const lb = await startLb(FAST_HB);
  t.after(() => lb.stop());
  assert.equal((await call(lb.url, 'POST', '/init', DEFAULT)).status, 200);
  const p = await primaries(lb);
  for (const s of DEFAULT.shards) assert.ok(DEFAULT.servers[p.primaries[s.Shard_id]].includes(s.Shard_id), `${s.Shard_id}: ${JSON.stringify(p)}`);
  assert.equal(new Set(Object.values(p.primaries)).size, DEFAULT.shards.length, `no server leads two shards: ${JSON.stringify(p.primaries)}`);
  assert.deepEqual(Object.values(p.terms), DEFAULT.shards.map(() => 1));
  assert.deepEqual((await call(lb.url, 'GET', '/status')).body.primaries, p.primaries);
  await call(lb.url, 'POST', '/write', { data: [row(1), row(2)] });
  const e = await call(lb.url, 'POST', '/primary_elect', { shards: ['sh1'] });
  assert.equal(e.status, 200, e.text);
  assert.equal(e.body.elected.sh1.term, 2);
  assert.deepEqual((await allRows(lb.url)).map((r) => r.Stud_id), [1, 2]);
  assert.equal((await call(lb.url, 'POST', '/primary_elect', { shards: ['nope'] })).body.code, 'UNKNOWN_SHARD');
});

test('kill -9 the primary of sh1 under concurrent writes: a new primary within 3 s, no acknowledged row lost', async (t) => {
  const lb = await startLb(FAST_HB);
  t.after(() => lb.stop());
  assert.equal((await call(lb.url, 'POST', '/init', DEFAULT)).status, 200);
  const before = await primaries(lb);
  const w = writers(lb, 8, (i) => (i * 7919) % 16384, 16384);
  await sleep(400);
  const old = before.primaries.sh1;
  process.kill(pidOf(lb, old), 'SIGKILL');
  const t0 = Date.now();
  const after = await until('a new primary of sh1', async () => {
    const p = await primaries(lb);
    return p.primaries.sh1 && p.primaries.sh1 !== old && p.terms.sh1 > before.terms.sh1 ? p : undefined;
  }, 5_000);
  const electedMs = Date.now() - t0;
  const ackedAtElection = w.acked.length;
  await until(`${old} serving again`, async () => (await call(lb.url, 'GET', '/events')).body.incidents.find((i: { server: string; outcome: string }) => i.server === old && i.outcome === 'serving'), 20_000);
  await sleep(300);
  await w.stop();
  console.log(`kill -9 ${old} (primary of sh1): ${after.primaries.sh1} elected at term ${after.terms.sh1} after ${electedMs} ms; ${w.acked.length} acked (${w.acked.length - ackedAtElection} after the election), ${w.maybe.length} indeterminate, ${w.refused.length} refused`);
  assert.ok(electedMs < 3000, `new primary after ${electedMs} ms`);
  assert.ok(w.acked.length > ackedAtElection, 'writes went on after the election');
  await assertRows(lb, w);
  await until('replicas identical', async () => replicasIdentical(lb.url).then(() => true), 5_000);
});

test('SIGSTOP the primary until another is elected, SIGCONT: it completes no write, rejoins as a replica, replicas identical', async (t) => {
  const lb = await startLb(FAST_HB);
  t.after(() => lb.stop());
  assert.equal((await call(lb.url, 'POST', '/init', DEFAULT)).status, 200);
  const before = await primaries(lb);
  const old = before.primaries.sh1;
  const pid = pidOf(lb, old);
  const w = writers(lb, 4, (i) => (i * 7919) % 16384, 16384);
  await sleep(300);
  process.kill(pid, 'SIGSTOP');
  let resumed = false;
  t.after(() => {
    if (!resumed) process.kill(pid, 'SIGCONT');
  });
  const after = await until('another primary of sh1', async () => {
    const p = await primaries(lb);
    return p.primaries.sh1 && p.primaries.sh1 !== old ? p : undefined;
  }, 6_000);
  await sleep(500); // writes commit under the new primary meanwhile
  process.kill(pid, 'SIGCONT');
  resumed = true;
  await until(`${old} serving again`, async () => (await call(lb.url, 'GET', '/cluster')).body.servers.find((s: { name: string; status: string }) => s.name === old && s.status === 'serving'), 20_000);
  await sleep(300);
  await w.stop();
  const servers = JSON.parse(readFileSync(join(lb.stateDir, 'servers.json'), 'utf8')) as { name: string; port: number }[];
  const st = (await call(`http://127.0.0.1:${servers.find((e) => e.name === old)!.port}`, 'GET', '/state')).body.shards.sh1;
  assert.notEqual(st.role, 'primary', `${old} stepped down: ${JSON.stringify(st)}`);
  assert.ok(st.term >= after.terms.sh1, `${old} is at the new term: ${st.term}`);
  assert.equal(pidOf(lb, old), pid, 'the paused server was never replaced');
  await assertRows(lb, w);
  await until('replicas identical', async () => replicasIdentical(lb.url).then(() => true), 5_000);
});

test('SIGSTOP every replica of sh1 for 5 s under writes: 503s say why, nothing acknowledged is lost, sh1 serves again', async (t) => {
  const lb = await startLb(FAST_HB);
  t.after(() => lb.stop());
  assert.equal((await call(lb.url, 'POST', '/init', DEFAULT)).status, 200);
  const sh1 = Object.keys(DEFAULT.servers).filter((s) => DEFAULT.servers[s].includes('sh1'));
  const pids = sh1.map((s) => pidOf(lb, s));
  const w = writers(lb, 4, (i) => (i * 7919) % 4096, 4096);
  await sleep(300);
  for (const p of pids) process.kill(p, 'SIGSTOP');
  let resumed = false;
  t.after(() => {
    if (!resumed) for (const p of pids) process.kill(p, 'SIGCONT');
  });
  const t0 = Date.now();
  await sleep(5000);
  // other shards are not held up meanwhile
  const other = await call(lb.url, 'POST', '/write', { data: [row(5001)] });
  for (const p of pids) process.kill(p, 'SIGCONT');
  resumed = true;
  const failedDuring = w.refused.length + w.maybe.length;
  const ackedBefore = w.acked.length;
  await until('sh1 takes writes again', async () => w.acked.length > ackedBefore, 20_000);
  const backMs = Date.now() - t0;
  await w.stop();
  console.log(`all of sh1 paused 5 s: ${w.acked.length} acked, ${w.maybe.length} indeterminate, ${w.refused.length} refused; writes again ${backMs - 5000} ms after SIGCONT; e.g. ${w.refused[0]}`);
  assert.equal(other.status, 200, other.text);
  assert.ok(failedDuring > 0, 'writes to sh1 failed while it was paused');
  assert.ok(w.refused.every((m) => /^(NO_PRIMARY|NO_MAJORITY): .*sh1/.test(m)), w.refused.find((m) => !/^(NO_PRIMARY|NO_MAJORITY): .*sh1/.test(m)));
  assert.ok(w.refused.some((m) => /no primary for sh1 \(.*replicas answered/.test(m)), 'a refusal names the election it could not win');
  await assertRows(lb, w, 0, 4095);
  await until('replicas identical', async () => replicasIdentical(lb.url).then(() => true), 10_000);
});

test('SIGSTOP the primary and a replica of sh1 right after an acknowledged write: the replica left serves it without the commit notice (learnCommit); both resume and rejoin', async (t) => {
  const lb = await startLb(FAST_HB);
  t.after(() => lb.stop());
  assert.equal((await call(lb.url, 'POST', '/init', DEFAULT)).status, 200);
  const old = (await primaries(lb)).primaries.sh1;
  const [x, y] = Object.keys(DEFAULT.servers).filter((s) => DEFAULT.servers[s].includes('sh1') && s !== old);
  const pids = [pidOf(lb, old), pidOf(lb, x)];
  const w = await call(lb.url, 'POST', '/write', { data: [row(5)] });
  assert.equal(w.status, 200, w.text);
  // at once, well within the primary's notice delay (NOTICE_MS, 20 ms): no notice of that commit reaches y, and
  // with two of three paused no election can replace the primary (nor send y a commit position)
  for (const p of pids) process.kill(p, 'SIGSTOP');
  let resumed = false;
  t.after(() => {
    if (!resumed) for (const p of pids) process.kill(p, 'SIGCONT');
  });
  const status = async (s: string) => (await call(lb.url, 'GET', '/cluster')).body.servers.find((e: { name: string }) => e.name === s)?.status;
  await until(`${old} and ${x} no longer serving`, async () => (await status(old)) !== 'serving' && (await status(x)) !== 'serving', 10_000);
  // the read names the acknowledged entry: y holds it, so it knows it committed
  const r = await call(lb.url, 'POST', '/read', { Stud_id: { low: 0, high: 10 } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.data.map((d: { Stud_id: number }) => d.Stud_id), [5], `served by ${y}`);
  for (const p of pids) process.kill(p, 'SIGCONT');
  resumed = true;
  await until('sh1 takes writes again', async () => (await call(lb.url, 'POST', '/write', { data: [row(6)] })).status === 200, 20_000);
  assert.deepEqual((await allRows(lb.url, 4095)).map((d) => d.Stud_id), [5, 6]);
  await until('replicas identical', async () => replicasIdentical(lb.url).then(() => true), 10_000);
});
