import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextIndexAfter, planCatchup, retentionFloor } from './catchup.js';
import { appendRequestFor, compact, handleAppend, installCopy, lastIndex, type LogState } from './replog.js';

test('catch-up: from the log while the primary holds what follows the match point, else a full copy', () => {
  const p = { snapIndex: 100, lastIndex: 150, commitIndex: 140 };
  const rows: [number, ReturnType<typeof planCatchup>][] = [
    [151, { kind: 'current' }],
    [160, { kind: 'current' }],
    [150, { kind: 'log', from: 150, to: 150 }],
    [101, { kind: 'log', from: 101, to: 150 }], // prev 100 is the snapshot position: its term is known
    [100, { kind: 'copy', position: 140 }], // prev 99 was compacted
    [1, { kind: 'copy', position: 140 }],
  ];
  for (const [next, want] of rows) assert.deepEqual(planCatchup(p, next), want, `next ${next}`);
  assert.deepEqual(planCatchup({ snapIndex: 0, lastIndex: 0, commitIndex: 0 }, 1), { kind: 'current' });
  assert.deepEqual(planCatchup({ snapIndex: 0, lastIndex: 3, commitIndex: 0 }, 1), { kind: 'log', from: 1, to: 3 });
});

test('catch-up: the next index after an answer', () => {
  const base = { term: 2, lastIndex: 0, commitIndex: 0, matchIndex: 0 };
  const rows: [Parameters<typeof nextIndexAfter>[0], number, number][] = [
    [{ ...base, ok: true, matchIndex: 12 }, 9, 13],
    [{ ...base, ok: false, reason: 'prev-mismatch', hint: 4 }, 9, 5],
    [{ ...base, ok: false, reason: 'prev-mismatch', hint: 20 }, 9, 9], // a hint never moves it forward
    [{ ...base, ok: false, reason: 'prev-mismatch' }, 9, 9],
    [{ ...base, ok: false, reason: 'prev-mismatch', hint: 0 }, 9, 1],
    [{ ...base, ok: false, reason: 'stale-term' }, 9, 10],
    [{ ...base, ok: false, reason: 'violation' }, 9, 10],
  ];
  for (const [reply, prev, want] of rows) assert.equal(nextIndexAfter(reply, prev), want, JSON.stringify(reply));
});

test('retention floor: the log is kept from every in-flight copy position, never past the commit position', () => {
  const rows: { name: string; a: Parameters<typeof retentionFloor>[0]; want: number }[] = [
    { name: 'no copy: up to the commit position may go', a: { commitIndex: 50, copies: [] }, want: 51 },
    { name: 'a copy made at 30 keeps 31 on', a: { commitIndex: 50, copies: [{ replica: 'C', position: 30 }] }, want: 31 },
    { name: 'the oldest copy wins', a: { commitIndex: 50, copies: [{ replica: 'C', position: 30 }, { replica: 'D', position: 12 }] }, want: 13 },
    { name: 'a slightly lagging replica keeps its entries', a: { commitIndex: 50, copies: [], match: { B: 45 }, keepBehind: 10 }, want: 46 },
    { name: 'a replica far behind gets a copy instead', a: { commitIndex: 50, copies: [], match: { B: 5 }, keepBehind: 10 }, want: 51 },
    { name: 'empty log', a: { commitIndex: 0, copies: [] }, want: 1 },
  ];
  for (const r of rows) assert.equal(retentionFloor(r.a), r.want, r.name);
});

test('catch-up end to end: a replica behind a compaction gets a copy, then the log from the copy position', () => {
  const ents = (n: number, term: number) => Array.from({ length: n }, (_, i) => ({ index: i + 1, term, op: `w${i + 1}` }));
  let primary: LogState<string> = { currentTerm: 2, votedFor: 'P', leader: 'P', snapIndex: 0, snapTerm: 0, entries: ents(20, 2), commitIndex: 18 };
  let replica: LogState<string> = { currentTerm: 2, votedFor: 'P', leader: 'P', snapIndex: 0, snapTerm: 0, entries: ents(3, 2), commitIndex: 3 };
  // a copy for another replica is in flight at 10; compaction stops there
  const floor = retentionFloor({ commitIndex: primary.commitIndex, copies: [{ replica: 'X', position: 10 }] });
  primary = compact(primary, floor - 1) as LogState<string>;
  assert.equal(primary.snapIndex, 10);
  const plan = planCatchup({ snapIndex: primary.snapIndex, lastIndex: lastIndex(primary), commitIndex: primary.commitIndex }, lastIndex(replica) + 1);
  assert.deepEqual(plan, { kind: 'copy', position: 18 });
  assert.deepEqual(appendRequestFor(primary, 'P', 4), { copy: true });
  const ins = installCopy(replica, { term: 2, leader: 'P', index: 18, indexTerm: 2 });
  replica = ins.state;
  const call = appendRequestFor(primary, 'P', ins.reply.matchIndex + 1);
  assert.ok(!('copy' in call));
  const out = handleAppend(replica, call);
  assert.deepEqual([out.reply.ok, lastIndex(out.state), out.state.commitIndex], [true, 20, 18]);
  // X's copy at 10 lands: it continues from 11, which the primary still holds
  assert.deepEqual(planCatchup({ snapIndex: primary.snapIndex, lastIndex: 20, commitIndex: 18 }, 11), { kind: 'log', from: 11, to: 20 });
});
