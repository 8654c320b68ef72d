import { test } from 'node:test';
import assert from 'node:assert/strict';
import { placePrimaries, planElection, rebalanceMove, resumeShard, type ReplicaReport } from './election.js';

const rep = (server: string, lastTerm: number, lastIndex: number, term = lastTerm, eligible?: boolean): ReplicaReport => ({ server, term, lastTerm, lastIndex, ...(eligible === undefined ? {} : { eligible }) });
const V3 = ['A', 'B', 'C'];

test('election: the most up-to-date log by (last term, last index), never the longest log of an older term', () => {
  const rows: { name: string; voters?: string[]; reports: ReplicaReport[]; want: string; term: number; knownTerm?: number; exclude?: string[]; primaries?: Record<string, string>; prefer?: string }[] = [
    { name: 'the longest log is of an older term: it loses', reports: [rep('A', 1, 50), rep('B', 2, 7, 2), rep('C', 1, 3)], want: 'B', term: 3 },
    { name: 'same last term: the longer log wins', reports: [rep('A', 2, 7), rep('B', 2, 9), rep('C', 1, 30)], want: 'B', term: 3 },
    { name: 'a majority answered, the best of them wins', reports: [rep('A', 3, 4), rep('C', 3, 6)], want: 'C', term: 4 },
    { name: 'the new term is above every term seen, also one without entries', reports: [rep('A', 1, 5, 7), rep('B', 1, 5, 2)], want: 'A', term: 8 },
    { name: 'the new term is above the LB-recorded term', reports: [rep('A', 1, 5, 1), rep('B', 1, 5, 1)], want: 'A', term: 10, knownTerm: 9 },
    { name: 'a tie goes to the server leading the fewest shards', reports: [rep('A', 2, 5), rep('B', 2, 5), rep('C', 2, 5)], want: 'C', term: 3, primaries: { sh2: 'A', sh3: 'B' } },
    { name: 'a tie with equal load goes to the first in the shard order', reports: [rep('C', 2, 5), rep('B', 2, 5)], want: 'B', term: 3 },
    { name: "the shard's own old primary is not load", reports: [rep('A', 2, 5), rep('B', 2, 5)], want: 'A', term: 3, primaries: { sh1: 'A' } },
    { name: 'an excluded server (being removed) votes but does not stand', reports: [rep('A', 2, 9), rep('B', 2, 5), rep('C', 1, 9)], want: 'B', term: 3, exclude: ['A'] },
    { name: 'a tie goes to the preferred server (placePrimaries at /init) before load', reports: [rep('A', 0, 0), rep('B', 0, 0), rep('C', 0, 0)], want: 'B', term: 1, primaries: { sh2: 'B' }, prefer: 'B' },
    { name: 'the preferred server does not win with an older log', reports: [rep('A', 1, 3), rep('B', 1, 2), rep('C', 1, 2)], want: 'A', term: 2, prefer: 'B' },
    { name: 'reports of non-voters (not caught up) are ignored', reports: [rep('A', 1, 2), rep('B', 1, 2), rep('D', 9, 99, 9)], want: 'A', term: 2 },
    { name: 'a replaying replica neither stands nor counts', voters: ['A', 'B', 'C', 'D', 'E'], reports: [rep('A', 1, 2), rep('B', 1, 1), rep('C', 1, 1), rep('E', 5, 50, 5, false)], want: 'A', term: 6 },
  ];
  for (const r of rows) {
    const plan = planElection({ shard: 'sh1', voters: r.voters ?? V3, reports: r.reports, knownTerm: r.knownTerm, exclude: r.exclude, primaries: r.primaries, prefer: r.prefer });
    assert.ok(plan.ok, `${r.name}: ${!plan.ok && plan.reason}`);
    assert.equal(plan.candidate, r.want, r.name);
    assert.equal(plan.term, r.term, r.name);
    assert.equal(plan.ask[0], r.want, `${r.name}: the candidate is asked first`);
    const mine = r.reports.find((x) => x.server === r.want)!;
    assert.deepEqual([plan.lastTerm, plan.lastIndex], [mine.lastTerm, mine.lastIndex], r.name);
  }
});

test('election: refused with a reason when fewer than a majority answered', () => {
  const rows: { name: string; voters: string[]; reports: ReplicaReport[]; exclude?: string[]; says: RegExp }[] = [
    { name: '1 of 3', voters: V3, reports: [rep('A', 1, 1)], says: /^no primary for sh1: 1 of its 3 replicas answered \(A\), 2 are needed; it elects one by itself once 1 more of B, C is back$/ },
    { name: 'none of 3', voters: V3, reports: [], says: /0 of its 3 replicas answered, 2 are needed; .* 2 more of A, B, C are back/ },
    { name: '2 of 4 is not a majority', voters: ['A', 'B', 'C', 'D'], reports: [rep('A', 1, 1), rep('B', 1, 1)], says: /2 of its 4 replicas answered \(A, B\), 3 are needed/ },
    { name: 'a replaying replica does not count', voters: V3, reports: [rep('A', 1, 1), rep('B', 1, 1, 1, false)], says: /1 of its 3/ },
    { name: 'a non-voter does not count', voters: V3, reports: [rep('A', 1, 1), rep('D', 1, 1)], says: /1 of its 3/ },
    { name: 'no voters', voters: [], reports: [rep('A', 1, 1)], says: /has no replica that counts/ },
    { name: 'only the excluded one could stand', voters: ['A'], reports: [rep('A', 1, 1)], exclude: ['A'], says: /no replica other than A/ },
  ];
  for (const r of rows) {
    const plan = planElection({ shard: 'sh1', voters: r.voters, reports: r.reports, exclude: r.exclude });
    assert.equal(plan.ok, false, r.name);
    assert.match(!plan.ok ? plan.reason : '', r.says, r.name);
  }
});

test('placement: the default configuration gets one primary per server', () => {
  const servers: Record<string, string[]> = { Server0: ['sh1', 'sh2'], Server1: ['sh3', 'sh4'], Server3: ['sh1', 'sh3'], Server4: ['sh4', 'sh2'], Server5: ['sh1', 'sh4'], Server6: ['sh3', 'sh2'] };
  const replicasOf: Record<string, string[]> = {};
  for (const [srv, shards] of Object.entries(servers)) for (const s of shards) (replicasOf[s] ??= []).push(srv);
  const p = placePrimaries(replicasOf);
  assert.deepEqual(Object.keys(p).sort(), ['sh1', 'sh2', 'sh3', 'sh4']);
  for (const [s, srv] of Object.entries(p)) assert.ok(replicasOf[s].includes(srv), `${srv} holds ${s}`);
  assert.equal(new Set(Object.values(p)).size, 4, 'no server leads two shards');
  assert.deepEqual(placePrimaries(replicasOf), p, 'deterministic');
});

test('placement: the smallest possible maximum, where a greedy pass would fail', () => {
  const max = (p: Record<string, string>) => Math.max(...Object.values([...Object.values(p)].reduce((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {} as Record<string, number>)));
  const rows: { name: string; replicasOf: Record<string, string[]>; current?: Record<string, string>; max: number; want?: Record<string, string> }[] = [
    // greedy in order: a -> X (first, both idle), then b has only X: X leads 2. Matching moves a to Y.
    { name: 'a shard with one replica takes the shared server', replicasOf: { a: ['X', 'Y'], b: ['X'] }, max: 1, want: { a: 'Y', b: 'X' } },
    { name: 'a chain of moves', replicasOf: { a: ['X', 'Y'], b: ['Y', 'Z'], c: ['X'] }, max: 1, want: { a: 'Y', b: 'Z', c: 'X' } },
    { name: 'more shards than servers: ceil(6/4) = 2', replicasOf: { s1: ['A', 'B'], s2: ['A', 'B'], s3: ['A', 'C'], s4: ['A', 'D'], s5: ['B', 'C'], s6: ['C', 'D'] }, max: 2 },
    { name: 'A-3: 6 shards over 10 servers, 8 replicas each', replicasOf: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`sh${i + 1}`, Array.from({ length: 8 }, (_, j) => `Server${(i + j) % 10}`)])), max: 1 },
    { name: 'all shards on one server: it must lead them all', replicasOf: { a: ['X'], b: ['X'], c: ['X'] }, max: 3 },
    { name: 'current primaries are kept and count as load', replicasOf: { a: ['X', 'Y'], b: ['X', 'Y'] }, current: { a: 'X' }, max: 1, want: { a: 'X', b: 'Y' } },
    { name: 'a shard with no replica gets no primary', replicasOf: { a: ['X'], b: [] }, max: 1, want: { a: 'X' } },
  ];
  for (const r of rows) {
    const p = placePrimaries(r.replicasOf, r.current);
    for (const [s, srv] of Object.entries(p)) assert.ok(r.replicasOf[s].includes(srv), `${r.name}: ${srv} holds ${s}`);
    assert.equal(Object.keys(p).length, Object.values(r.replicasOf).filter((l) => l.length).length, `${r.name}: every shard with a replica has one`);
    assert.equal(max(p), r.max, r.name);
    if (r.want) assert.deepEqual(p, r.want, r.name);
  }
});

test('resume: the recorded primary is kept only as primary of the recorded term, ready', () => {
  const rec = { primary: 'Server0', term: 4 };
  const ok = { term: 4, role: 'primary' as const, ready: true, commitIndex: 120 };
  const rows: [string, { primary?: string; term: number }, Parameters<typeof resumeShard>[1], string][] = [
    ['ready primary of the recorded term', rec, ok, 'adopt'],
    ['no primary recorded', { term: 0 }, ok, 'elect'],
    ['no answer', rec, undefined, 'elect'],
    ['it is a replica now', rec, { ...ok, role: 'replica' }, 'elect'],
    ['a newer term than recorded', rec, { ...ok, term: 5 }, 'elect'],
    ['an older term than recorded', rec, { ...ok, term: 3 }, 'elect'],
    ['its no-op is not committed yet', rec, { ...ok, ready: false }, 'wait'],
  ];
  for (const [name, r, check, want] of rows) assert.equal(resumeShard(r, check).action, want, name);
  assert.deepEqual(resumeShard(rec, ok), { action: 'adopt', primary: 'Server0', term: 4, acked: 120 });
  const e = resumeShard(rec, { ...ok, term: 5 });
  assert.match(e.action === 'elect' ? e.why : '', /Server0 leads term 5, the LB recorded term 4/);
});

test('rebalance: one primary moves only where a server leads two more than another eligible replica', () => {
  const all = { sh1: ['A', 'B', 'C'], sh2: ['A', 'B', 'C'], sh3: ['A', 'B', 'C'] };
  const cases: { name: string; eligible: Record<string, string[]>; primaries: Record<string, string>; want: { shard: string; from: string; to: string } | undefined }[] = [
    { name: 'spread already', eligible: all, primaries: { sh1: 'A', sh2: 'B', sh3: 'C' }, want: undefined },
    { name: 'a gap of one is left alone (moving would only swap it)', eligible: { sh1: ['A', 'B'], sh2: ['A', 'B'], sh3: ['B', 'A'] }, primaries: { sh1: 'A', sh2: 'A', sh3: 'B' }, want: undefined },
    { name: 'all on A: the first shard to the least loaded replica', eligible: all, primaries: { sh1: 'A', sh2: 'A', sh3: 'A' }, want: { shard: 'sh1', from: 'A', to: 'B' } },
    { name: 'only to an eligible replica (C not ready for sh1)', eligible: { sh1: ['A', 'B'], sh2: ['A', 'C'] }, primaries: { sh1: 'A', sh2: 'A', sh3: 'B' }, want: { shard: 'sh2', from: 'A', to: 'C' } },
    { name: 'nowhere to go', eligible: { sh1: ['A'], sh2: ['A'] }, primaries: { sh1: 'A', sh2: 'A' }, want: undefined },
    { name: 'the largest gap first', eligible: { sh1: ['A', 'B'], sh2: ['A', 'D'], sh3: ['A'], sh4: ['B'] }, primaries: { sh1: 'A', sh2: 'A', sh3: 'A', sh4: 'B' }, want: { shard: 'sh2', from: 'A', to: 'D' } },
  ];
  for (const c of cases) assert.deepEqual(rebalanceMove(c.eligible, c.primaries), c.want, c.name);
  // repeated moves end, spread as far as the replicas allow
  const p: Record<string, string> = { sh1: 'A', sh2: 'A', sh3: 'A' };
  for (let i = 0; i < 10; i++) {
    const m = rebalanceMove(all, p);
    if (!m) break;
    p[m.shard] = m.to;
  }
  assert.deepEqual(Object.values(p).sort(), ['A', 'B', 'C']);
});
