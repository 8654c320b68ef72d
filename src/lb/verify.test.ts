import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareReplicas, summarise, type ReplicaProbe } from './verify.js';

const d = (digest: string, count: number) => ({ digest, count });
const up = (server: string, digest?: string, count = 3): ReplicaProbe => (digest ? { server, serving: true, digest: d(digest, count) } : { server, serving: true, error: 'ECONNREFUSED' });
const down = (server: string): ReplicaProbe => ({ server, serving: false });

test('compareReplicas: the verdict of each replica and of the shard', () => {
  const cases: [string, number | null, ReplicaProbe[], string[], boolean, RegExp?][] = [
    ['all agree', 3, [up('A', 'x'), up('B', 'x'), up('C', 'x')], ['agree', 'agree', 'agree'], true],
    ['one differs: the majority is the reference', 3, [up('A', 'x'), up('B', 'y', 4), up('C', 'x')], ['agree', 'differs', 'agree'], false, /B differs from A, C/],
    ['a tie: the group matching the LB index wins', 3, [up('A', 'y', 4), up('B', 'x')], ['differs', 'agree'], false, /A differs from B/],
    ['unreachable', 3, [up('A', 'x'), up('B')], ['agree', 'unreachable'], false, /B did not answer/],
    ['not serving: not compared', 3, [up('A', 'x'), down('B')], ['agree', 'not-serving'], true],
    ['no serving replica', 0, [down('A'), down('B')], ['not-serving', 'not-serving'], false, /no serving replica/],
    ['agree but not with the LB index', 5, [up('A', 'x'), up('B', 'x')], ['agree', 'agree'], false, /LB's key index has 5/],
    ['an empty shard', 0, [up('A', 'e', 0), up('B', 'e', 0)], ['agree', 'agree'], true],
    ['the LB index unknown (after a restart): replicas compared with each other only', null, [up('A', 'x'), up('B', 'x')], ['agree', 'agree'], true],
  ];
  for (const [name, lbRows, probes, verdicts, ok, problem] of cases) {
    const c = compareReplicas('sh1', lbRows, probes);
    assert.deepEqual(c.replicas.map((r) => r.verdict), verdicts, name);
    assert.equal(c.ok, ok, name);
    if (problem) assert.match(c.problem ?? '', problem, name);
    else assert.equal(c.problem, undefined, name);
  }
});

test('summarise: ok only when every shard is; bad names the shard and the servers at fault', () => {
  const good = compareReplicas('sh1', 3, [up('A', 'x'), up('B', 'x')]);
  const bad = compareReplicas('sh2', 3, [up('A', 'x'), up('C', 'z', 9), up('D', 'x')]);
  assert.deepEqual(summarise([good]), { ok: true, shards: [good], bad: [] });
  assert.deepEqual(summarise([good, bad]).bad, [{ shard: 'sh2', servers: ['C'] }]);
  assert.equal(summarise([good, bad]).ok, false);
});
