/**
 * `/rm` of several voters of one shard (review finding 1 of session 3; lb/voter-change.ts). With A (primary), B, C
 * and an acknowledged write on A and B only (C paused, not yet noticed by the heartbeats), `/rm A B` used to hand
 * the primary to nobody, remove both and leave C to elect itself without the write. Real shard-server apps in
 * process, real HTTP; heartbeats slow enough that the pause is not noticed during the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oneShardOfThree, readIds, row, sleep, until } from './testkit.js';

const servers = { Server0: ['sh1'], Server1: ['sh1'], Server2: ['sh1'] };

async function world(rmCatchUpMs: number) {
  const w = await oneShardOfThree({ hb: 60_000, extra: { rmCatchUpMs } });
  assert.equal((await w.call('POST', '/write', { data: [row(1)] })).status, 200);
  const { primary, x: other, y: behind } = w;
  // `behind` misses the second write: acknowledged by the primary and `other` alone
  w.runtime.pause(behind);
  assert.equal((await w.call('POST', '/write', { data: [row(2)] })).status, 200);
  const ids = async () => {
    const r = await readIds(w.call);
    return r.status === 200 ? r.ids : r.status;
  };
  return { ...w, primary, other, behind, ids };
}

test('/rm of the primary and another voter while the last one lacks an acknowledged write is refused, and nothing is lost', async (t) => {
  const w = await world(600);
  t.after(w.close);
  const r = await w.call('DELETE', '/rm', { n: 2, servers: [w.primary, w.other] });
  w.runtime.resume(w.behind);
  // whatever /rm answered, the acknowledged write must still be readable once everything answers
  const ok = await until(async () => JSON.stringify(await w.ids()) === '[1,2]', 5000);
  assert.ok(ok, `/rm answered ${r.status} ${JSON.stringify(r.body)}; rows now: ${JSON.stringify(await w.ids())}`);
  assert.equal(r.status, 503, JSON.stringify(r.body));
  assert.equal(r.body.code, 'REPLICAS_BEHIND');
  assert.match(r.body.message, /\/rm removed nothing: shard sh1 cannot lose a replica yet: .*Server\d is behind/);
  assert.deepEqual(Object.keys((await w.call('GET', '/status')).body.servers).sort(), Object.keys(servers));
  // once it caught up, the same /rm goes through and the one left holds every row
  const again = await w.call('DELETE', '/rm', { n: 2, servers: [w.primary, w.other] });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.deepEqual(Object.keys((await w.call('GET', '/status')).body.servers), [w.behind]);
  assert.ok(await until(async () => JSON.stringify(await w.ids()) === '[1,2]', 3000), JSON.stringify(await w.ids()));
  assert.equal((await w.call('GET', '/primaries')).body.primaries.sh1, w.behind);
});

test('/rm of several voters waits for the replica that stays to catch up, then removes them one at a time', async (t) => {
  const w = await world(5000);
  t.after(w.close);
  const rm = w.call('DELETE', '/rm', { n: 2, servers: [w.primary, w.other] });
  await sleep(300);
  w.runtime.resume(w.behind);
  const r = await rm;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.message.servers, [w.primary, w.other]);
  assert.ok(await until(async () => JSON.stringify(await w.ids()) === '[1,2]', 3000), JSON.stringify(await w.ids()));
  // the new primary counts its majority over itself alone now: a write commits
  assert.equal((await w.call('POST', '/write', { data: [row(3)] })).status, 200);
  const events = (await w.call('GET', '/events')).body.events as { kind: string; shard?: string; server?: string }[];
  assert.ok(events.some((e) => e.kind === 'elected' && e.server === w.behind), JSON.stringify(events.slice(-8)));
});
