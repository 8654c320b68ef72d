import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChaosModel, MAX_FAULTS, NEMESES, PAUSE_MAX_MS, PAUSE_MIN_MS, parseNemeses, planFaults, primaryOrReplica, rowAt } from './chaos-model.js';
import { prng } from './workload.js';

test('reads: settled keys are checked, in-flight and indeterminate ones are not', () => {
  const m = new ChaosModel();
  m.begin(1, true);
  m.end(1, 10, { ok: true, present: true, version: 0 });
  m.begin(2, true);
  m.end(2, 10, { ok: false }); // indeterminate
  m.begin(3, true); // still in flight
  m.checkRead(0, 5, 20, [rowAt(1, 0)]);
  assert.equal(m.tally.staleReads, 0);
  m.checkRead(0, 5, 20, []);
  assert.equal(m.tally.staleReads, 1, 'an acknowledged row missing is stale');
  m.checkRead(0, 5, 5, []);
  assert.equal(m.tally.staleReads, 1, 'a read that began before the ack proves nothing');
  m.begin(1);
  m.end(1, 30, { ok: true, present: true, version: 1 });
  m.checkRead(0, 5, 40, [rowAt(1, 0)]);
  assert.equal(m.tally.staleReads, 2, 'an older version after an acknowledged update is stale');
  m.begin(1);
  m.end(1, 50, { ok: true, present: false, version: 1 });
  m.checkRead(0, 5, 60, [rowAt(1, 1)]);
  assert.equal(m.tally.staleReads, 3, 'a deleted row still shown is stale');
  assert.equal(m.tally.indeterminate, 1);
});

test('audit: lost, stale, resurrected and never-written rows', () => {
  const m = new ChaosModel();
  for (const id of [1, 2, 3, 4]) {
    m.begin(id, true);
    m.end(id, 1, { ok: true, present: true, version: 0 });
  }
  m.begin(2);
  m.end(2, 2, { ok: true, present: true, version: 3 });
  m.begin(3);
  m.end(3, 2, { ok: true, present: false, version: 0 });
  m.begin(5, true);
  m.end(5, 2, { ok: false, refused: true });
  const all = new Map<number, Record<string, unknown>>([
    [2, rowAt(2, 1)],
    [3, rowAt(3, 0)],
    [4, rowAt(4, 0)],
    [99, rowAt(99, 0)],
  ]);
  const a = m.audit(all);
  assert.equal(a.lost, 1); // 1
  assert.equal(a.stale, 1); // 2
  assert.equal(a.deletesLost, 1); // 3
  assert.equal(a.neverWritten, 1); // 99
  assert.deepEqual(m.audit(new Map([[2, rowAt(2, 3)], [1, rowAt(1, 0)], [4, rowAt(4, 0)]])), { lost: 0, stale: 0, deletesLost: 0, neverWritten: 0, examples: [] });
});

test('planFaults: same seed, same schedule; every nemesis once per round; inside [1 s, 80 %] of the run', () => {
  const all = [...NEMESES];
  const a = planFaults(60_000, 2000, all, prng(7));
  assert.deepEqual(planFaults(60_000, 2000, all, prng(7)), a, 'seeded: the same faults again');
  assert.notDeepEqual(planFaults(60_000, 2000, all, prng(8)), a, 'another seed, another schedule');
  assert.ok(a.length >= 15, `${a.length} faults`);
  for (let r = 0; r + all.length <= a.length; r += all.length)
    assert.deepEqual(a.slice(r, r + all.length).map((f) => f.nemesis).sort(), [...all].sort(), `round ${r / all.length} holds each nemesis once`);
  for (const [i, f] of a.entries()) {
    assert.ok(f.atMs >= 1000 && f.atMs < 48_000, `fault at ${f.atMs}`);
    if (i) assert.ok(f.atMs - a[i - 1].atMs >= 1500 && f.atMs - a[i - 1].atMs <= 2500, 'every 2 s ± a quarter');
    assert.ok(f.pick >= 0 && f.pick < 1);
    if (f.nemesis === 'pause') assert.ok(f.pauseMs! >= PAUSE_MIN_MS && f.pauseMs! <= PAUSE_MAX_MS && typeof f.wholeShard === 'boolean');
    else assert.equal(f.pauseMs, undefined);
  }
});

test('planFaults: pauses take a whole shard about one time in three; the count stays bounded', () => {
  const pauses = planFaults(3_600_000, 500, ['pause'], prng(3));
  assert.equal(pauses.length, MAX_FAULTS, 'capped');
  const whole = pauses.filter((f) => f.wholeShard).length / pauses.length;
  assert.ok(whole > 0.25 && whole < 0.42, `whole-shard share ${whole}`);
  assert.ok(pauses.some((f) => f.pauseMs! < 2000) && pauses.some((f) => f.pauseMs! > 5000), 'durations spread over 1-6 s');
  assert.deepEqual(planFaults(2000, 2000, ['kill'], prng(1)), [], 'a run too short for a fault gets none');
  assert.deepEqual(planFaults(60_000, 2000, [], prng(1)), []);
  assert.ok(planFaults(10_000, 2000, ['kill'], prng(1)).every((f) => f.nemesis === 'kill'));
});

test('parseNemeses: the list, --kill-lb as an alias of lb, bad names refused (table)', () => {
  const cases: [string | undefined, boolean, string[] | RegExp][] = [
    [undefined, false, ['kill']],
    [undefined, true, ['kill', 'lb']],
    ['pause,kill,restart-all,lb', false, ['pause', 'kill', 'restart-all', 'lb']],
    [' Pause , kill-primary ', false, ['pause', 'kill-primary']],
    ['kill,lb', true, ['kill', 'lb']],
    ['pause', true, ['pause', 'lb']],
    ['kill,kill', false, ['kill']],
    ['stop', false, /no nemesis stop; choose from kill, pause, kill-primary, restart-all, lb/],
    ['', false, /at least one/],
    [',', false, /at least one/],
  ];
  for (const [list, killLb, want] of cases) {
    const r = parseNemeses(list, killLb);
    if (Array.isArray(want)) assert.deepEqual(r, { nemeses: want }, `${list} ${killLb}`);
    else assert.match('error' in r ? r.error : '', want, `${list}`);
  }
});

test('primaryOrReplica: the primary GET /primaries names; a replica chosen by pick when it answers 404; else refused (table)', () => {
  const ok = (b: unknown) => ({ status: 200, text: JSON.stringify(b) });
  const none = { status: 404, text: '{"message":"<Error> not found","status":"failure"}' };
  const reps = ['Server5', 'Server0', 'Server3'];
  const cases: [{ status: number; text: string }, number, { server: string; role: string } | RegExp][] = [
    [ok({ primaries: { sh1: 'Server3', sh2: 'Server1' } }), 0.9, { server: 'Server3', role: 'primary' }],
    [none, 0, { server: 'Server0', role: 'replica' }],
    [none, 0.5, { server: 'Server3', role: 'replica' }],
    [none, 0.99, { server: 'Server5', role: 'replica' }],
    [ok({ primaries: { sh1: null } }), 0, /names no primary for sh1/],
    [ok({}), 0, /names no primary for sh1/],
    [{ status: 503, text: 'busy' }, 0, /answered 503/],
  ];
  for (const [answer, pick, want] of cases) {
    if (want instanceof RegExp) assert.throws(() => primaryOrReplica('sh1', reps, answer, pick), want);
    else assert.deepEqual(primaryOrReplica('sh1', reps, answer, pick), want, `${answer.status} ${pick}`);
  }
  assert.throws(() => primaryOrReplica('sh1', [], none), /no replica/);
});
