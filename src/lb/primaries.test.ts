/**
 * The shard manager (lb/primaries.ts) against fake shard servers that answer by core/replog.ts's rules
 * (fake-repl.ts): who it elects, what it saves before asking for votes, how fast a shard without a primary
 * refuses, and what a 409 or a fenced primary leads to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyLog, type LogEntry, type LogState } from '../core/replog.js';
import { ShardMap } from '../core/shard-map.js';
import { createLogger } from '../shared/log.js';
import { Mutex } from '../shared/mutex.js';
import type { ServerRuntime } from '../runtime/runtime.js';
import { Coalescer } from './coalescer.js';
import { Topo, type LbContext } from './context.js';
import { EventLog } from './events.js';
import { FakeReplServers } from './fake-repl.js';
import { MetaStore } from './metadata.js';
import { Primaries } from './primaries.js';
import { PrimaryWrites } from './primary-writes.js';
import { ServerTable } from './servers.js';
import { resolveSettings } from './settings.js';
import { Shard } from './shard.js';

const SCHEMA = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] as ('Number' | 'String')[] };
const row = (id: number) => ({ Stud_id: id, Stud_name: `S${id}`, Stud_marks: '1' });

/** A log of `terms.length` entries, entry i of term terms[i]; committed up to `commit` (default all). */
function logOf(terms: number[], commit = terms.length): LogState<null> {
  const entries: LogEntry<null>[] = terms.map((t, i) => ({ index: i + 1, term: t, op: null }));
  return { ...emptyLog<null>(), currentTerm: Math.max(0, ...terms), entries, commitIndex: commit };
}

async function world(servers = ['Server0', 'Server1', 'Server2'], shards = ['sh1']) {
  const fake = new FakeReplServers();
  const meta = await MetaStore.open();
  const s = resolveSettings({ heartbeat: { intervalMs: 500, timeoutMs: 200, misses: 3 } });
  const c: LbContext = {
    s,
    log: createLogger('primaries-test'),
    runtime: {} as ServerRuntime,
    client: new Coalescer(fake),
    events: new EventLog(),
    meta,
    now: Date.now,
    rand: (n) => Math.floor(Math.random() * n),
    topo: new Topo(),
    servers: new ServerTable(Date.now),
    membership: new Mutex(),
    inflight: 0,
    closed: false,
    uncommitted: new Set(),
  };
  const pm = new Primaries(c);
  const fault: string[] = [];
  const writes = new PrimaryWrites(c, pm, (name, why) => {
    fault.push(`${name}: ${why}`);
    pm.fenced(name, why);
  });
  c.topo.schema = SCHEMA;
  c.topo.map = new ShardMap(shards.map((id, i) => ({ Stud_id_low: i * 4096, Shard_id: id, Shard_size: 4096 })));
  for (const d of c.topo.map.shards) {
    const sh = new Shard(d, 'Stud_id', { applyBatch: writes.applyBatch, load: () => 0, lingerAt: 8, lingerMs: 1, maxBatchRows: 5000, ring: {} });
    sh.replicas = [...servers];
    c.topo.shards.set(d.Shard_id, sh);
  }
  for (const name of servers) {
    await fake.config(name, SCHEMA, shards);
    const e = c.servers.add(name, shards, 'serving');
    e.url = `http://127.0.0.1:1/${name}`;
    for (const id of shards) c.topo.shard(id)!.addReady(name);
  }
  return { fake, meta, c, pm, writes, fault, sh: (id = 'sh1') => c.topo.shard(id)! };
}

test('the election picks the most up-to-date log by (last term, last index), at a term above every one seen', async () => {
  const w = await world();
  w.fake.set('Server0', 'sh1', logOf([1, 1, 1, 1, 1])); // longest, but of an older term
  w.fake.set('Server1', 'sh1', logOf([1, 2, 2], 2));
  w.fake.set('Server2', 'sh1', logOf([1, 1]));
  assert.equal(await w.pm.elect(w.sh(), 'test'), true);
  assert.deepEqual(w.pm.view(), { primaries: { sh1: 'Server1' }, terms: { sh1: 3 } });
  // acked is the new primary's commit position after its no-op committed: every earlier entry included
  assert.equal(w.sh().lead.acked, 4);
  assert.deepEqual(w.meta.load()!.primaries, { sh1: 'Server1' });
  assert.deepEqual(w.meta.load()!.terms, { sh1: 3 });
  // the loser's uncommitted tail of term 1 was replaced by the new primary's log
  assert.deepEqual(w.fake.log('Server0', 'sh1').entries.map((e) => e.term), [1, 2, 2, 3]);
});

test('the new term is saved to the metadata before any vote is asked', async () => {
  const w = await world();
  const seen: number[] = [];
  w.fake.onVote = (_server, b) => seen.push(w.meta.load()!.terms.sh1 - b.term);
  w.sh().lead.term = 6; // recorded by an earlier LB: never reused, though every server reports less
  assert.equal(await w.pm.elect(w.sh(), 'test'), true);
  assert.equal(w.sh().lead.term, 7);
  assert.deepEqual(seen, [0, 0, 0], 'the term voted in was on disk at every vote');
  const first = w.fake.calls.findIndex((x) => x.startsWith('vote'));
  assert.ok(w.fake.calls.slice(0, first).every((x) => x.startsWith('state')), w.fake.calls.join('\n'));
});

test('no majority answering: a write gets 503 NO_PRIMARY saying why within the deadline; nothing is logged', async () => {
  const w = await world();
  w.fake.paused.add('Server1');
  w.fake.down.add('Server2');
  const t0 = Date.now();
  await assert.rejects(w.sh().write([row(1)], [1]), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'NO_PRIMARY');
    assert.match(e.message, /refused: no primary for sh1 \(.*1 of its 3 replicas answered \(Server0\), 2 are needed/);
    return true;
  });
  const took = Date.now() - t0;
  assert.ok(took < 1500, `answered in ${took} ms`);
  // a second write within the heartbeat interval does not wait for another election
  const t1 = Date.now();
  await assert.rejects(w.sh().write([row(2)], [2]), /NO_PRIMARY|no primary/);
  assert.ok(Date.now() - t1 < 100);
  assert.ok(!w.fake.calls.some((x) => x.startsWith('write') || x.startsWith('vote')), w.fake.calls.join('\n'));
  // back: the heartbeat tick elects by itself and writes go through
  w.fake.paused.delete('Server1');
  w.pm.tick();
  await w.sh().run(async () => undefined);
  assert.equal(w.pm.view().primaries.sh1 !== undefined, true);
  await w.sh().write([row(3)], [3]);
  assert.deepEqual(w.fake.rows(w.pm.view().primaries.sh1, 'sh1'), [row(3)]);
});

test('a 409 NOT_PRIMARY from the recorded primary leads to a new election and the write lands on the new primary', async () => {
  const w = await world();
  assert.equal(await w.pm.elect(w.sh(), 'test'), true);
  const first = w.pm.view().primaries.sh1;
  await w.sh().write([row(1)], [1]);
  // another election behind this LB's back (an LB that ran before, say): the recorded primary is deposed
  const other = ['Server0', 'Server1', 'Server2'].find((s) => s !== first)!;
  const l = w.fake.log(other, 'sh1');
  const term = l.currentTerm + 1;
  for (const v of ['Server0', 'Server1', 'Server2']) await w.fake.vote(v, { shard: 'sh1', term, candidate: other, lastIndex: l.entries.length, lastTerm: l.entries.at(-1)!.term }, 100);
  await w.fake.promote(other, { shard: 'sh1', term, replicas: [], voters: ['Server0', 'Server1', 'Server2'], addresses: {}, reported: {} }, 100);
  await w.sh().write([row(2)], [2]);
  const now = w.pm.view();
  assert.ok(now.terms.sh1 > term, `elected again above ${term}: ${now.terms.sh1}`);
  assert.deepEqual(w.fake.rows(now.primaries.sh1, 'sh1'), [row(1), row(2)]);
  assert.ok(w.fake.calls.some((x) => x === `write ${first} sh1 t1`));
});

test('a primary that does not answer: the write is 503 INDETERMINATE, the primary fenced, the next write elects', async () => {
  const w = await world();
  assert.equal(await w.pm.elect(w.sh(), 'test'), true);
  const first = w.pm.view().primaries.sh1;
  w.fake.down.add(first);
  await assert.rejects(w.sh().write([row(1)], [1]), (e: Error & { code?: string }) => e.code === 'INDETERMINATE' && /may or may not have committed/.test(e.message));
  assert.equal(w.fault.length, 1);
  await w.sh().write([row(2)], [2]);
  const now = w.pm.view().primaries.sh1;
  assert.notEqual(now, first);
  assert.deepEqual(w.fake.rows(now, 'sh1'), [row(2)]);
});

test('primaries of /init are spread: no server leads two shards while another leads none', async () => {
  const w = await world(['Server0', 'Server1', 'Server2'], ['sh1', 'sh2', 'sh3']);
  const plan = w.pm.placement();
  for (const id of ['sh1', 'sh2', 'sh3']) assert.equal(await w.pm.elect(w.sh(id), 'init', { prefer: plan[id] }), true);
  const leaders = Object.values(w.pm.view().primaries).sort();
  assert.deepEqual(leaders, ['Server0', 'Server1', 'Server2']);
  assert.deepEqual(w.pm.view().terms, { sh1: 1, sh2: 1, sh3: 1 });
});

test('shards electing at once (a restart of the whole cluster) spread their primaries instead of all taking the first voter', async () => {
  const w = await world(['Server0', 'Server1', 'Server2'], ['sh1', 'sh2', 'sh3']);
  // equally up-to-date everywhere, no primary recorded, all three elections in flight together
  const won = await Promise.all(['sh1', 'sh2', 'sh3'].map((id) => w.pm.elect(w.sh(id), 'resume: no primary recorded')));
  assert.deepEqual(won, [true, true, true]);
  assert.deepEqual(Object.values(w.pm.view().primaries).sort(), ['Server0', 'Server1', 'Server2']);
  // one shard elects again (its primary lost): it goes to a server leading nothing when its log allows
  const w4 = await world(['Server0', 'Server1', 'Server2', 'Server3'], ['sh1', 'sh2', 'sh3']);
  assert.deepEqual(await Promise.all(['sh1', 'sh2', 'sh3'].map((id) => w4.pm.elect(w4.sh(id), 'resume'))), [true, true, true]);
  const first = w4.pm.view().primaries;
  assert.equal(new Set(Object.values(first)).size, 3, JSON.stringify(first));
  w4.pm.lost(w4.sh('sh2'), first.sh2, 'test');
  assert.equal(await w4.pm.elect(w4.sh('sh2'), 'retry'), true);
  const after = w4.pm.view().primaries;
  assert.equal(new Set(Object.values(after)).size, 3, `no server leads two shards while one leads none: ${JSON.stringify(after)}`);
});

/** Three servers, three shards all led by Server0, a clock the test moves (at 1,000,000) and a 10 s quiet time. */
async function gathered() {
  const w = await world(['Server0', 'Server1', 'Server2'], ['sh1', 'sh2', 'sh3']);
  const clock = { t: 1_000_000 };
  (w.c as { now: () => number }).now = () => clock.t;
  w.c.s.rebalanceQuietMs = 10_000;
  for (const id of ['sh1', 'sh2', 'sh3']) assert.equal(await w.pm.elect(w.sh(id), 'test', { prefer: 'Server0' }), true);
  /** every shard's executor has run what was queued in it (a move, a write) */
  const settle = async () => {
    for (const id of ['sh1', 'sh2', 'sh3']) await w.sh(id).run(async () => undefined);
  };
  return { w, clock, settle };
}

test('rebalance: after the cluster was whole and quiet, primaries gathered on one server move apart one at a time; a write meanwhile waits and lands', async () => {
  const { w, clock, settle } = await gathered();
  assert.deepEqual(Object.values(w.pm.view().primaries), ['Server0', 'Server0', 'Server0']);
  await w.sh('sh1').write([row(1)], [1]);
  w.pm.tick(); // whole from now on
  clock.t += 9_000;
  w.pm.tick();
  await settle();
  assert.deepEqual(Object.values(w.pm.view().primaries), ['Server0', 'Server0', 'Server0'], 'not before it was quiet that long');
  clock.t += 1_000;
  w.pm.tick(); // the move starts: sh1's election queued in its executor
  const write = w.sh('sh1').write([row(2)], [2]); // queued behind it: it must land on sh1's new primary
  w.pm.tick(); // at most one move at a time
  await write;
  await settle();
  const one = w.pm.view();
  assert.equal(one.primaries.sh1, 'Server1');
  assert.deepEqual([one.primaries.sh2, one.primaries.sh3], ['Server0', 'Server0']);
  assert.ok(one.terms.sh1 > 1 && one.terms.sh2 === 1);
  assert.ok(w.c.events.list().some((e) => e.kind === 'elected' && /rebalance/.test(e.detail ?? '')));
  assert.equal(w.sh('sh1').lead.acked, w.fake.log('Server1', 'sh1').entries.length, 'the write after the move was acknowledged by the new primary');
  clock.t += 5_000;
  w.pm.tick();
  await settle();
  assert.equal(w.pm.view().primaries.sh2, 'Server0', 'a second move waits out the quiet time too');
  clock.t += 5_000;
  w.pm.tick();
  await settle();
  assert.equal(w.pm.view().primaries.sh2, 'Server0', 'counted from when the cluster was whole again after the move (its election made it not whole)');
  clock.t += 5_000;
  w.pm.tick();
  await settle();
  assert.deepEqual(Object.values(w.pm.view().primaries).sort(), ['Server0', 'Server1', 'Server2']);
  // both rows are on every replica's log of sh1 (no acknowledged write lost across the move)
  for (const s of ['Server0', 'Server1', 'Server2']) {
    const rows = w.fake.log(s, 'sh1').entries.flatMap((e) => ((e.op as { rows?: { Stud_id: number }[] } | null)?.rows ?? []).map((r) => r.Stud_id));
    assert.deepEqual(rows, [1, 2], s);
  }
});

test('rebalance: nothing moves while a server is not serving or a shard has no primary', async () => {
  const { w, clock, settle } = await gathered();
  w.c.servers.get('Server2')!.status = 'fenced';
  for (let i = 0; i < 5; i++) {
    w.pm.tick();
    clock.t += 10_000;
  }
  w.c.servers.get('Server2')!.status = 'serving';
  w.pm.tick(); // whole again: the quiet time starts over
  clock.t += 9_999;
  w.pm.tick();
  await settle();
  assert.deepEqual(Object.values(w.pm.view().primaries), ['Server0', 'Server0', 'Server0']);
  w.c.s.rebalanceQuietMs = 0; // 0: never
  clock.t += 60_000;
  w.pm.tick();
  await settle();
  assert.deepEqual(Object.values(w.pm.view().primaries), ['Server0', 'Server0', 'Server0']);
});

test('rebalance: an election that runs between two ticks (an operator, a fault) starts the quiet time over', async () => {
  const { w, clock, settle } = await gathered();
  w.pm.tick(); // whole from now on
  clock.t += 9_900;
  await w.pm.electNow(['sh3']); // done before the next tick (it moves sh3 to a server leading none)
  const after = w.pm.view().primaries;
  assert.equal(Object.values(after).filter((p) => p === 'Server0').length, 2);
  clock.t += 100;
  w.pm.tick();
  await settle();
  assert.deepEqual(w.pm.view().primaries, after, 'no move 100 ms after an election');
  clock.t += 10_000;
  w.pm.tick();
  await settle();
  assert.deepEqual(Object.values(w.pm.view().primaries).sort(), ['Server0', 'Server1', 'Server2'], 'one move once it was quiet that long');
});

/** A world whose sh1 elected a primary and acknowledged one write (row 1). */
async function writtenOnce() {
  const w = await world();
  assert.equal(await w.pm.elect(w.sh(), 'test'), true);
  await w.sh().write([row(1)], [1]);
  return w;
}

/** A new LB over `w`'s servers that knows only what resume.ts loads from the metadata: sh1's primary and `term`. */
async function restartedFrom(w: Awaited<ReturnType<typeof world>>, term = w.pm.view().terms.sh1) {
  const again = await world();
  for (const [k, v] of w.fake.logs) again.fake.logs.set(k, v);
  again.sh().lead.primary = w.pm.view().primaries.sh1;
  again.sh().lead.term = term;
  return again;
}

test('LB restart: the recorded primary still leading the recorded term is adopted (no votes); any other answer elects above it', async () => {
  const w = await writtenOnce();
  const { primaries, terms } = w.pm.view();
  // a new LB: what it loaded from the metadata, nothing else
  const again = await restartedFrom(w);
  assert.equal(await again.sh().run(() => again.pm.resumeLocked(again.sh())), true);
  assert.deepEqual(again.pm.view(), { primaries, terms });
  assert.equal(again.sh().lead.acked, 2, 'acked = the primary commit position (its no-op, then the write)');
  assert.ok(!again.fake.calls.some((x) => x.startsWith('vote')), again.fake.calls.join('\n'));
  assert.ok(again.c.events.list().some((e) => e.kind === 'primary-adopted'));
  // recorded term behind what the primary leads (another LB elected meanwhile): elect, above every term seen
  const third = await restartedFrom(w, terms.sh1 - 1 || 0);
  assert.equal(await third.sh().run(() => third.pm.resumeLocked(third.sh())), true);
  assert.ok(third.pm.view().terms.sh1 > terms.sh1);
  assert.ok(third.fake.calls.some((x) => x.startsWith('vote')));
});

test('a voter answering with another store than recorded (its volume is gone) neither stands nor counts toward the majority', async () => {
  const w = await world();
  assert.equal(await w.pm.elect(w.sh(), 'test'), true);
  await w.sh().write([row(1)], [1]);
  w.sh().known.add(1);
  for (const e of w.c.servers.list()) e.storeId = `store-${e.name}`;
  const p = w.pm.view().primaries.sh1;
  const [a, b] = ['Server0', 'Server1', 'Server2'].filter((s) => s !== p);
  // the primary dies; `a` comes back empty on a new volume: an empty log would win nothing, but its vote would let
  // a stale candidate through; it must not count
  w.fake.down.add(p);
  w.fake.stores.set(a, 'store-new');
  w.fake.set(a, 'sh1', (await import('../core/replog.js')).emptyLog());
  w.pm.lost(w.sh(), p, 'test');
  w.fake.paused.add(b);
  assert.equal(await w.sh().run(() => w.pm.electLocked(w.sh(), 'test')), false);
  assert.match(w.sh().lead.reason!, /0 of its 3 replicas answered/);
  w.fake.paused.delete(b);
  assert.equal(await w.sh().run(() => w.pm.electLocked(w.sh(), 'test')), false, `${b} and ${a} (lost) are not a majority`);
  assert.match(w.sh().lead.reason!, new RegExp(`1 of its 3 replicas answered \\(${b}\\)`));
});

test('a promote answered 503 INDETERMINATE (in office, no-op not committed yet) is asked again at the same term', async () => {
  const w = await world();
  w.fake.slowPromotes = 1;
  assert.equal(await w.pm.elect(w.sh(), 'test'), true);
  const promotes = w.fake.calls.filter((x) => x.startsWith('promote'));
  assert.equal(promotes.length, 2);
  assert.equal(promotes[0], promotes[1], 'the same server and term');
  assert.equal(w.pm.view().terms.sh1, 1);
  // twice slow: the election gives up with the reason; the next one goes a term higher
  const v = await world();
  v.fake.slowPromotes = 2;
  assert.equal(await v.pm.elect(v.sh(), 'test'), false);
  assert.match(v.sh().lead.reason!, /won term 1 but did not take office: .*not committed yet/);
  assert.equal(await v.pm.elect(v.sh(), 'test'), true);
  assert.equal(v.pm.view().terms.sh1, 2);
});

test('after an LB restart a shard is not read until its primary is adopted or elected (acked unknown: a lagging replica could miss acknowledged writes)', async () => {
  const w = await writtenOnce();
  const again = await restartedFrom(w);
  // what resume.ts loads: the recorded primary and term, acked not known yet
  again.sh().lead.ackedUnknown = true;
  await assert.rejects(again.writes.read(again.sh(), 'Stud_id', 0, 10, 1), (e: Error & { code?: string }) => e.code === 'NO_PRIMARY' && /cannot be read yet/.test(e.message));
  assert.equal(await again.sh().run(() => again.pm.resumeLocked(again.sh())), true);
  assert.equal(again.sh().lead.ackedUnknown, undefined);
  assert.equal(again.sh().lead.acked, 2);
  assert.match(await again.writes.read(again.sh(), 'Stud_id', 0, 10, 1), /"Stud_id":1/);
});

/** review2-s8: the fake reports, for a primary, each voter's match as its appends would (lb/voter-change.ts awaitHeld reads it). */
function withProgress(w: Awaited<ReturnType<typeof world>>, servers: string[]) {
  const state = w.fake.state.bind(w.fake);
  w.fake.state = async (server, ms) => {
    const r = await state(server, ms);
    for (const [id, s] of Object.entries(r.shards))
      if (s.role === 'primary') (s as { progress?: unknown }).progress = Object.fromEntries(servers.map((v) => [v, { match: w.fake.log(v, id).entries.length, next: 0, reachable: true }]));
    return r;
  };
}

test('rebalance during /rm: no primary is moved onto the server /rm is removing (it just handed its primaries over)', async () => {
  const servers = ['Server0', 'Server1', 'Server2'];
  const w = await world(servers, ['sh1', 'sh2', 'sh3']);
  let t = 1_000_000;
  (w.c as { now: () => number }).now = () => t;
  w.c.s.rebalanceQuietMs = 10_000;
  withProgress(w, servers);
  const prefer = { sh1: 'Server0', sh2: 'Server1', sh3: 'Server2' } as Record<string, string>;
  for (const id of ['sh1', 'sh2', 'sh3']) assert.equal(await w.pm.elect(w.sh(id), 'test', { prefer: prefer[id] }), true);
  for (const [i, id] of ['sh1', 'sh2', 'sh3'].entries()) await w.sh(id).write([row(i * 4096 + 1)], [i * 4096 + 1]);
  const settle = async () => {
    for (const id of ['sh1', 'sh2', 'sh3']) await w.sh(id).run(async () => undefined);
  };
  w.pm.tick(); // whole from now on; spread, so nothing to move
  t += 10_000;
  w.pm.tick();
  await settle();
  assert.deepEqual(w.pm.view().primaries, prefer);
  const { VoterChange } = await import('./voter-change.js');
  const vc = new VoterChange(w.c, w.pm);
  const elected = () => w.c.events.list().filter((e) => e.kind === 'elected').length;
  const before = elected();
  await w.c.membership.run(async () => {
    await vc.preflight(['Server0']); // sh1's primary handed over: Server0 votes, may not stand
    assert.notEqual(w.pm.view().primaries.sh1, 'Server0');
    t += 500;
    w.pm.tick(); // a heartbeat tick while /rm is still at work
    await settle();
    assert.ok(!Object.values(w.pm.view().primaries).includes('Server0'), `a primary moved onto the server being removed: ${JSON.stringify(w.pm.view().primaries)}`);
    await vc.detach('Server0', ['Server0'], false, []);
  });
  assert.equal(elected() - before, 1, 'one handover, no move back and second handover');
});

test('rebalance: a target that has not applied every acknowledged change within the wait is not elected over (no needless forced election)', async () => {
  const w = await world(['Server0', 'Server1', 'Server2'], ['sh1', 'sh2', 'sh3']);
  const base = Date.now();
  let t = 1_000_000;
  (w.c as { now: () => number }).now = () => t + (Date.now() - base);
  w.c.s.rebalanceQuietMs = 10_000;
  for (const id of ['sh1', 'sh2', 'sh3']) assert.equal(await w.pm.elect(w.sh(id), 'test', { prefer: 'Server0' }), true);
  // Server1 and Server2 stop taking appends (alive, answering /state and reads, still ready to the LB: slow disks)
  w.fake.paused.add('Server1');
  w.fake.paused.add('Server2');
  const lagging = { ...w.fake.log('Server1', 'sh1') };
  await w.sh('sh1').write([row(1)], [1]).catch(() => undefined);
  w.fake.paused.delete('Server1');
  w.fake.paused.delete('Server2');
  // Server0 got the write alone; give it to Server2 too, so it is acknowledged (on a majority), Server1 lags
  w.fake.set('Server2', 'sh1', { ...w.fake.log('Server0', 'sh1'), leader: 'Server0' });
  w.fake.set('Server1', 'sh1', lagging);
  w.pm.acked(w.sh('sh1'), w.fake.log('Server0', 'sh1').entries.length, 1);
  const term = w.pm.view().terms.sh1;
  w.pm.tick();
  t += 10_000;
  w.pm.tick(); // the move: sh1 from Server0 to Server1 (the first least loaded ready voter)
  await w.sh('sh1').run(async () => undefined);
  const votes = w.fake.calls.filter((c) => c.startsWith('vote') && / t[0-9]+ for /.test(c) && c.includes('sh1') && !c.endsWith(`t${term} for Server0`));
  assert.equal(w.pm.view().terms.sh1, term, `a forced election ran although the target never caught up: ${votes.join('; ')}`);
});

test('spreadChoice never prefers a more loaded server over an equally up-to-date one leading fewer shards (it made work for the rebalance)', async () => {
  // loads Server0: 2 (sh2, sh3), Server2: 1 (sh4), Server1: 0; sh1 elects among three equally up-to-date voters
  const w = await world(['Server2', 'Server1', 'Server0'], ['sh1', 'sh2', 'sh3', 'sh4']);
  for (const [id, p] of [['sh2', 'Server0'], ['sh3', 'Server0'], ['sh4', 'Server2']]) assert.equal(await w.pm.elect(w.sh(id), 'test', { prefer: p }), true);
  assert.equal(await w.pm.elect(w.sh('sh1'), 'retry'), true);
  assert.equal(w.pm.view().primaries.sh1, 'Server1', `loads after: ${JSON.stringify(w.pm.view().primaries)}`);
});
