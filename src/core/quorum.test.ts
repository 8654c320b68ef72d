import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './errors.js';
import { checkQuorum, groupByShard, isMajority, majorityGroup, mayResumeWithoutCopy, voters } from './quorum.js';

test('isMajority, by table', () => {
  const cases: [number, number, boolean][] = [
    [0, 0, false],
    [1, 1, true],
    [1, 2, false],
    [2, 3, true],
    [1, 3, false],
    [2, 4, false],
    [3, 4, true],
    [4, 7, true],
    [3, 7, false],
  ];
  for (const [a, v, want] of cases) assert.equal(isMajority(a, v), want, `${a} of ${v}`);
});

test('voters: joining replicas do not count; failed ones still do', () => {
  assert.deepEqual(voters(['A', 'B', 'C', 'D'], new Set(['D'])), ['A', 'B', 'C']);
  assert.deepEqual(voters(['A', 'B', 'C'], new Set()), ['A', 'B', 'C']);
});

test('checkQuorum: refuses with NO_REPLICA or NO_MAJORITY before anything is applied', () => {
  const code = (f: () => void) => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return (e as ApiError).code;
    }
  };
  assert.equal(code(() => checkQuorum('sh1', 0, 3)), 'NO_REPLICA');
  assert.equal(code(() => checkQuorum('sh1', 1, 3)), 'NO_MAJORITY');
  assert.equal(code(() => checkQuorum('sh1', 2, 3)), 'ok');
  assert.equal(code(() => checkQuorum('sh1', 2, 4)), 'NO_MAJORITY');
});

test('majorityGroup: the largest agreeing group, ties by more rows then order; silent replicas are refilled', () => {
  const cases: [Parameters<typeof majorityGroup>[0], { keep: string[]; refill: string[] } | undefined][] = [
    [[{ server: 'A', digest: 'x', count: 1 }, { server: 'B', digest: 'x', count: 1 }, { server: 'C', digest: 'y', count: 2 }], { keep: ['A', 'B'], refill: ['C'] }],
    [[{ server: 'A', digest: 'x', count: 1 }, { server: 'B', digest: 'y', count: 2 }], { keep: ['B'], refill: ['A'] }],
    [[{ server: 'A', digest: 'x', count: 1 }, { server: 'B', digest: 'y', count: 1 }], { keep: ['A'], refill: ['B'] }],
    [[{ server: 'A', digest: 'x', count: 1 }, { server: 'B' }], { keep: ['A'], refill: ['B'] }],
    [[{ server: 'A' }, { server: 'B' }], undefined],
  ];
  for (const [ds, want] of cases) assert.deepEqual(majorityGroup(ds), want, JSON.stringify(ds));
});

test('groupByShard: groups in order; out of range, repeated and stored keys refuse the whole request', () => {
  const shardOf = (k: number) => (k < 0 || k >= 200 ? undefined : k < 100 ? 'a' : 'b');
  const r = (k: number) => ({ id: k });
  const g = groupByShard([r(1), r(150), r(2)], 'id', shardOf, () => false);
  assert.deepEqual(
    g.map((x) => [x.shard, x.keys]),
    [
      ['a', [1, 2]],
      ['b', [150]],
    ],
  );
  assert.throws(() => groupByShard([r(1), r(500)], 'id', shardOf, () => false), /data\[1\]\.id 500 is outside every shard/);
  assert.throws(() => groupByShard([r(1), r(1)], 'id', shardOf, () => false), /appears twice/);
  assert.throws(() => groupByShard([r(1), r(7)], 'id', shardOf, (_s, k) => k === 7), /data\[1\]\.id 7 is already stored/);
});

test('mayResumeWithoutCopy: only the last to leave, with the same store', () => {
  const last = { server: 'A', storeId: 's1' };
  assert.equal(mayResumeWithoutCopy('A', 's1', last), true);
  assert.equal(mayResumeWithoutCopy('A', 's2', last), false, 'restarted empty');
  assert.equal(mayResumeWithoutCopy('B', 's1', last), false, 'left earlier: may miss changes');
  assert.equal(mayResumeWithoutCopy('A', undefined, last), false);
  assert.equal(mayResumeWithoutCopy('A', 's1', undefined), false);
});
