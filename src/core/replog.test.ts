import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  advanceCommit,
  appendAsPrimary,
  appendRequestFor,
  becomePrimary,
  checkAppend,
  commitAsPrimary,
  compact,
  emptyLog,
  handleAppend,
  handleVote,
  installCopy,
  lastIndex,
  lastTerm,
  primaryReady,
  readable,
  recreatedLog,
  restoreLog,
  resyncing,
  tallyVotes,
  termAt,
  visible,
  type AppendRequest,
  type LogEntry,
  type LogState,
} from './replog.js';

/** A log whose entry i+1 has term terms[i] and op "<index>@<term>", so entries from different terms differ. */
function log(terms: number[], o: { commit?: number; term?: number; leader?: string | null; votedFor?: string | null; snap?: [number, number] } = {}): LogState<string> {
  const [snapIndex, snapTerm] = o.snap ?? [0, 0];
  const entries = terms.map((t, i) => ({ index: snapIndex + i + 1, term: t, op: `${snapIndex + i + 1}@${t}` }));
  return { currentTerm: o.term ?? Math.max(snapTerm, ...terms, 0), votedFor: o.votedFor ?? null, leader: o.leader ?? null, snapIndex, snapTerm, entries, commitIndex: o.commit ?? snapIndex };
}
const ents = (from: number, terms: number[]): LogEntry<string>[] => terms.map((t, i) => ({ index: from + i, term: t, op: `${from + i}@${t}` }));
const terms = (s: LogState<unknown>) => s.entries.map((e) => e.term);
const req = (r: Partial<AppendRequest<string>> & { term: number }): AppendRequest<string> => ({ leader: 'P', prevIndex: 0, prevTerm: 0, entries: [], leaderCommit: 0, ...r });

test('append: a table of replication calls against one replica', () => {
  const rows: {
    name: string;
    state: LogState<string>;
    req: AppendRequest<string>;
    ok: boolean;
    reason?: string;
    terms: number[];
    commit: number;
    truncateFrom?: number;
    appended?: number[];
    hard?: { term: number; votedFor: string | null };
    hint?: number;
    replyTerm?: number;
  }[] = [
    {
      name: 'an older term is refused with the current term; nothing changes',
      state: log([1, 1, 2], { commit: 2, term: 3 }),
      req: req({ term: 2, prevIndex: 3, prevTerm: 2, entries: ents(4, [2]), leaderCommit: 4 }),
      ok: false, reason: 'stale-term', terms: [1, 1, 2], commit: 2, replyTerm: 3,
    },
    {
      name: 'a newer term is adopted and persisted, the vote forgotten',
      state: log([1], { commit: 1, term: 1, votedFor: 'A' }),
      req: req({ term: 2, prevIndex: 1, prevTerm: 1, entries: ents(2, [2]), leaderCommit: 1 }),
      ok: true, terms: [1, 2], commit: 1, appended: [2], hard: { term: 2, votedFor: null }, replyTerm: 2,
    },
    {
      name: 'prev past the end is refused; the hint is the last index',
      state: log([1, 1], { commit: 1 }),
      req: req({ term: 1, prevIndex: 5, prevTerm: 1, entries: ents(6, [1]) }),
      ok: false, reason: 'prev-mismatch', terms: [1, 1], commit: 1, hint: 2,
    },
    {
      name: 'prev with another term is refused; the hint skips the whole conflicting term',
      state: log([1, 1, 2, 2, 2], { commit: 1, term: 3 }),
      req: req({ term: 3, prevIndex: 5, prevTerm: 1, entries: ents(6, [3]) }),
      ok: false, reason: 'prev-mismatch', terms: [1, 1, 2, 2, 2], commit: 1, hint: 2,
    },
    {
      name: 'entries after a matching prev are appended; commit follows the primary',
      state: log([1, 1], { commit: 1 }),
      req: req({ term: 1, prevIndex: 2, prevTerm: 1, entries: ents(3, [1, 1]), leaderCommit: 3 }),
      ok: true, terms: [1, 1, 1, 1], commit: 3, appended: [3, 4],
    },
    {
      name: 'a conflict cuts the uncommitted suffix and appends the primary entries',
      state: log([1, 1, 1, 1], { commit: 2, term: 2 }),
      req: req({ term: 2, prevIndex: 2, prevTerm: 1, entries: ents(3, [2]), leaderCommit: 3 }),
      ok: true, terms: [1, 1, 2], commit: 3, truncateFrom: 3, appended: [3],
    },
    {
      name: 'a late duplicate (entries already held) never cuts the newer entries after it',
      state: log([1, 1, 1, 1], { commit: 1 }),
      req: req({ term: 1, prevIndex: 1, prevTerm: 1, entries: ents(2, [1]), leaderCommit: 2 }),
      ok: true, terms: [1, 1, 1, 1], commit: 2, appended: [],
    },
    {
      name: 'a heartbeat commits only what it vouched for, not a stale tail after prev',
      state: log([1, 1, 1], { commit: 1, term: 2 }),
      req: req({ term: 2, prevIndex: 2, prevTerm: 1, entries: [], leaderCommit: 9 }),
      ok: true, terms: [1, 1, 1], commit: 2, appended: [],
    },
    {
      name: 'a partial batch (a prefix of what the primary holds) commits no further than it carried',
      state: log([1], { commit: 1 }),
      req: req({ term: 1, prevIndex: 1, prevTerm: 1, entries: ents(2, [1]), leaderCommit: 5 }),
      ok: true, terms: [1, 1], commit: 2, appended: [2],
    },
    {
      name: 'a call starting below the commit position skips the committed part and appends the rest',
      state: log([1, 1, 1], { commit: 3 }),
      req: req({ term: 1, prevIndex: 1, prevTerm: 1, entries: ents(2, [1, 1, 1, 1]), leaderCommit: 4 }),
      ok: true, terms: [1, 1, 1, 1, 1], commit: 4, appended: [4, 5],
    },
    {
      name: 'a call entirely below the commit position changes nothing',
      state: log([1, 1, 1], { commit: 3 }),
      req: req({ term: 1, prevIndex: 0, prevTerm: 0, entries: ents(1, [1]), leaderCommit: 1 }),
      ok: true, terms: [1, 1, 1], commit: 3, appended: [],
    },
    {
      name: 'a conflict at or below the commit position is a violation, never a truncation',
      state: log([1, 1, 1], { commit: 3, term: 2 }),
      req: req({ term: 2, prevIndex: 1, prevTerm: 1, entries: ents(2, [2]), leaderCommit: 2 }),
      ok: false, reason: 'violation', terms: [1, 1, 1], commit: 3,
    },
    {
      name: 'prev at the commit position with another term is a violation',
      state: log([1, 1], { commit: 2, term: 2 }),
      req: req({ term: 2, prevIndex: 2, prevTerm: 2, entries: [] }),
      ok: false, reason: 'violation', terms: [1, 1], commit: 2,
    },
    {
      name: 'a second primary in the same term is a violation',
      state: log([1], { commit: 1, term: 1, leader: 'A' }),
      req: req({ term: 1, leader: 'B', prevIndex: 1, prevTerm: 1, entries: ents(2, [1]) }),
      ok: false, reason: 'violation', terms: [1], commit: 1,
    },
    {
      name: 'after a copy: prev at the snapshot position matches by the snapshot term',
      state: log([], { snap: [10, 3], commit: 10 }),
      req: req({ term: 3, prevIndex: 10, prevTerm: 3, entries: ents(11, [3]), leaderCommit: 11 }),
      ok: true, terms: [3], commit: 11, appended: [11],
    },
  ];
  for (const r of rows) {
    const out = handleAppend(r.state, r.req);
    assert.equal(out.reply.ok, r.ok, r.name);
    assert.equal(out.reply.reason, r.reason, r.name);
    assert.deepEqual(terms(out.state), r.terms, r.name);
    assert.equal(out.state.commitIndex, r.commit, r.name);
    assert.equal(out.reply.commitIndex, r.commit, r.name);
    assert.equal(out.persist.truncateFrom, r.truncateFrom, r.name);
    assert.deepEqual(out.persist.append.map((e) => e.index), r.appended ?? [], r.name);
    assert.deepEqual(out.persist.hard, r.hard, r.name);
    if (r.hint !== undefined) assert.equal(out.reply.hint, r.hint, r.name);
    if (r.replyTerm !== undefined) assert.equal(out.reply.term, r.replyTerm, r.name);
    if (r.reason === 'violation') {
      assert.ok(out.violation, `${r.name}: says why`);
      assert.equal(out.state.entries, r.state.entries, `${r.name}: the log is untouched`);
    } else assert.equal(out.violation, undefined, r.name);
    if (r.ok) assert.equal(out.reply.matchIndex, r.req.prevIndex + r.req.entries.length, r.name);
    // the durable log after applying persist is the new in-memory log
    const replayed = [...r.state.entries.filter((e) => out.persist.truncateFrom === undefined || e.index < out.persist.truncateFrom), ...out.persist.append];
    if (r.ok) assert.deepEqual(replayed, out.state.entries, `${r.name}: persist describes the change`);
  }
});

test('append: a torn or partial message is refused whole and changes nothing', () => {
  const s = log([1, 1], { commit: 1 });
  const torn: { name: string; body: unknown; says: RegExp }[] = [
    { name: 'not an object', body: null, says: /not an object/ },
    { name: 'no entries field', body: { term: 1, leader: 'P', prevIndex: 2, prevTerm: 1, leaderCommit: 2 }, says: /entries must be a list/ },
    { name: 'a gap in the indexes', body: req({ term: 1, prevIndex: 2, prevTerm: 1, entries: [...ents(3, [1]), ...ents(5, [1])] }), says: /expected 4/ },
    { name: 'an entry cut short', body: req({ term: 1, prevIndex: 2, prevTerm: 1, entries: [{ index: 3, term: 1 } as LogEntry<string>] }), says: /index, term and op/ },
    { name: 'terms going backwards', body: req({ term: 2, prevIndex: 2, prevTerm: 1, entries: ents(3, [2, 1]) }), says: /term 1, outside 2..2/ },
    { name: 'an entry after the call term', body: req({ term: 1, prevIndex: 2, prevTerm: 1, entries: ents(3, [2]) }), says: /outside/ },
    { name: 'a missing term', body: { leader: 'P', prevIndex: 0, prevTerm: 0, entries: [], leaderCommit: 0 }, says: /term must be/ },
    { name: 'a negative commit', body: req({ term: 1, leaderCommit: -1 }), says: /leaderCommit/ },
    { name: 'no primary named', body: req({ term: 1, leader: '' }), says: /leader/ },
    { name: 'prevIndex 0 with a term', body: req({ term: 1, prevIndex: 0, prevTerm: 1 }), says: /both be 0/ },
  ];
  for (const t of torn) {
    assert.match(checkAppend(t.body) ?? '', t.says, t.name);
    const out = handleAppend(s, t.body as AppendRequest<string>);
    assert.equal(out.reply.ok, false, t.name);
    assert.equal(out.reply.reason, 'malformed', t.name);
    assert.equal(out.state, s, t.name);
    assert.deepEqual(out.persist, { append: [] }, t.name);
  }
  assert.equal(checkAppend(req({ term: 2, prevIndex: 2, prevTerm: 1, entries: ents(3, [1, 2]) })), undefined);
});

test('rejoin: uncommitted entries are never visible and are cut when the new primary disagrees', () => {
  // The old primary S1 (term 1) logged 2 and 3 but only 1 was committed before it was paused.
  let s1 = log([1, 1, 1], { commit: 1, term: 1, leader: 'S1' });
  const seen = new Set<string>();
  const look = () => visible(s1).forEach((e) => seen.add(e.op));
  look();
  assert.deepEqual(visible(s1).map((e) => e.op), ['1@1']);
  assert.equal(readable(s1, 1), true);
  assert.equal(readable(s1, 2), false, 'a read that must see index 2 waits');
  // S2 won term 2 (its log [1@1]) and wrote its no-op 2@2 and a change 3@2.
  const fromS2 = req({ term: 2, leader: 'S2', prevIndex: 1, prevTerm: 1, entries: ents(2, [2, 2]), leaderCommit: 2 });
  const out = handleAppend(s1, fromS2);
  assert.equal(out.reply.ok, true);
  assert.equal(out.persist.truncateFrom, 2, 'the uncommitted suffix is cut');
  assert.deepEqual(out.persist.hard, { term: 2, votedFor: null });
  s1 = out.state;
  look();
  assert.deepEqual(s1.entries.map((e) => e.op), ['1@1', '2@2', '3@2']);
  assert.deepEqual(visible(s1).map((e) => e.op), ['1@1', '2@2']);
  s1 = handleAppend(s1, req({ term: 2, leader: 'S2', prevIndex: 3, prevTerm: 2, leaderCommit: 3 })).state;
  look();
  assert.deepEqual([...seen].sort(), ['1@1', '2@2', '3@2'], 'the cut entries 2@1 and 3@1 were never visible');
  // A late call of the deposed S1 (term 1) is refused with term 2: it can never complete a write.
  const late = handleAppend(s1, req({ term: 1, leader: 'S1', prevIndex: 3, prevTerm: 1, entries: ents(4, [1]), leaderCommit: 4 }));
  assert.deepEqual([late.reply.ok, late.reply.term, late.reply.reason], [false, 2, 'stale-term']);
});

test('votes: granted only to a log at least as up to date, by (last term, last index)', () => {
  const me = log([1, 1, 2], { commit: 1, term: 2 }); // last (2, 3)
  const rows: { name: string; vote: { term: number; candidate: string; lastTerm: number; lastIndex: number }; granted: boolean; reason?: string }[] = [
    { name: 'an older term is refused', vote: { term: 1, candidate: 'B', lastTerm: 9, lastIndex: 9 }, granted: false, reason: 'stale-term' },
    { name: 'the longest log of an older term is behind', vote: { term: 3, candidate: 'B', lastTerm: 1, lastIndex: 50 }, granted: false, reason: 'log-behind' },
    { name: 'same last term, shorter: behind', vote: { term: 3, candidate: 'B', lastTerm: 2, lastIndex: 2 }, granted: false, reason: 'log-behind' },
    { name: 'same last term, same length: granted', vote: { term: 3, candidate: 'B', lastTerm: 2, lastIndex: 3 }, granted: true },
    { name: 'a newer last term, even shorter: granted', vote: { term: 3, candidate: 'B', lastTerm: 3, lastIndex: 2 }, granted: true },
    { name: 'same last term, longer: granted', vote: { term: 3, candidate: 'B', lastTerm: 2, lastIndex: 7 }, granted: true },
    { name: 'a malformed request', vote: { term: 3, candidate: '', lastTerm: 2, lastIndex: 7 }, granted: false, reason: 'malformed' },
  ];
  for (const r of rows) {
    const out = handleVote(me, r.vote, 'A');
    assert.equal(out.reply.granted, r.granted, r.name);
    assert.equal(out.reply.reason, r.reason, r.name);
    if (r.granted) assert.deepEqual(out.persist.hard, { term: r.vote.term, votedFor: 'B' }, `${r.name}: the vote is persisted before the answer`);
    else if (r.reason === 'log-behind') assert.deepEqual(out.persist.hard, { term: 3, votedFor: null }, `${r.name}: the newer term is persisted even when refused`);
    else assert.equal(out.persist.hard, undefined, r.name);
  }
});

test('votes: at most one per term, also across a restart', () => {
  let s = log([1], { commit: 1, term: 1 });
  const ask = (candidate: string, term: number) => {
    const out = handleVote(s, { term, candidate, lastTerm: 1, lastIndex: 1 }, 'A');
    s = out.state;
    return out;
  };
  const b = ask('B', 2);
  assert.equal(b.reply.granted, true);
  assert.equal(ask('C', 2).reply.reason, 'already-voted');
  const again = ask('B', 2);
  assert.equal(again.reply.granted, true, 'a retried request from the same candidate is granted again');
  assert.equal(again.persist.hard, undefined, 'with nothing new to persist');
  // the server restarts from what it persisted: the vote survives
  s = restoreLog({ hard: b.persist.hard!, snapIndex: 0, snapTerm: 0, entries: s.entries });
  assert.equal(ask('C', 2).reply.granted, false, 'no second vote in term 2 after a restart');
  assert.equal(ask('C', 3).reply.granted, true, 'a new term allows a new vote');
});

test("votes: a candidate's own vote needs its log exactly as it reported it", () => {
  const a = log([1, 1], { commit: 1, term: 1 });
  assert.equal(handleVote(a, { term: 2, candidate: 'A', lastTerm: 1, lastIndex: 2 }, 'A').reply.granted, true);
  assert.equal(handleVote(a, { term: 2, candidate: 'A', lastTerm: 1, lastIndex: 3 }, 'A').reply.reason, 'log-changed');
  assert.equal(handleVote(a, { term: 2, candidate: 'A', lastTerm: 1, lastIndex: 1 }, 'A').reply.reason, 'log-changed');
});

test('tally: a majority of the voters, the candidate included', () => {
  const v3 = ['A', 'B', 'C'];
  const rows: [string[], Record<string, boolean>, string][] = [
    [v3, { A: true }, 'pending'],
    [v3, { A: true, B: true }, 'won'],
    [v3, { A: true, B: false }, 'pending'],
    [v3, { A: true, B: false, C: false }, 'lost'],
    [v3, { A: true, X: true, Y: true }, 'pending'], // votes from outside the replica set do not count
    [['A', 'B', 'C', 'D'], { A: true, B: true }, 'pending'], // 2 of 4 is no majority
    [['A', 'B', 'C', 'D'], { A: true, B: true, C: true }, 'won'],
    [['A', 'B', 'C', 'D'], { C: false, D: false }, 'lost'],
    [['A'], { A: true }, 'won'],
    [[], {}, 'lost'],
  ];
  for (const [voters, answers, outcome] of rows) assert.equal(tallyVotes(voters, answers).outcome, outcome, JSON.stringify([voters, answers]));
});

test('commit: the highest index on a majority, only of the current term', () => {
  const at = (ts: number[]) => (i: number) => (i === 0 ? 0 : ts[i - 1]);
  const rows: { name: string; match: Record<string, number>; voters: string[]; term: number; commit: number; terms: number[]; want: number }[] = [
    { name: 'majority at 3 of the current term', match: { A: 4, B: 3, C: 1 }, voters: ['A', 'B', 'C'], term: 2, commit: 0, terms: [1, 2, 2, 2], want: 3 },
    { name: 'majority index of an older term: no commit', match: { A: 4, B: 2, C: 2 }, voters: ['A', 'B', 'C'], term: 2, commit: 0, terms: [1, 1, 2, 2], want: 0 },
    { name: 'never backwards', match: { A: 4, B: 1, C: 1 }, voters: ['A', 'B', 'C'], term: 2, commit: 3, terms: [2, 2, 2, 2], want: 3 },
    { name: 'a replica outside the voters does not count', match: { A: 4, X: 4, B: 0, C: 0 }, voters: ['A', 'B', 'C'], term: 1, commit: 0, terms: [1, 1, 1, 1], want: 0 },
    { name: 'a missing replica counts as 0', match: { A: 4, B: 4 }, voters: ['A', 'B', 'C', 'D'], term: 1, commit: 0, terms: [1, 1, 1, 1], want: 0 },
    { name: 'four voters need three', match: { A: 4, B: 4, C: 2 }, voters: ['A', 'B', 'C', 'D'], term: 1, commit: 0, terms: [1, 1, 1, 1], want: 2 },
    { name: 'five voters', match: { A: 9, B: 7, C: 5, D: 3, E: 1 }, voters: ['A', 'B', 'C', 'D', 'E'], term: 1, commit: 0, terms: Array(9).fill(1), want: 5 },
  ];
  for (const r of rows) assert.equal(advanceCommit({ match: r.match, voters: r.voters, currentTerm: r.term, commitIndex: r.commit, termAt: at(r.terms) }), r.want, r.name);
});

test('Figure 8 of the Raft paper (§5.4.2): an older-term entry on a majority is not committed by counting', () => {
  // (a) S1 primary of term 2 replicated index 2 to S2 only.
  const s: Record<string, LogState<string>> = {
    S1: log([1, 2], { commit: 1, term: 2, leader: 'S1' }),
    S2: log([1, 2], { commit: 1, term: 2 }),
    S3: log([1], { commit: 1, term: 2 }),
    S4: log([1], { commit: 1, term: 2 }),
    S5: log([1], { commit: 1, term: 2 }),
  };
  const voters = ['S1', 'S2', 'S3', 'S4', 'S5'];
  // (b) S1 dies; S5 wins term 3 with S3, S4 (their logs (1,1) are not ahead of S5's) and logs 2@3 only locally.
  for (const v of ['S5', 'S3', 'S4']) {
    const out = handleVote(s[v], { term: 3, candidate: 'S5', lastTerm: 1, lastIndex: 1 }, v);
    assert.equal(out.reply.granted, true, `${v} votes S5 in term 3`);
    s[v] = out.state;
  }
  s.S5 = (becomePrimary(s.S5, 'S5', 3, 'noop') as { state: LogState<string> }).state;
  s.S5 = { ...s.S5, entries: ents(1, [1, 3]) };
  // (c) S5 dies; S1 wins term 4 (S1, S2, S3) and replicates its old entry 2@2 to S3, plus 3@4 locally.
  for (const v of ['S1', 'S2', 'S3']) {
    const out = handleVote(s[v], { term: 4, candidate: 'S1', lastTerm: 2, lastIndex: 2 }, v);
    assert.equal(out.reply.granted, true, `${v} votes S1 in term 4`);
    s[v] = out.state;
  }
  const p = becomePrimary(s.S1, 'S1', 4, '3@4');
  assert.ok('state' in p);
  s.S1 = { ...p.state, entries: ents(1, [1, 2, 4]) };
  const r3 = handleAppend(s.S3, req({ term: 4, leader: 'S1', prevIndex: 1, prevTerm: 1, entries: ents(2, [2]), leaderCommit: 1 }));
  assert.equal(r3.reply.ok, true);
  s.S3 = r3.state;
  const match = { S1: 3, S2: 2, S3: 2, S4: 1, S5: 1 };
  // index 2 (term 2) is now on S1, S2, S3: a majority. It must NOT be committed: its term is not 4.
  assert.equal(commitAsPrimary(s.S1, 'S1', match, voters).commitIndex, 1);
  // (d) why: S1 dies again; S5 (last term 3) can win term 5 with S2, S3, S4 and overwrite index 2.
  for (const v of ['S2', 'S3', 'S4']) {
    const out = handleVote(s[v], { term: 5, candidate: 'S5', lastTerm: 3, lastIndex: 2 }, v);
    assert.equal(out.reply.granted, true, `${v} votes S5 in term 5: (3,2) beats (2,2)`);
    s[v] = out.state;
  }
  const over = handleAppend(s.S3, req({ term: 5, leader: 'S5', prevIndex: 1, prevTerm: 1, entries: ents(2, [3]), leaderCommit: 1 }));
  assert.equal(over.reply.ok, true);
  assert.equal(over.persist.truncateFrom, 2, 'S3 cuts 2@2: allowed, because it was never committed');
  assert.equal(over.violation, undefined);
  // Had S3 (wrongly) counted 2@2 as committed, the same call would be a violation, not a silent loss.
  assert.equal(handleAppend({ ...s.S3, commitIndex: 2 }, req({ term: 5, leader: 'S5', prevIndex: 1, prevTerm: 1, entries: ents(2, [3]), leaderCommit: 1 })).reply.reason, 'violation');
  // (e) the other future: S1 replicates 3@4 to a majority before dying: 3 and, indirectly, 2 commit ...
  assert.equal(commitAsPrimary(s.S1, 'S1', { S1: 3, S2: 3, S3: 3 }, voters).commitIndex, 3);
  // ... and S5 can no longer win: S2 and S3 hold a term-4 entry, (4,3) beats S5's (3,2).
  const s2e = log([1, 2, 4], { commit: 1, term: 4 });
  assert.equal(handleVote(s2e, { term: 5, candidate: 'S5', lastTerm: 3, lastIndex: 2 }, 'S2').reply.reason, 'log-behind');
});

test('primary: takes office with a no-op, commits it on a majority, and is then ready to give the read position', () => {
  let a = log([1, 1], { commit: 1, term: 1 });
  assert.ok('error' in becomePrimary(a, 'A', 2, 'noop'), 'not elected yet');
  a = handleVote(a, { term: 2, candidate: 'A', lastTerm: 1, lastIndex: 2 }, 'A').state;
  const took = becomePrimary(a, 'A', 2, 'noop');
  assert.ok('state' in took);
  a = took.state;
  assert.deepEqual(took.persist.append, [{ index: 3, term: 2, op: 'noop' }]);
  assert.equal(primaryReady(a), false, 'nothing of term 2 committed yet');
  const w = appendAsPrimary(a, 'A', ['w1', 'w2']);
  assert.ok('state' in w);
  assert.deepEqual([w.first, w.last], [4, 5]);
  a = w.state;
  assert.ok('error' in appendAsPrimary(log([1], { term: 1 }), 'A', ['x']), 'only the primary appends');
  // replica B holds [1@1]: the primary sends from index 2 (prev 1@1)
  const call = appendRequestFor(a, 'A', 2);
  assert.ok(!('copy' in call));
  assert.deepEqual([call.prevIndex, call.prevTerm, call.entries.map((e) => e.index), call.leaderCommit, call.term], [1, 1, [2, 3, 4, 5], 1, 2]);
  const b = handleAppend(log([1], { commit: 1, term: 1 }), call);
  assert.equal(b.reply.matchIndex, 5);
  a = commitAsPrimary(a, 'A', { B: b.reply.matchIndex }, ['A', 'B', 'C']);
  assert.equal(a.commitIndex, 5);
  assert.equal(primaryReady(a), true);
  // the next call carries the commit position to B
  const notice = appendRequestFor(a, 'A', 6);
  assert.ok(!('copy' in notice));
  assert.deepEqual([notice.entries.length, notice.leaderCommit], [0, 5]);
  assert.equal(handleAppend(b.state, notice).state.commitIndex, 5);
  assert.equal(appendRequestFor(a, 'A', 99).hasOwnProperty('copy'), false, 'a next index past the end is clamped');
});

test('compaction, and a full copy when the entries a replica needs are gone', () => {
  const p = log([1, 1, 2, 2, 2], { commit: 4, term: 2, leader: 'P' });
  assert.ok('error' in compact(p, 5), 'uncommitted entries are never compacted');
  const c = compact(p, 3) as LogState<string>;
  assert.deepEqual([c.snapIndex, c.snapTerm, lastIndex(c), lastTerm(c), termAt(c, 2), termAt(c, 3)], [3, 2, 5, 2, undefined, 2]);
  assert.deepEqual(visible(c).map((e) => e.index), [4]);
  assert.deepEqual(appendRequestFor(c, 'P', 3), { copy: true }, 'prev 2 is compacted: a copy is needed');
  assert.ok(!('copy' in appendRequestFor(c, 'P', 4)), 'prev 3 is the snapshot position: entries still serve');
  // a replica with a diverged uncommitted tail gets the copy at 4@2: its log is emptied
  const r = log([1, 1, 1, 1, 1, 1], { commit: 2, term: 2 });
  const ins = installCopy(r, { term: 2, leader: 'P', index: 4, indexTerm: 2 });
  assert.equal(ins.install, true);
  assert.deepEqual([ins.state.snapIndex, ins.state.commitIndex, ins.state.entries.length], [4, 4, 0]);
  assert.deepEqual(ins.persist.snapshot, { index: 4, term: 2 });
  assert.equal(ins.persist.truncateFrom, 5);
  // a replica that holds 4@2 keeps what follows it
  const k = installCopy(log([1, 1, 2, 2, 2], { commit: 1, term: 2 }), { term: 2, leader: 'P', index: 4, indexTerm: 2 });
  assert.deepEqual([k.state.snapIndex, k.state.entries.map((e) => e.index), k.persist.truncateFrom], [4, [5], undefined]);
  // a copy older than what is committed changes nothing; an older term is refused
  assert.equal(installCopy(log([1, 1, 1], { commit: 3 }), { term: 1, leader: 'P', index: 2, indexTerm: 1 }).install, false);
  assert.equal(installCopy(log([1], { term: 3 }), { term: 2, leader: 'P', index: 4, indexTerm: 2 }).reply.reason, 'stale-term');
});

test('restore: the commit hint is clamped into the log', () => {
  const hard = { term: 3, votedFor: 'A' };
  const e = ents(6, [2, 3]);
  assert.equal(restoreLog({ hard, snapIndex: 5, snapTerm: 2, entries: e, commitHint: 99 }).commitIndex, 7);
  assert.equal(restoreLog({ hard, snapIndex: 5, snapTerm: 2, entries: e, commitHint: 1 }).commitIndex, 5);
  assert.equal(restoreLog({ hard, snapIndex: 5, snapTerm: 2, entries: e }).votedFor, 'A');
  assert.deepEqual(emptyLog(), restoreLog({ hard: { term: 0, votedFor: null }, snapIndex: 0, snapTerm: 0, entries: [] }));
});

test('a replica recreated on a new volume does not vote until it has committed up to the floor', () => {
  // A (primary, term 2) and B hold 1..3, committed; C lags at 1. B's volume is lost; the LB recreates it
  // with the floor = A's commit position (3) at the term it recorded (2).
  const rec = recreatedLog<string>(2, 3);
  assert.deepEqual(rec.persist.hard, { term: 2, votedFor: null, resyncTo: 3 });
  let b = rec.state;
  assert.equal(resyncing(b), true);
  // A dies. C (1@1) asks for votes in term 3: an empty B would grant it and C would win without 2 and 3.
  const v = handleVote(b, { term: 3, candidate: 'C', lastTerm: 1, lastIndex: 1 }, 'B');
  assert.deepEqual([v.reply.granted, v.reply.reason], [false, 'resyncing']);
  assert.deepEqual(v.persist.hard, { term: 3, votedFor: null, resyncTo: 3 }, 'the floor survives a term change');
  b = v.state;
  // the floor survives a restart
  b = restoreLog({ hard: v.persist.hard!, snapIndex: 0, snapTerm: 0, entries: [] });
  assert.equal(resyncing(b), true);
  // A comes back as primary of term 4 and replicates: once B has committed 3 it votes again
  const part = handleAppend(b, req({ term: 4, leader: 'A', prevIndex: 0, prevTerm: 0, entries: ents(1, [1, 2]), leaderCommit: 2 }));
  assert.equal(resyncing(part.state), true);
  assert.equal(part.persist.hard?.resyncTo, 3);
  const done = handleAppend(part.state, req({ term: 4, leader: 'A', prevIndex: 2, prevTerm: 2, entries: ents(3, [2, 4]), leaderCommit: 4 }));
  assert.equal(resyncing(done.state), false);
  assert.deepEqual(done.persist.hard, { term: 4, votedFor: null }, 'cleared on disk');
  assert.equal(handleVote(done.state, { term: 5, candidate: 'A', lastTerm: 4, lastIndex: 4 }, 'B').reply.granted, true);
  // a copy at or past the floor also ends it
  const copied = installCopy(restoreLog({ hard: { term: 4, votedFor: null, resyncTo: 3 }, snapIndex: 0, snapTerm: 0, entries: [] }), { term: 4, leader: 'A', index: 3, indexTerm: 2 });
  assert.deepEqual([resyncing(copied.state), copied.persist.hard], [false, { term: 4, votedFor: null }]);
  // nothing ever committed: no floor
  assert.equal(resyncing(recreatedLog(0, 0).state), false);
});

test('inPlace appends (a server keeping one state) give the same states as copies, growing the one array', () => {
  const base = () => ({ ...log([1, 1], { commit: 2, term: 2, leader: 'A', votedFor: 'A' }) });
  const copied = base();
  const c = appendAsPrimary(copied, 'A', ['w1', 'w2']);
  const grown = base();
  const g = appendAsPrimary(grown, 'A', ['w1', 'w2'], { inPlace: true });
  assert.ok('state' in c && 'state' in g);
  assert.deepEqual(g.state, c.state);
  assert.equal(copied.entries.length, 2, 'a copy leaves the old state alone');
  assert.equal(g.state.entries, grown.entries, 'inPlace grows the same array');
  // a replica: appended after its log, the same; a call that cuts a tail makes a new array either way
  const r = () => log([1, 1, 1], { commit: 1, term: 1 });
  const call = req({ term: 2, leader: 'A', prevIndex: 3, prevTerm: 1, entries: ents(4, [2, 2]), leaderCommit: 4 });
  assert.deepEqual(handleAppend(r(), call, { inPlace: true }).state, handleAppend(r(), call).state);
  const cut = req({ term: 2, leader: 'A', prevIndex: 1, prevTerm: 1, entries: ents(2, [2]), leaderCommit: 1 });
  const before = r();
  const out = handleAppend(before, cut, { inPlace: true });
  assert.deepEqual(out.state, handleAppend(r(), cut).state);
  assert.equal(before.entries.length, 3, 'a cut never shortens the old array in place');
});

test('commitAsPrimary counts the primary only as far as its own disk (selfMatch): two replicas holding an entry commit it without it', () => {
  const p = log([1, 2, 2, 2], { commit: 2, term: 2, leader: 'A', votedFor: 'A' });
  // the primary's own fsync reached 2 only
  assert.equal(commitAsPrimary(p, 'A', { B: 4, C: 1 }, ['A', 'B', 'C'], 2).commitIndex, 2, 'one replica and a primary not on disk: no majority');
  assert.equal(commitAsPrimary(p, 'A', { B: 4, C: 3 }, ['A', 'B', 'C'], 2).commitIndex, 3, 'both replicas hold 3: committed');
  assert.equal(commitAsPrimary(p, 'A', { B: 4, C: 1 }, ['A', 'B', 'C'], 4).commitIndex, 4, 'on its disk, the primary counts');
  assert.equal(commitAsPrimary(p, 'A', { B: 4, C: 1 }, ['A', 'B', 'C']).commitIndex, 4, 'default: its whole log');
});
