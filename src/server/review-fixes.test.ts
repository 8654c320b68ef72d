/** Regression tests for the independent review of the replication wiring (findings 4 and 5): each failed before its fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, sleep, tmp, w } from './testkit.js';

test('a minIndex read of a shard with no replication state here (a new or wiped volume) is 503 BEHIND, never served stale', async () => {
  const a = await open(tmp()); // a server on a new (lost) volume, configured by the LB
  const r = await a.call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 1000 }, minIndex: 5 });
  assert.equal(r.status, 503, `expected BEHIND, got ${r.status} ${r.text}`);
});

test('a replica never answers ok/matchIndex for entries whose fsync has not finished (a retry or empty append waits for it)', async () => {
  const a = await open(tmp());
  const events: string[] = [];
  const orig = a.store.syncShard.bind(a.store);
  // the first fsync is slow; a later sync waits for the one in flight, as the WAL's does (wal.ts ShardLog.sync)
  let inflight: Promise<void> | undefined;
  (a.store as any).syncShard = async (s: string, i?: boolean) => {
    if (!inflight) inflight = sleep(300).then(() => void events.push('fsync A done'));
    else await inflight;
    if (events.length === 0) await inflight;
    return orig(s, i);
  };
  const A = a.call('POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 1, 1), w(2, 1, 2)], leaderCommit: 0 }).then((x) => (events.push(`A answered ${x.body.matchIndex}`), x));
  await sleep(20);
  // the primary's retry after its 1 s call timeout, or a new primary's first append
  const B = await a.call('POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 2, prevTerm: 1, entries: [], leaderCommit: 0 });
  events.push(`B answered ok=${B.body.ok} matchIndex=${B.body.matchIndex}`);
  await A;
  const at = (e: string) => events.findIndex((x) => x.startsWith(e));
  assert.ok(at('fsync A done') >= 0 && at('fsync A done') < at('B answered ok=true matchIndex=2'), events.join(' | '));
});
