/** Regression tests for the independent review of the replication wiring (findings 4 and 5): each failed before its fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeReplica, open, sleep, tmp, w } from './testkit.js';
import type { ShardLog } from './wal.js';

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

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** The log's next appendEntry throws ENOSPC (a full disk), the ones after it write again. */
function failNextAppend(log: ShardLog): void {
  const orig = log.appendEntry.bind(log);
  let fail = 1;
  log.appendEntry = (e) => {
    if (fail-- > 0) throw enospc();
    return orig(e);
  };
}

test('a replica whose log write fails (a full disk) keeps nothing of that append in memory: the retried call logs it again', async () => {
  const dir = tmp();
  const a = await open(dir);
  let r = await a.call('POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 1, 1)], leaderCommit: 1 });
  assert.equal(r.status, 200, r.text);
  const log = a.store.logOf('sh1')!;
  failNextAppend(log);
  const call = { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 1, prevTerm: 1, entries: [w(2, 1, 2), w(3, 1, 3)], leaderCommit: 1 };
  r = await a.call('POST', '/repl/append', call);
  assert.notEqual(r.status, 200);
  // the disk is fine again; the primary retries the same call
  r = await a.call('POST', '/repl/append', call);
  assert.equal(log.lastIndex, 3, 'a replica that answered ok with matchIndex 3 must hold 1..3 in its log');
});


test('a write whose log write fails on the primary is answered as an error and never replicated, committed or applied', async (t) => {
  const dir = tmp();
  const a = await open(dir);
  const r2 = await fakeReplica();
  const r3 = await fakeReplica();
  t.after(() => {
    r2.server.closeAllConnections();
    r2.server.close();
    r3.server.closeAllConnections();
    r3.server.close();
  });
  assert.equal((await a.call('POST', '/repl/vote', { shard: 'sh1', term: 1, candidate: 'S1', lastIndex: 0, lastTerm: 0 })).body.granted, true);
  const p = await a.call('POST', '/repl/promote', { shard: 'sh1', term: 1, replicas: ['S1', 'S2', 'S3'], voters: ['S1', 'S2', 'S3'], addresses: { S2: r2.url, S3: r3.url }, reported: {} });
  assert.equal(p.status, 200, p.text);
  const ok = await a.call('POST', '/write', { shard: 'sh1', term: 1, data: [{ Stud_id: 1, Stud_name: 'a', Stud_marks: 1 }] });
  assert.equal(ok.status, 200, ok.text);
  const log = a.store.logOf('sh1')!;
  failNextAppend(log);
  const bad = await a.call('POST', '/write', { shard: 'sh1', term: 1, data: [{ Stud_id: 2, Stud_name: 'b', Stud_marks: 1 }] });
  assert.notEqual(bad.status, 200);
  await sleep(400);
  assert.equal((await a.st()).last_index, 2, "only the write that was logged");
  assert.deepEqual(await a.ids(), [1], 'a write answered 500 must not be applied');
  const next = await a.call('POST', '/write', { shard: 'sh1', term: 1, data: [{ Stud_id: 3, Stud_name: 'c', Stud_marks: 1 }] });
  const retry = await a.call('POST', '/write', { shard: 'sh1', term: 1, data: [{ Stud_id: 2, Stud_name: 'b', Stud_marks: 1 }] });
  await sleep(300);
  assert.equal(next.status, 200, 'the disk is fine again: the next write succeeds');
  assert.equal(retry.status, 200, 'the retried write is not a duplicate of a failed one');
});
