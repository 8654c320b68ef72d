/** Windows where a shard's log is replaced or deposed (found by the independent review of session 8): each test fails without its fix. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appCall, fakeReplica, open, schema, sleep, slowNextSync, tmp, w } from './testkit.js';
import { HINT_MS } from './replication.js';
import { createServerApp } from './app.js';
import { ShardStore } from './store.js';
import type { Replication } from './replication.js';

async function server(dir: string) {
  const store = await ShardStore.open({ dataDir: dir });
  await store.replay();
  let repl: Replication | undefined;
  const call = appCall(createServerApp({ store, serverId: 'S1', replStream: false, onReplication: (r) => (repl = r) }));
  assert.equal((await call('POST', '/config', { schema, shards: ['sh1'] })).status, 200);
  return { store, call, repl: () => repl! };
}

test('a primary deposed during its write fsync, then given a copy past that index, never answers the write 200 (its entry was replaced)', async (t) => {
  const a = await server(tmp());
  const mode = { ok: true };
  const r2 = await fakeReplica(mode);
  const r3 = await fakeReplica(mode);
  t.after(async () => {
    for (const r of [r2, r3]) {
      r.server.closeAllConnections();
      r.server.close();
    }
    await a.repl().close();
  });
  assert.equal((await a.call('POST', '/repl/vote', { shard: 'sh1', term: 1, candidate: 'S1', lastIndex: 0, lastTerm: 0 })).body.granted, true);
  const p = await a.call('POST', '/repl/promote', { shard: 'sh1', term: 1, replicas: ['S1', 'S2', 'S3'], voters: ['S1', 'S2', 'S3'], addresses: { S2: r2.url, S3: r3.url }, reported: {} });
  assert.equal(p.status, 200, p.text);
  // its replicas stop answering, and its disk stalls on the next fsync (the write's)
  mode.ok = false;
  slowNextSync(a.store, 600);
  const write = a.call('POST', '/write', { shard: 'sh1', term: 1, data: [{ Stud_id: 7, Stud_name: 'seven', Stud_marks: 7 }] });
  await sleep(100);
  // meanwhile the LB elected S2 in term 2 (S1's write, entry 2 of term 1, was on no other replica, so it is not in
  // S2's log); S2 committed entries 2..5 of term 2 and, its log compacted past S1's, sends S1 a copy at 5
  const c = await a.call('POST', '/repl/copy', { shard: 'sh1', term: 2, leader: 'S2', index: 5, indexTerm: 2, part: 0, last: true, rows: [[100, 'hundred', 1]] });
  assert.equal(c.status, 200, c.text);
  const res = await write;
  const rows = (await a.call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 1000 } })).body.data.map((r: { Stud_id: number }) => r.Stud_id);
  assert.deepEqual(rows, [100], "the shard's committed rows (S2's): the write of 7 is not among them");
  assert.notEqual(res.status, 200, `the write of 7 was acknowledged (${res.text}) though its entry was replaced by term 2's: a lost acknowledged write`);
  assert.equal(res.body?.code, 'INDETERMINATE', res.text);
});

test('a resyncing replica that crashes while it installs a copy past its floor restarts still resyncing: it never votes with the log it had before', async () => {
  const dir = tmp();
  const a = await open(dir);
  // a shard whose log was damaged (or whose volume is new), recreated by the LB: resyncing until it committed 5
  const rc = await a.call('POST', '/repl/recreate', { shard: 'sh1', term: 2, floor: 5 });
  assert.equal(rc.status, 200, rc.text);
  assert.equal((await a.st()).resyncing, true);
  // the primary's log is compacted past 1: it sends a copy at 8. The server dies while the snapshot file is being
  // written (a large copy takes a while): the install never completes
  const log = a.store.logOf('sh1')!;
  log.installSnapshotAsync = () => new Promise(() => undefined);
  void a.call('POST', '/repl/copy', { shard: 'sh1', term: 2, leader: 'S0', index: 8, indexTerm: 2, part: 0, last: true, rows: [[1, 'S1', 1], [2, 'S2', 2]] });
  await sleep(100);
  // restarted on the same data dir
  const b = await open(dir, false);
  const s = await b.st();
  assert.equal(s.last_index, 0, 'the copy never landed');
  assert.equal(s.resyncing, true, `restarted with an empty log, it must still be resyncing to its floor 5 (state: ${JSON.stringify(s)})`);
  const v = await b.call('POST', '/repl/vote', { shard: 'sh1', term: 3, candidate: 'S9', lastIndex: 0, lastTerm: 0 });
  assert.equal(v.body.granted, false, `an empty log that never reached its floor voted: ${v.text}`);
});

test('a recreated shard restarted before its first commit hint does not take the old log\'s hint: uncommitted entries stay invisible, the floor stays', async () => {
  const dir = tmp();
  const a = await open(dir);
  // its first life: entries 1..6 committed, the hint (6) on disk
  const e6 = [1, 2, 3, 4, 5, 6].map((i) => w(i, 1, i));
  assert.equal((await a.call('POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: e6, leaderCommit: 6 })).status, 200);
  await sleep(HINT_MS + 100);
  // recreated by the LB (its log was damaged, or it held rows without primaries): empty, resyncing to 2
  assert.equal((await a.call('POST', '/repl/recreate', { shard: 'sh1', term: 2, floor: 2 })).status, 200);
  // the primary of term 2 sends 1..3 (rows 11..13); only 1 is committed so far
  const r = await a.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S5', prevIndex: 0, prevTerm: 0, entries: [w(1, 2, 11), w(2, 2, 12), w(3, 2, 13)], leaderCommit: 1 });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(await a.ids(), [11]);
  // it crashes before its next hint, and restarts
  const b = await open(dir, false);
  const s = await b.st();
  const ids = await b.ids();
  assert.ok(!ids.includes(12) && !ids.includes(13), `entries 2..3 were never committed, but the restarted replica shows ${ids} (state ${JSON.stringify(s)})`);
  assert.equal(s.resyncing, true, 'it has committed 1 of the 2 it needs before it votes');
});

test('an append answered after a /repl/recreate wiped its entries does not vouch for them (ok + matchIndex of a log that is gone)', async () => {
  const a = await open(tmp());
  slowNextSync(a.store, 300);
  // the primary's first append to a replica the LB is about to recreate (rejoin.ts: /repl/members, then the floor,
  // then /repl/recreate); its fsync is slow
  const ap = a.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 1, 1), w(2, 2, 2), w(3, 2, 3)], leaderCommit: 1 });
  await sleep(50);
  assert.equal((await a.call('POST', '/repl/recreate', { shard: 'sh1', term: 2, floor: 1 })).status, 200);
  const r = await ap;
  const s = await a.st();
  assert.ok(!(r.status === 200 && r.body.ok && r.body.matchIndex > s.last_index), `answered ${r.text} while its log ends at ${s.last_index}: the primary counts entries this replica no longer holds toward a commit`);
});

test('a replica that found its log in violation of a committed entry still neither votes nor serves minIndex reads after a restart', async () => {
  const dir = tmp();
  const a = await open(dir);
  assert.equal((await a.call('POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 1, 1), w(2, 1, 2)], leaderCommit: 2 })).status, 200);
  // a primary whose log contradicts this replica's committed entry 2 (a broken log or a broken protocol somewhere)
  const bad = await a.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S5', prevIndex: 1, prevTerm: 1, entries: [w(2, 2, 22)], leaderCommit: 2 });
  assert.equal(bad.status, 500, bad.text);
  assert.equal((await a.st()).resyncing, true);
  assert.equal((await a.call('POST', '/repl/vote', { shard: 'sh1', term: 3, candidate: 'S9', lastIndex: 5, lastTerm: 3 })).body.granted, false);
  // restarted before the primary's forced copy came
  const b = await open(dir, false);
  const s = await b.st();
  const v = await b.call('POST', '/repl/vote', { shard: 'sh1', term: 4, candidate: 'S9', lastIndex: 5, lastTerm: 3 });
  assert.ok(s.resyncing === true && v.body.granted === false, `after a restart it forgot the violation: resyncing ${s.resyncing}, vote ${v.text}`);
  // the primary's forced copy resyncs it, and the mark goes with it (also across the next restart)
  const fc = await b.call('POST', '/repl/copy', { shard: 'sh1', term: 4, leader: 'S5', index: 2, indexTerm: 2, part: 0, last: true, rows: [[1, 'S1', 1], [22, 'S22', 22]], force: true });
  assert.equal(fc.status, 200, fc.text);
  assert.equal((await b.st()).resyncing, false);
  assert.equal((await (await open(dir, false)).st()).resyncing, false);
});
