import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasMajority, heldByMajority, isCaughtUp, majoritySet, nextMembershipStep, pickRemovals, quorum } from './membership.js';

test('quorum: a strict majority', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 7, 8].map(quorum), [1, 2, 2, 3, 3, 4, 5]);
});

test('majoritySet: a replica counts only once caught up; a voter that is down still counts', () => {
  const rows: [string[], string[], string[]][] = [
    [['A', 'B', 'C'], ['A', 'B', 'C'], ['A', 'B', 'C']],
    [['A', 'B', 'C', 'D'], ['A', 'B', 'C'], ['A', 'B', 'C']], // D added, still copying: 2 of 3 is the majority, not 3 of 4
    [['C', 'A', 'B'], ['A', 'B', 'C', 'X'], ['C', 'A', 'B']], // the shard's order; X is not a replica
    [['A', 'A', 'B'], ['A', 'B'], ['A', 'B']],
    [['A'], [], []],
  ];
  for (const [replicas, caughtUp, want] of rows) {
    assert.deepEqual(majoritySet(replicas, caughtUp), want, JSON.stringify([replicas, caughtUp]));
    assert.deepEqual(majoritySet(replicas, new Set(caughtUp)), want);
  }
  // an added replica that has not caught up cannot complete a majority for a write
  const voters = majoritySet(['A', 'B', 'C', 'D'], ['A', 'B', 'C']);
  assert.equal(hasMajority(voters, ['A', 'D']), false);
  assert.equal(hasMajority(voters, ['A', 'B']), true);
  assert.equal(hasMajority(['A', 'B', 'C', 'D'], ['A', 'B']), false, '2 of 4');
  assert.equal(hasMajority([], ['A']), false);
});

test('isCaughtUp: once the match point reaches the commit position the primary had', () => {
  assert.deepEqual([isCaughtUp(9, 10), isCaughtUp(10, 10), isCaughtUp(12, 10)], [false, true, true]);
});

test('membership: one server at a time, additions first, a primary removed last and only after a handoff', () => {
  const rows: { name: string; current: string[]; target: string[]; primary?: string; steps: string[] }[] = [
    { name: 'nothing to do', current: ['A', 'B'], target: ['B', 'A'], steps: [] },
    { name: 'replace one', current: ['A', 'B', 'C'], target: ['A', 'B', 'D'], steps: ['+D', '-C'] },
    { name: 'replace the primary', current: ['A', 'B', 'C'], target: ['B', 'C', 'D'], primary: 'A', steps: ['+D', '-A!'] },
    { name: 'two out, the primary among them', current: ['A', 'B', 'C', 'D'], target: ['C', 'D'], primary: 'A', steps: ['-B', '-A!'] },
    { name: 'grow by two', current: ['A'], target: ['A', 'B', 'C'], steps: ['+B', '+C'] },
  ];
  for (const r of rows) {
    let cur = [...r.current];
    const steps: string[] = [];
    for (let step = nextMembershipStep(cur, r.target, r.primary); step; step = nextMembershipStep(cur, r.target, r.primary)) {
      steps.push(step.op === 'add' ? `+${step.server}` : `-${step.server}${step.handoff ? '!' : ''}`);
      cur = step.op === 'add' ? [...cur, step.server] : cur.filter((s) => s !== step.server);
      assert.ok(steps.length <= 10, 'terminates');
    }
    assert.deepEqual(steps, r.steps, r.name);
  }
});

test('pickRemovals: random picks avoid primaries where they can', () => {
  const primaries = { sh1: 'A', sh2: 'B' };
  const first = () => 0;
  const rows: [string[], number, (k: number) => number, string[] | ((p: string[]) => boolean)][] = [
    [['A', 'B', 'C', 'D'], 2, first, (p) => p.length === 2 && !p.includes('A') && !p.includes('B')],
    [['A', 'B', 'C'], 2, first, (p) => p.length === 2 && p.includes('C')],
    [['A', 'B'], 1, first, (p) => p.length === 1],
    [['A', 'C'], 0, first, []],
  ];
  for (const [cands, n, rnd, want] of rows) {
    const got = pickRemovals(cands, n, primaries, rnd);
    if (typeof want === 'function') assert.ok(want(got), JSON.stringify([cands, n, got]));
    else assert.deepEqual(got, want);
  }
  // seeded: the same random sequence, the same pick; different seeds spread over the non-primaries
  let seed = 7;
  const lcg = () => (k: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % k);
  const picks = new Set<string>();
  for (let i = 0; i < 50; i++) picks.add(pickRemovals(['A', 'B', 'C', 'D', 'E'], 1, primaries, lcg())[0]);
  assert.deepEqual([...picks].sort(), ['C', 'D', 'E']);
});

test('heldByMajority: the highest position a majority of the voters holds (absent voters hold nothing)', () => {
  const cases: [string[], Record<string, number>, number][] = [
    [['A', 'B', 'C'], { A: 9, B: 7, C: 3 }, 7],
    [['A', 'B', 'C'], { A: 9 }, 0],
    [['A', 'B'], { A: 9, B: 7 }, 7],
    [['C'], { A: 9, B: 9, C: 4 }, 4], // only the voters count
    [['A', 'B', 'C', 'D'], { A: 9, B: 8, C: 7, D: 1 }, 7], // 3 of 4
    [['A', 'B', 'C', 'D', 'E'], { A: 9, B: 8, C: 2, D: 1, E: 0 }, 2],
    [['A', 'A', 'B'], { A: 9, B: 1 }, 1], // a name twice counts once
    [[], { A: 9 }, 0],
  ];
  for (const [voters, held, want] of cases) assert.equal(heldByMajority(voters, held), want, `${voters} ${JSON.stringify(held)}`);
});
