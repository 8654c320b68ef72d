/**
 * A replicated shard on a real data dir, driven through the server app as a primary and the LB would: the hard
 * state survives a restart, a cut tail stays cut after replay, an uncommitted entry is never visible (not before,
 * not after a restart, not after the new primary cuts it), replay applies only up to the commit hint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { entriesBudget, HINT_MS } from './replication.js';
import { open, sleep, tmp, w } from './testkit.js';

test('the vote survives a restart: no second vote in the same term; every answer names the store', async () => {
  const dir = tmp();
  const a = await open(dir);
  const v = await a.call('POST', '/repl/vote', { shard: 'sh1', term: 3, candidate: 'S0', lastIndex: 0, lastTerm: 0 });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.body.granted, true);
  assert.equal(typeof v.body.store, 'string');
  const b = await open(dir, false);
  const s = await b.st();
  assert.equal(s.term, 3);
  assert.equal(s.voted_for, 'S0');
  const again = await b.call('POST', '/repl/vote', { shard: 'sh1', term: 3, candidate: 'S2', lastIndex: 5, lastTerm: 3 });
  assert.equal(again.body.granted, false);
  assert.equal(again.body.reason, 'already-voted');
  assert.equal(again.body.store, v.body.store);
  // a newer term is adopted and persisted before the answer
  assert.equal((await b.call('POST', '/repl/vote', { shard: 'sh1', term: 4, candidate: 'S2', lastIndex: 0, lastTerm: 0 })).body.granted, true);
  assert.equal((await (await open(dir, false)).st()).term, 4);
});

test('an uncommitted entry is never visible; a new primary cuts it; the cut survives replay', async () => {
  const dir = tmp();
  const a = await open(dir);
  // S0 (term 1) sends 1..3, commits only 1
  let r = await a.call('POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 1, 1), w(2, 1, 2), w(3, 1, 3)], leaderCommit: 1 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.ok, true);
  assert.equal(r.body.matchIndex, 3);
  assert.deepEqual(await a.ids(), [1]);
  let s = await a.st();
  assert.equal(s.last_index, 3);
  assert.equal(s.commit_index, 1);
  assert.equal(s.rows, 1);
  // a read that must see entry 2 is refused (BEHIND) rather than answered without it
  const behind = await a.call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 1000 }, minIndex: 2 });
  assert.equal(behind.status, 503);
  assert.equal(behind.body.code, 'BEHIND');
  await sleep(HINT_MS + 40); // the commit hint is written lazily

  // restart: still only entry 1 visible, entries 2..3 still in the log
  const b = await open(dir, false);
  assert.deepEqual(await b.ids(), [1]);
  s = await b.st();
  assert.equal(s.last_index, 3);
  assert.equal(s.last_term, 1);
  assert.equal(s.commit_index, 1);

  // S2 won term 2 without entries 2..3: its append cuts them (prev 1 matches, entry 2 differs)
  r = await b.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S2', prevIndex: 1, prevTerm: 1, entries: [w(2, 2, 20)], leaderCommit: 1 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.lastIndex, 2);
  assert.deepEqual(await b.ids(), [1]);
  const c = await open(dir, false);
  s = await c.st();
  assert.equal(s.last_index, 2, 'the cut tail stays cut after replay');
  assert.equal(s.last_term, 2);
  assert.deepEqual(await c.ids(), [1]);
  // the commit notice makes entry 2 (S2's) visible; 2 and 3 of S0 never were
  r = await c.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S2', prevIndex: 2, prevTerm: 2, entries: [], leaderCommit: 2 });
  assert.equal(r.body.ok, true);
  assert.deepEqual(await c.ids(), [1, 20]);
  assert.equal((await c.call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 1000 }, minIndex: 2 })).status, 200);
  // an older term is refused with 409 naming the term and the primary
  const old = await c.call('POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 3, prevTerm: 1, entries: [], leaderCommit: 3 });
  assert.equal(old.status, 409);
  assert.equal(old.body.code, 'NOT_PRIMARY');
  assert.equal(old.body.term, 2);
  assert.equal(old.body.primary, 'S2');
});

test('replay applies entries up to the commit hint only', async () => {
  const dir = tmp();
  const a = await open(dir);
  const r = await a.call('POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 1, 1), w(2, 1, 2), w(3, 1, 3)], leaderCommit: 2 });
  assert.equal(r.status, 200, r.text);
  await sleep(HINT_MS + 40);
  const b = await open(dir, false);
  assert.deepEqual(await b.ids(), [1, 2]);
  const s = await b.st();
  assert.equal(s.commit_index, 2);
  assert.equal(s.last_index, 3);
  assert.equal(s.role, 'replica');
});

test('term-less writes: as before on a shard without primaries, refused (409) once it has a term', async () => {
  const a = await open(tmp());
  assert.equal((await a.call('POST', '/write', { shard: 'sh1', curr_idx: 0, data: [{ Stud_id: 1, Stud_name: 'a', Stud_marks: 1 }] })).status, 200);
  // a shard with rows written without primaries enters replication only by /repl/recreate
  assert.equal((await a.call('POST', '/repl/vote', { shard: 'sh1', term: 1, candidate: 'S0', lastIndex: 0, lastTerm: 0 })).status, 409);
  const rc = await a.call('POST', '/repl/recreate', { shard: 'sh1', term: 1, floor: 0 });
  assert.equal(rc.status, 200, rc.text);
  assert.deepEqual(await a.ids(), []);
  const refused = await a.call('POST', '/write', { shard: 'sh1', curr_idx: 0, data: [{ Stud_id: 2, Stud_name: 'b', Stud_marks: 2 }] });
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, 'NOT_PRIMARY');
  // a write with a term to a server that is not that term's primary: 409 with the term it knows
  const notP = await a.call('POST', '/write', { shard: 'sh1', term: 1, curr_idx: 0, data: [{ Stud_id: 2, Stud_name: 'b', Stud_marks: 2 }] });
  assert.equal(notP.status, 409);
  assert.equal(notP.body.term, 1);
});

test('a single-voter primary: vote, promote, writes with a term commit and survive a restart; duplicates refused against the log', async () => {
  const dir = tmp();
  const a = await open(dir);
  assert.equal((await a.call('POST', '/repl/vote', { shard: 'sh1', term: 1, candidate: 'S1', lastIndex: 0, lastTerm: 0 })).body.granted, true);
  const p = await a.call('POST', '/repl/promote', { shard: 'sh1', term: 1, replicas: ['S1'], voters: ['S1'], addresses: {}, reported: {} });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.body.commitIndex, 1);
  const wr = await a.call('POST', '/write', { shard: 'sh1', term: 1, curr_idx: 0, data: [{ Stud_id: 7, Stud_name: 'x', Stud_marks: 1 }] });
  assert.equal(wr.status, 200, wr.text);
  assert.equal(wr.body.index, 2);
  assert.equal(wr.body.commitIndex, 2);
  const dup = await a.call('POST', '/write', { shard: 'sh1', term: 1, curr_idx: 1, data: [{ Stud_id: 7, Stud_name: 'y', Stud_marks: 1 }] });
  assert.equal(dup.status, 400);
  assert.equal((await a.call('PUT', '/update', { shard: 'sh1', term: 1, Stud_id: 8, data: { Stud_id: 8, Stud_name: 'z', Stud_marks: 2 } })).status, 404);
  const b = await a.call('POST', '/batch', { term: 1, ops: [{ op: 'write', w: { shard: 'sh1', curr_idx: 1, data: [{ Stud_id: 8, Stud_name: 'b', Stud_marks: 1 }] } }, { op: 'write', w: { shard: 'sh1', data: [{ Stud_id: 7, Stud_name: 'b', Stud_marks: 1 }] } }, { op: 'write', w: { shard: 'sh1', data: [{ Stud_id: 9, Stud_name: 'c', Stud_marks: 1 }] } }] });
  const lines = b.text.split('\n');
  assert.match(lines[0], /"index":3/);
  assert.match(lines[1], /^!DUPLICATE_KEY/);
  assert.match(lines[2], /"index":3/, 'the batch writes of one shard are one entry');
  assert.equal((await a.call('DELETE', '/del', { shard: 'sh1', term: 1, Stud_id: 8 })).status, 200);
  assert.equal((await a.call('POST', '/write', { shard: 'sh1', term: 2, data: [{ Stud_id: 10, Stud_name: 'c', Stud_marks: 1 }] })).status, 409);
  assert.deepEqual(await a.ids(), [7, 9]);
  await sleep(HINT_MS + 40);
  const again = await open(dir, false);
  assert.deepEqual(await again.ids(), [7, 9]);
  const s = await again.st();
  assert.equal(s.last_index, 4);
  assert.equal(s.term, 1);
});

test('entriesBudget: a replication call carries at most 256 entries and ~20,000 rows, never none', () => {
  const big = (index: number) => ({ index, term: 1, op: { op: 'write' as const, rows: Array.from({ length: 5000 }, (_, k) => [index * 10_000 + k, 'x', 1]) } });
  const small = (index: number) => ({ index, term: 1, op: { op: 'delete' as const, key: index } });
  const bigLog = { snapIndex: 0, entries: Array.from({ length: 10 }, (_, k) => big(k + 1)) };
  assert.equal(entriesBudget(bigLog, 1), 4, '4 x 5,000 rows fit, the 5th would pass 20,000');
  assert.equal(entriesBudget(bigLog, 9), 2, 'from entry 9: 9 and 10');
  assert.equal(entriesBudget({ snapIndex: 0, entries: [big(1)] }, 1, 256, 100), 1, 'one entry over the row cap still goes alone');
  const smallLog = { snapIndex: 100, entries: Array.from({ length: 600 }, (_, k) => small(101 + k)) };
  assert.equal(entriesBudget(smallLog, 101), 256);
  assert.equal(entriesBudget(smallLog, 600), 101);
});

test('a large copy is installed without stalling the event loop; reads wait until it is all in', async () => {
  const dir = tmp();
  const a = await open(dir);
  const N = 60_000;
  const CH = 5000;
  let part = 0;
  for (let k = 0; k < N - CH; k += CH, part++) {
    const rows = Array.from({ length: CH }, (_, j) => [k + j, `S${k + j}`, (k + j) % 100]);
    const r = await a.call('POST', '/repl/copy', { shard: 'sh1', term: 2, leader: 'S0', index: 40, indexTerm: 2, part, last: false, rows });
    assert.equal(r.status, 200, r.text);
  }
  const lastRows = Array.from({ length: CH }, (_, j) => [N - CH + j, `S${N - CH + j}`, 1]);
  let worst = 0;
  let prev = Date.now();
  const tick = setInterval(() => {
    const now = Date.now();
    worst = Math.max(worst, now - prev);
    prev = now;
  }, 5);
  const last = a.call('POST', '/repl/copy', { shard: 'sh1', term: 2, leader: 'S0', index: 40, indexTerm: 2, part, last: true, rows: lastRows });
  await new Promise((r) => setImmediate(r));
  const during = await a.call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 100 } });
  const duringBatch = (await a.call('POST', '/batch', { ops: [{ op: 'read', shard: 'sh1', low: 0, high: 100 }] })).text;
  const done = await last;
  clearInterval(tick);
  assert.equal(done.status, 200, done.text);
  assert.equal(done.body.matchIndex, 40);
  assert.ok(worst < 150, `the event loop stalled ${worst} ms during the install`);
  assert.ok(during.status === 503 || during.body.data.length === 101, `a read during the install sees all or waits (${during.status})`);
  assert.ok(duringBatch.startsWith('!') || JSON.parse(duringBatch).length === 101, `a /batch read during the install sees all or is refused (${duringBatch.slice(0, 80)})`);
  const s = await a.st();
  assert.equal(s.rows, N);
  assert.equal(s.commit_index, 40);
  assert.equal(s.snapshot_index, 40);
  // and it is on disk: a restart has the copied rows
  const b = await open(dir, false);
  assert.equal((await b.st()).rows, N);
});

test('a replicated shard whose log is damaged mid-log neither votes nor serves; /repl/recreate starts it over, resyncing to its floor', async () => {
  const dir = tmp();
  const a = await open(dir);
  const r = await a.call('POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 1, 1), w(2, 1, 2), w(3, 1, 3)], leaderCommit: 3 });
  assert.equal(r.status, 200, r.text);
  const segDir = join(dir, 'shards', 'sh1');
  const seg = join(segDir, readdirSync(segDir).filter((f) => f.startsWith('wal-')).sort()[0]);
  const bytes = readFileSync(seg);
  bytes[20] ^= 0xff; // inside the first entry; valid records follow: a corrupt middle, not a torn tail
  writeFileSync(seg, bytes);
  const b = await open(dir, false);
  assert.match((await b.st()).corrupt, /checksum/);
  assert.equal((await b.call('POST', '/repl/vote', { shard: 'sh1', term: 2, candidate: 'S1', lastIndex: 9, lastTerm: 1 })).status, 503);
  assert.equal((await b.call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 10 } })).status, 503);
  const rc = await b.call('POST', '/repl/recreate', { shard: 'sh1', term: 2, floor: 3 });
  assert.equal(rc.status, 200, rc.text);
  let s = await b.st();
  assert.equal(s.corrupt, null);
  assert.equal(s.resyncing, true);
  assert.equal(s.term, 2);
  assert.equal((await b.call('POST', '/repl/vote', { shard: 'sh1', term: 2, candidate: 'S1', lastIndex: 9, lastTerm: 2 })).body.reason, 'resyncing');
  const up = await b.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S1', prevIndex: 0, prevTerm: 0, entries: [w(1, 1, 1), w(2, 1, 2), w(3, 1, 3), { index: 4, term: 2, op: { op: 'noop' } }], leaderCommit: 4 });
  assert.equal(up.status, 200, up.text);
  s = await b.st();
  assert.equal(s.resyncing, false);
  assert.deepEqual(await b.ids(), [1, 2, 3]);
  const c = await open(dir, false);
  assert.equal((await c.st()).resyncing, false, 'the cleared floor is on disk');
});

test('a read naming the acknowledged entry (minIndex, minTerm) is served by a replica that holds it, without the commit notice', async () => {
  const a = await open(tmp());
  // S0 (term 2) sent 1..3 and committed 3, then died before its commit notice: this replica knows only commit 1
  const r = await a.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 2, 1), w(2, 2, 2), w(3, 2, 3)], leaderCommit: 1 });
  assert.equal(r.status, 200, r.text);
  const read = (minIndex: number, minTerm?: number) => a.call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 1000 }, minIndex, ...(minTerm === undefined ? {} : { minTerm }) });
  // without the term it cannot know: BEHIND, as before
  assert.equal((await read(3)).body.code, 'BEHIND');
  // another term at that index is not the acknowledged entry (it may be an uncommitted one the new primary cuts)
  assert.equal((await read(3, 3)).body.code, 'BEHIND');
  assert.equal((await read(3, 1)).body.code, 'BEHIND');
  assert.equal((await a.st()).commit_index, 1, 'a mismatched term teaches nothing');
  // the LB acknowledged (3, term 2): this log holds it, so 1..3 are committed (Log Matching)
  const ok = await read(3, 2);
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.body.data.map((x: { Stud_id: number }) => x.Stud_id), [1, 2, 3]);
  const s = await a.st();
  assert.equal(s.commit_index, 3);
  assert.equal(s.applied_index, 3);
});

test('a read waiting for an acknowledged entry this replica does not hold yet is answered once an append brings it', async () => {
  const a = await open(tmp());
  assert.equal((await a.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 2, 1)], leaderCommit: 1 })).status, 200);
  const pending = a.call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 1000 }, minIndex: 2, minTerm: 2 });
  await sleep(20);
  // entry 2 arrives with a commit position that does not cover it (its notice would come later)
  assert.equal((await a.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S0', prevIndex: 1, prevTerm: 2, entries: [w(2, 2, 2)], leaderCommit: 1 })).status, 200);
  const got = await pending;
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body.data.map((x: { Stud_id: number }) => x.Stud_id), [1, 2]);
});

test('/batch refuses a write sent with another term than the batch already writes its shard in (as a lone /write is refused)', async () => {
  const a = await open(tmp());
  const one = { replicas: ['S1'], voters: ['S1'], addresses: {}, reported: {} };
  assert.equal((await a.call('POST', '/repl/vote', { shard: 'sh1', term: 1, candidate: 'S1', lastIndex: 0, lastTerm: 0 })).body.granted, true);
  assert.equal((await a.call('POST', '/repl/promote', { shard: 'sh1', term: 1, ...one })).status, 200);
  assert.equal((await a.call('POST', '/repl/vote', { shard: 'sh1', term: 2, candidate: 'S1', lastIndex: 1, lastTerm: 1 })).body.granted, true);
  assert.equal((await a.call('POST', '/repl/promote', { shard: 'sh1', term: 2, ...one })).status, 200);
  assert.equal((await a.call('POST', '/write', { shard: 'sh1', term: 1, data: [{ Stud_id: 5, Stud_name: 'x', Stud_marks: 1 }] })).status, 409);
  const b = await a.call('POST', '/batch', {
    ops: [
      { op: 'write', w: { shard: 'sh1', term: 2, data: [{ Stud_id: 1, Stud_name: 'a', Stud_marks: 1 }] } },
      { op: 'write', w: { shard: 'sh1', term: 1, data: [{ Stud_id: 2, Stud_name: 'b', Stud_marks: 1 }] } },
    ],
  });
  const lines = b.text.split('\n');
  assert.match(lines[0], /"index":\d+,"term":2/);
  assert.match(lines[1], /^!NOT_PRIMARY/);
  assert.deepEqual(await a.ids(), [1]);
});

test('/batch reads with minIndex: served at once when applied (or learnt from minTerm), waiting for an append, BEHIND when it never comes', async () => {
  const a = await open(tmp());
  // S0 (term 2) sent 1..3 and committed only 1 to this replica
  assert.equal((await a.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S0', prevIndex: 0, prevTerm: 0, entries: [w(1, 2, 1), w(2, 2, 2), w(3, 2, 3)], leaderCommit: 1 })).status, 200);
  const rd = (minIndex: number, minTerm?: number) => ({ op: 'read', shard: 'sh1', low: 0, high: 1000, minIndex, ...(minTerm === undefined ? {} : { minTerm }) });
  const batch = async (...ops: unknown[]) => (await a.call('POST', '/batch', { ops })).text.split('\n');
  // applied (1), unknown without its term (3: BEHIND after the wait), learnt from its term (3, 2)
  const [applied, unknown] = await batch(rd(1), rd(3));
  assert.deepEqual(JSON.parse(applied).map((x: { Stud_id: number }) => x.Stud_id), [1]);
  assert.match(unknown, /^!BEHIND/);
  const [learnt, after] = await batch(rd(3, 2), rd(2));
  assert.deepEqual(JSON.parse(learnt).map((x: { Stud_id: number }) => x.Stud_id), [1, 2, 3]);
  assert.deepEqual(JSON.parse(after).map((x: { Stud_id: number }) => x.Stud_id), [1, 2, 3]);
  // entry 4 is not here yet: the read waits for the append that brings and commits it
  const pending = batch(rd(4, 2));
  await sleep(20);
  assert.equal((await a.call('POST', '/repl/append', { shard: 'sh1', term: 2, leader: 'S0', prevIndex: 3, prevTerm: 2, entries: [w(4, 2, 4)], leaderCommit: 4 })).status, 200);
  const [waited] = await pending;
  assert.deepEqual(JSON.parse(waited).map((x: { Stud_id: number }) => x.Stud_id), [1, 2, 3, 4]);
});
