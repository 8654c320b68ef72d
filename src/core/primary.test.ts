import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markSent, newProgress, nextCall, onAppendAnswer, onCallFailed, onCopyAnswer, replicaRecreated, writeOutcome, type Progress } from './primary.js';
import type { AppendReply, LogState } from './replog.js';

/** The primary P of term 2: entries 1..6 (1..2 of term 1), committed up to 4, compacted up to `snap`. */
function primary(snap = 0, commit = 4): LogState<string> {
  const terms = [1, 1, 2, 2, 2, 2];
  return {
    currentTerm: 2,
    votedFor: 'P',
    leader: 'P',
    snapIndex: snap,
    snapTerm: snap ? terms[snap - 1] : 0,
    entries: terms.slice(snap).map((t, i) => ({ index: snap + i + 1, term: t, op: `e${snap + i + 1}` })),
    commitIndex: commit,
  };
}
const prog = (o: Partial<Progress>): Progress => ({ next: 7, match: 0, commit: 0, inFlight: false, ...o });
const answer = (o: Partial<AppendReply>): AppendReply => ({ term: 2, ok: true, matchIndex: 0, lastIndex: 0, commitIndex: 0, ...o });

test('newProgress: starts after the end the replica reported, never past the primary own end', () => {
  assert.deepEqual(newProgress(6, 3), { next: 4, match: 0, commit: 0, inFlight: false });
  assert.equal(newProgress(6, 9).next, 7);
  assert.equal(newProgress(6).next, 7);
  assert.equal(newProgress(0, 0).next, 1);
});

test('nextCall: entries it lacks, a copy when they were compacted, a commit notice, or nothing', () => {
  const rows: { name: string; state: LogState<string>; p: Progress; heartbeat?: boolean; max?: number; want: string }[] = [
    { name: 'a call is out: wait', state: primary(), p: prog({ next: 3, inFlight: true }), want: 'idle' },
    { name: 'a copy is out: wait', state: primary(), p: prog({ next: 3, copying: 4 }), want: 'idle' },
    { name: 'behind: the entries after next-1', state: primary(), p: prog({ next: 3 }), want: 'append 2@1 [3,4,5,6] commit 4' },
    { name: 'at most max entries', state: primary(), p: prog({ next: 3 }), max: 2, want: 'append 2@1 [3,4] commit 4' },
    { name: 'current and its commit behind: a commit notice', state: primary(), p: prog({ next: 7, commit: 2 }), want: 'append 6@2 [] commit 4' },
    { name: 'current and up to date: nothing', state: primary(), p: prog({ next: 7, commit: 4 }), want: 'idle' },
    { name: 'current, heartbeat due: an empty append', state: primary(), p: prog({ next: 7, commit: 4 }), heartbeat: true, want: 'append 6@2 [] commit 4' },
    { name: 'its entries were compacted: a copy at the commit position', state: primary(3), p: prog({ next: 2 }), want: 'copy 4@2' },
    { name: 'prev is the snapshot position: still the log', state: primary(3), p: prog({ next: 4 }), want: 'append 3@2 [4,5,6] commit 4' },
  ];
  for (const r of rows) {
    const c = nextCall(r.state, 'P', r.p, { maxEntries: r.max, heartbeat: r.heartbeat });
    const got =
      c.kind === 'append'
        ? `append ${c.req.prevIndex}@${c.req.prevTerm} [${c.req.entries.map((e) => e.index).join(',')}] commit ${c.req.leaderCommit}`
        : c.kind === 'copy'
          ? `copy ${c.position}@${c.term}`
          : 'idle';
    assert.equal(got, r.want, r.name);
    if (c.kind === 'append') assert.deepEqual([c.req.term, c.req.leader], [2, 'P'], r.name);
  }
  const sent = markSent(prog({ next: 3 }), { kind: 'copy', position: 4, term: 2 });
  assert.deepEqual([sent.inFlight, sent.copying], [true, 4]);
  assert.deepEqual(onCallFailed(sent), prog({ next: 3, copying: undefined }), 'a failed call is sent again later from the same place');
  assert.equal(markSent(prog({}), { kind: 'idle' }).inFlight, false);
});

test('onAppendAnswer: progress, commit over the voters, deposition, stale answers', () => {
  const voters = ['P', 'A', 'B'];
  const st = primary(0, 2);
  const progress = { A: prog({ next: 3, inFlight: true }), B: prog({ next: 3, match: 2 }) };
  // A confirms 3..6: with P (6) a majority holds 6, of term 2: committed 3..6
  const ok = onAppendAnswer(st, 'P', voters, progress, 'A', answer({ matchIndex: 6, commitIndex: 2, lastIndex: 6 }), 2);
  assert.deepEqual([ok.progress.next, ok.progress.match, ok.progress.inFlight, ok.state.commitIndex, ok.deposed], [7, 6, false, 6, false]);
  assert.deepEqual(ok.committed, { from: 3, to: 6 });
  // a refusal moves next back to the hint and commits nothing
  const back = onAppendAnswer(st, 'P', voters, progress, 'A', answer({ ok: false, reason: 'prev-mismatch', hint: 1 }), 2);
  assert.deepEqual([back.progress.next, back.progress.match, back.state.commitIndex, back.committed], [2, 0, 2, undefined]);
  // a newer term deposes the primary; it must persist the term
  const dep = onAppendAnswer(st, 'P', voters, progress, 'A', answer({ term: 3, ok: false, reason: 'stale-term' }), 2);
  assert.deepEqual([dep.deposed, dep.state.currentTerm, dep.state.leader, dep.persist.hard], [true, 3, null, { term: 3, votedFor: null }]);
  // a late answer of an older term changes nothing, not even the call now out
  const late = onAppendAnswer(st, 'P', voters, progress, 'A', answer({ term: 1, matchIndex: 6 }), 2);
  assert.deepEqual([late.progress, late.state], [progress.A, st]);
  // an answer from a non-voter moves its progress but does not count toward the commit
  const nv = onAppendAnswer(st, 'P', ['P', 'B', 'C'], progress, 'A', answer({ matchIndex: 6 }), 2);
  assert.deepEqual([nv.progress.match, nv.state.commitIndex], [6, 2]);
  // §5.4.2: a majority holding only term-1 entries commits nothing
  const old = onAppendAnswer(primary(0, 0), 'P', voters, { A: prog({}), B: prog({}) }, 'A', answer({ matchIndex: 2 }), 0);
  assert.equal(old.state.commitIndex, 0);
});

test('onCopyAnswer: the log continues after the copy position', () => {
  const st = primary(3, 4);
  const out = onCopyAnswer(st, 'P', ['P', 'A', 'B'], { A: prog({ next: 2, inFlight: true, copying: 4 }) }, 'A', answer({ matchIndex: 4, commitIndex: 4, lastIndex: 4 }));
  assert.deepEqual([out.progress.next, out.progress.match, out.progress.copying, out.progress.inFlight], [5, 4, undefined, false]);
  const c = nextCall(out.state, 'P', out.progress);
  assert.equal(c.kind === 'append' && `${c.req.prevIndex}@${c.req.prevTerm} ${c.req.entries.length}`, '4@2 2');
});

test('writeOutcome: committed, refused, indeterminate or pending', () => {
  const st = primary(0, 4); // P leads term 2, entries 1..6, committed to 4
  const rows: [string, LogState<string>, { index?: number; term: number }, boolean, string][] = [
    ['never logged', st, { term: 2 }, false, 'refused'],
    ['committed', st, { index: 4, term: 2 }, false, 'committed'],
    ['committed, then compacted', primary(4, 4), { index: 3, term: 2 }, false, 'committed'],
    ['logged, not yet committed', st, { index: 5, term: 2 }, false, 'pending'],
    ['logged, deadline passed', st, { index: 5, term: 2 }, true, 'indeterminate'],
    ['logged, then deposed', { ...st, currentTerm: 3, leader: null }, { index: 5, term: 2 }, false, 'indeterminate'],
    ['committed before it was deposed', { ...st, currentTerm: 3, leader: null }, { index: 4, term: 2 }, false, 'committed'],
    ['its index committed with another entry (it was replaced)', { ...st, currentTerm: 3, leader: null, commitIndex: 6 }, { index: 5, term: 3 }, false, 'indeterminate'],
    // review s8: deposed, its entry replaced by a later primary's, then a copy (snapshot) past it: the term is gone
    ['deposed, then its index compacted by a copy', { ...primary(6, 6), currentTerm: 3, leader: 'Q' }, { index: 5, term: 2 }, false, 'indeterminate'],
  ];
  for (const [name, s, w, expired, want] of rows) assert.equal(writeOutcome(s, 'P', w, expired), want, name);
});

test('a recreated replica: answers of its old volume never count again', () => {
  const voters = ['P', 'A', 'B'];
  const st = primary(0, 2);
  // A's old volume (store a1) held 6; the LB recreated A (store a2) and told the primary
  const progress = { A: replicaRecreated(6, 'a2'), B: prog({ next: 3, match: 2, store: 'b1' }) };
  assert.deepEqual([progress.A.next, progress.A.match, progress.A.store], [1, 0, 'a2']);
  const late = onAppendAnswer(st, 'P', voters, progress, 'A', answer({ matchIndex: 6, store: 'a1' }), 2);
  assert.deepEqual([late.progress, late.state.commitIndex], [progress.A, 2], 'a late answer of the lost volume commits nothing');
  const fresh = onAppendAnswer(st, 'P', voters, progress, 'A', answer({ matchIndex: 4, store: 'a2' }), 0);
  assert.deepEqual([fresh.progress.match, fresh.state.commitIndex], [4, 4]);
  // a new volume the primary has not been told of yet does not count either, until the LB names it
  const b = onAppendAnswer(st, 'P', voters, progress, 'B', answer({ matchIndex: 6, store: 'b2' }), 2);
  assert.deepEqual([b.progress, b.state.commitIndex], [progress.B, 2]);
  // a progress with no store named takes answers as they come (the LB names stores with promote and members)
  assert.equal(onAppendAnswer(st, 'P', voters, { A: prog({ next: 3 }) }, 'A', answer({ matchIndex: 6, store: 'x' }), 2).state.commitIndex, 6);
});
