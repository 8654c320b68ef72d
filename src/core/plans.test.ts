import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addLabel, planAdd, planAddChange, planInit, planInitChange, planRm, planRmChange, replicaCounts, type ClusterFacts } from './plans.js';
import { ChangePlan } from './api.js';
import { parseAddBody, parseInitBody, parseRmBody } from './schemas.js';
import { planPlacement } from './placement.js';
import type { ApiError } from './errors.js';

const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
const shards = [0, 1, 2, 3].map((i) => ({ Stud_id_low: 4096 * i, Shard_id: `sh${i + 1}`, Shard_size: 4096 }));
const base = planInit(
  parseInitBody({
    N: 6,
    schema,
    shards,
    servers: { Server0: ['sh1', 'sh2'], Server1: ['sh3', 'sh4'], Server3: ['sh1', 'sh3'], Server4: ['sh4', 'sh2'], Server5: ['sh1', 'sh4'], Server6: ['sh3', 'sh2'] },
  }),
);
const seq = (...picks: number[]) => {
  let i = 0;
  return (n: number) => picks[i++ % picks.length] % n;
};

test('init: the default configuration as given', () => {
  assert.equal(Object.keys(base.servers).length, 6);
  assert.deepEqual([...replicaCounts(base).values()], [3, 3, 3, 3]);
});

test('init: fewer servers than N are placed evenly', () => {
  const t = planInit(parseInitBody({ N: 6, schema, shards }));
  assert.deepEqual(Object.keys(t.servers), ['Server0', 'Server1', 'Server2', 'Server3', 'Server4', 'Server5']);
  assert.deepEqual([...replicaCounts(t).values()], [3, 3, 3, 3]);
  const sizes = Object.values(t.servers).map((l) => l.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `uneven: ${sizes}`);
});

test('placement: keeps named servers and adds the rest', () => {
  const out = planPlacement({ shardIds: ['a', 'b'], servers: { Server0: ['a'] }, n: 3, replicas: 2 });
  assert.deepEqual(out, { Server0: ['a'], Server1: ['a', 'b'], Server2: ['b'] });
});

test('init: bad configs are refused with a reason', () => {
  const cases: [unknown, RegExp][] = [
    [{ N: 2, schema, shards, servers: { S0: ['sh9'] } }, /Shard sh9 \(on S0\) is not defined/],
    [{ N: 2, schema, shards: [...shards, { Stud_id_low: 100, Shard_id: 'sh5', Shard_size: 10 }] }, /overlap/],
    [{ N: 1, schema, shards, servers: { A: ['sh1'], B: ['sh2'] } }, /N is 1/],
    [{ N: 'x', schema, shards }, /^<Error> N:/],
    [{ N: 2, schema, shards: [{ Stud_id_low: 0, Shard_id: 'sh1' }] }, /shards\[0\]\.Shard_size/],
  ];
  for (const [body, re] of cases) assert.throws(() => planInit(parseInitBody(body)), (e: ApiError) => e.status === 400 && re.test(e.message), JSON.stringify(body));
});

test('add: templates get fresh ids; the message names them', () => {
  const p = planAdd(base, parseAddBody({ n: 2, new_shards: [{ Stud_id_low: 16384, Shard_id: 'sh5', Shard_size: 4096 }], servers: { Server4x: ['sh3', 'sh5'], 'Server[5]': ['sh2', 'sh5'] } }), seq(48127));
  assert.deepEqual(Object.keys(p.added), ['Server4x', 'Server58127']);
  assert.equal(p.message, 'Add Server:Server4x and Server:58127');
  assert.equal(Object.keys(p.topology.servers).length, 8);
  assert.equal(addLabel('Server4'), 'Server:4');
});

test('add: errors', () => {
  const cases: [unknown, RegExp][] = [
    [{ n: 3, servers: { S9: ['sh1'] } }, /^<Error> Number of new servers \(n\) is greater than newly added instances$/],
    [{ n: 1, servers: { S9: ['sh7'] } }, /sh7/],
    [{ n: 1, servers: { Server0: ['sh1'] } }, /already exists/],
    [{ n: 1, new_shards: [{ Stud_id_low: 0, Shard_id: 'shx', Shard_size: 5 }], servers: { S9: ['shx'] } }, /overlap/],
  ];
  for (const [body, re] of cases) assert.throws(() => planAdd(base, parseAddBody(body), seq(1)), (e: ApiError) => e.status === 400 && re.test(e.message), JSON.stringify(body));
});

test('rm: named plus random, never the last replica unless forced', () => {
  const p = planRm(base, parseRmBody({ n: 2, servers: ['Server4'] }), seq(0));
  assert.equal(p.removed[0], 'Server4');
  assert.equal(p.removed.length, 2);
  assert.equal(Object.keys(p.topology.servers).length, 4);
  assert.throws(
    () => planRm(base, parseRmBody({ n: 1, servers: ['Server4', 'Server5'] }), seq(0)),
    (e: ApiError) => e.message === '<Error> Length of server list is more than removable instances',
  );
  assert.throws(() => planRm(base, parseRmBody({ n: 3, servers: ['Server0', 'Server3', 'Server5'] }), seq(0)), /shard sh1 with no replica/);
  assert.equal(planRm(base, parseRmBody({ n: 3, servers: ['Server0', 'Server3', 'Server5'], force: true }), seq(0)).removed.length, 3);
  assert.throws(() => planRm(base, parseRmBody({ n: 1, servers: ['Nope'] }), seq(0)), /Nope is not in the cluster/);
});

test('rm: random picks avoid primaries while other servers can go', () => {
  const primaries = { sh1: 'Server0', sh2: 'Server1', sh3: 'Server2', sh4: 'Server3' };
  for (let r = 0; r < 6; r++) {
    const p = planRm(base, parseRmBody({ n: 2, servers: [] }), seq(r, r + 1, r + 2), undefined, primaries);
    assert.ok(p.removed.every((s) => !Object.values(primaries).includes(s)), `seed ${r}: ${p.removed.join(',')}`);
  }
  // no choice left but a primary: one is picked
  assert.equal(planRm(base, parseRmBody({ n: 3, servers: [] }), seq(0), undefined, primaries).removed.length, 3);
});

// ---------------------------------------------------------------- dry runs

/** the default cluster with rows, and Server4 (sh4, sh2) down */
const facts: ClusterFacts = {
  topology: base,
  rows: { sh1: 10, sh2: 20, sh3: 0, sh4: 5 },
  serving: { sh1: ['Server0', 'Server3', 'Server5'], sh2: ['Server0', 'Server6'], sh3: ['Server1', 'Server3', 'Server6'], sh4: ['Server1', 'Server5'] },
};
/** the plan, checked against the zod schema the OpenAPI document and the client use (no field missing from it) */
const checked = <T>(p: T): T => {
  assert.deepEqual(ChangePlan.parse(p), p);
  return p;
};

test('dry run of init: the old cluster stopped with every row, the new one started empty', () => {
  const cases: [ClusterFacts, { stop: number; lost: number; spawn: string[] }][] = [
    [{ rows: {}, serving: {} }, { stop: 0, lost: 0, spawn: ['Server0', 'Server1', 'Server2'] }],
    [facts, { stop: 6, lost: 35, spawn: ['Server0', 'Server1', 'Server2'] }],
  ];
  for (const [f, want] of cases) {
    const p = checked(planInitChange(f, parseInitBody({ N: 3, schema, shards, replicas: 2 })));
    assert.equal(p.stop.length, want.stop);
    assert.equal(p.rows_lost, want.lost);
    assert.deepEqual(p.spawn.map((s) => s.server), want.spawn);
    assert.deepEqual(p.create, ['sh1', 'sh2', 'sh3', 'sh4']);
    assert.deepEqual(Object.values(p.replicas).map((r) => r.after), [2, 2, 2, 2]);
    assert.deepEqual(p.unavailable, []);
    assert.equal(p.N_after, 3);
  }
  // the same errors as the real init
  assert.throws(() => planInitChange(facts, parseInitBody({ N: 2, schema, shards, servers: { S0: ['sh9'] } })), /sh9/);
});

test('dry run of add: templates stay templates (random ids), existing shards copied with their rows', () => {
  const p = checked(planAddChange(facts, parseAddBody({ n: 2, new_shards: [{ Stud_id_low: 16384, Shard_id: 'sh5', Shard_size: 4096 }], servers: { Server9: ['sh1', 'sh5'], 'Server[5]': ['sh2', 'sh5'] } })));
  assert.deepEqual(p.spawn, [
    { server: 'Server9', random: false, shards: ['sh1', 'sh5'] },
    { server: 'Server[5]', random: true, shards: ['sh2', 'sh5'] },
  ]);
  assert.deepEqual(p.create, ['sh5']);
  assert.deepEqual(p.copy, [
    { shard: 'sh1', to: 'Server9', rows: 10, from: ['Server0', 'Server3', 'Server5'] },
    { shard: 'sh2', to: 'Server[5]', rows: 20, from: ['Server0', 'Server6'] },
  ]);
  assert.equal(p.rows_copied, 30);
  assert.deepEqual(p.replicas.sh2, { before: 3, after: 4, serving_before: 2, serving_after: 3 });
  assert.deepEqual(p.replicas.sh5, { before: 0, after: 2, serving_before: 0, serving_after: 2 });
  assert.deepEqual(p.stop, []);
  assert.equal(p.N_after, 8);
  assert.ok('Server[5]' in p.topology.servers);
  // a shard with rows and no serving replica cannot be copied: unavailable, and said so
  const dark = checked(planAddChange({ ...facts, serving: { ...facts.serving, sh4: [] } }, parseAddBody({ n: 1, servers: { Server9: ['sh4'] } })));
  assert.deepEqual(dark.unavailable, ['sh4']);
  assert.match(dark.notes.join(' '), /sh4 has no serving replica to copy from/);
  assert.throws(() => planAddChange(facts, parseAddBody({ n: 1, servers: { Server0: ['sh1'] } })), /already exists/);
  assert.throws(() => planAddChange({ rows: {}, serving: {} }, parseAddBody({ n: 1, servers: { S: ['sh1'] } })), /not configured/);
});

test('dry run of rm: named servers stopped, random picks shown as such, replicas left, unserved shards flagged', () => {
  const cases: [unknown, { stop: string[]; random: number; among?: string[]; servingAfter: Record<string, number>; min?: Record<string, number>; unavailable: string[]; lost: number }][] = [
    [{ n: 1, servers: ['Server0'] }, { stop: ['Server0'], random: 0, servingAfter: { sh1: 2, sh2: 1, sh3: 3, sh4: 2 }, unavailable: [], lost: 0 }],
    // Server6 is sh2's last serving replica once Server0 goes (Server4 is down): refused unless forced, and then flagged
    [{ n: 2, servers: ['Server0', 'Server6'], force: true }, { stop: ['Server0', 'Server6'], random: 0, servingAfter: { sh1: 2, sh2: 0, sh3: 2, sh4: 2 }, unavailable: ['sh2'], lost: 0 }],
    [
      { n: 2, servers: ['Server4'] },
      { stop: ['Server4'], random: 1, among: ['Server0', 'Server1', 'Server3', 'Server5', 'Server6'], servingAfter: { sh1: 3, sh2: 2, sh3: 3, sh4: 2 }, min: { sh1: 2, sh2: 1, sh3: 2, sh4: 1 }, unavailable: [], lost: 0 },
    ],
    [{ n: 3, servers: ['Server0', 'Server3', 'Server5'], force: true }, { stop: ['Server0', 'Server3', 'Server5'], random: 0, servingAfter: { sh1: 0, sh2: 1, sh3: 2, sh4: 1 }, unavailable: ['sh1'], lost: 10 }],
  ];
  for (const [body, want] of cases) {
    const p = checked(planRmChange(facts, parseRmBody(body)));
    const at = JSON.stringify(body);
    assert.deepEqual(p.stop, want.stop, at);
    assert.equal(p.random_stop?.count ?? 0, want.random, at);
    if (want.among) assert.deepEqual(p.random_stop?.among, want.among, at);
    assert.deepEqual(Object.fromEntries(Object.entries(p.replicas).map(([k, r]) => [k, r.serving_after])), want.servingAfter, at);
    if (want.min) assert.deepEqual(Object.fromEntries(Object.entries(p.replicas).map(([k, r]) => [k, r.serving_after_min])), want.min, at);
    assert.deepEqual(p.unavailable, want.unavailable, at);
    assert.equal(p.rows_lost, want.lost, at);
    assert.equal(p.N_after, 6 - (body as { n: number }).n, at);
  }
  // refused exactly when the real rm is refused
  assert.throws(() => planRmChange(facts, parseRmBody({ n: 3, servers: ['Server0', 'Server3', 'Server5'] })), /shard sh1 with no serving replica/);
  assert.throws(() => planRmChange(facts, parseRmBody({ n: 2, servers: ['Server0', 'Server6'] })), /shard sh2 with no serving replica/);
  assert.throws(() => planRmChange(facts, parseRmBody({ n: 1, servers: ['Nope'] })), /Nope is not in the cluster/);
});

test('rm judged by serving replicas: a fenced or recovering replica is no source', () => {
  // sh1 on Server0, Server3, Server5; only Server0 serves it
  const serving = { sh1: ['Server0'], sh2: ['Server0', 'Server4', 'Server6'], sh3: ['Server1', 'Server3', 'Server6'], sh4: ['Server1', 'Server4', 'Server5'] };
  assert.throws(() => planRm(base, parseRmBody({ n: 1, servers: ['Server0'] }), seq(0), serving), /shard sh1 with no serving replica/);
  // the non-serving ones can go: sh1 keeps Server0
  assert.deepEqual(planRm(base, parseRmBody({ n: 2, servers: ['Server3', 'Server5'] }), seq(0), serving).removed, ['Server3', 'Server5']);
  // random picks never take Server0 (the only serving replica of sh1)
  for (let i = 0; i < 5; i++) assert.ok(!planRm(base, parseRmBody({ n: 3, servers: [] }), seq(i), serving).removed.includes('Server0'));
  // a shard with no serving replica at all: none of its replicas may be removed (one may hold the last copy)
  const none = { ...serving, sh1: [] };
  assert.throws(() => planRm(base, parseRmBody({ n: 1, servers: ['Server3'] }), seq(0), none), /sh1 with no serving replica/);
  assert.throws(() => planRm(base, parseRmBody({ n: 5, servers: [] }), seq(0), none), /serving replica/);
});
