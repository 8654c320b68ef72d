/**
 * The shard servers' side of replication with real processes (REPLICATION.md): three server processes on
 * loopback with data dirs, driven with fetch as the LB's shard manager drives them (vote, promote, writes with a
 * term, reads with minIndex). Faults are real: SIGSTOP/SIGCONT and SIGKILL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/cli.js';
import { startServer, type ServerProc } from '../helpers/server-process.js';

const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
const row = (id: number) => ({ Stud_id: id, Stud_name: `S${id}`, Stud_marks: id % 100 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const NAMES = ['S0', 'S1', 'S2'];

interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  ms: number;
}

async function req(url: string, method: string, path: string, body?: unknown, timeoutMs = 8000): Promise<Answer> {
  const t0 = Date.now();
  try {
    const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, ms: Date.now() - t0 };
  } catch (e) {
    return { status: 0, body: String(e), ms: Date.now() - t0 };
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

class Cluster {
  readonly servers: Record<string, ServerProc> = {};
  readonly ports: Record<string, number> = {};
  readonly dirs: Record<string, string> = {};
  term = 0;
  primary = '';
  constructor(private readonly env: Record<string, string>) {}

  async start(name: string): Promise<ServerProc> {
    this.ports[name] ??= await freePort();
    this.dirs[name] ??= mkdtempSync(join(tmpdir(), `shardctl-repl-${name}-`));
    const s = await startServer(name, this.ports[name], this.dirs[name], this.env);
    this.servers[name] = s;
    return s;
  }

  url(name: string): string {
    return `http://127.0.0.1:${this.ports[name]}`;
  }

  get addresses(): Record<string, string> {
    return Object.fromEntries(NAMES.map((n) => [n, this.url(n)]));
  }

  async state(name: string, timeoutMs = 1000): Promise<any | undefined> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await req(this.url(name), 'GET', '/state', undefined, timeoutMs);
    return r.status === 200 ? r.body : undefined;
  }

  /**
   * What the LB's shard manager does: ask every live voter for its log, pick the most up-to-date one by
   * (last term, last index), vote in a new term, promote the winner.
   */
  async elect(live: string[]): Promise<{ primary: string; commitIndex: number }> {
    const reports: Record<string, { lastIndex: number; lastTerm: number; store: string; term: number }> = {};
    for (const n of live) {
      const st = await this.state(n);
      assert.ok(st, `${n} answers /state`);
      const sh = st.shards.sh1;
      reports[n] = { lastIndex: sh.last_index, lastTerm: sh.last_term, store: st.store, term: sh.term };
    }
    const candidate = live.reduce((a, b) => (reports[b].lastTerm > reports[a].lastTerm || (reports[b].lastTerm === reports[a].lastTerm && reports[b].lastIndex > reports[a].lastIndex) ? b : a));
    this.term = Math.max(this.term, ...Object.values(reports).map((r) => r.term)) + 1;
    const c = reports[candidate];
    let granted = 0;
    for (const n of live) {
      const v = await req(this.url(n), 'POST', '/repl/vote', { shard: 'sh1', term: this.term, candidate, lastIndex: c.lastIndex, lastTerm: c.lastTerm });
      assert.equal(v.status, 200, JSON.stringify(v.body));
      if (v.body.granted) granted++;
    }
    assert.ok(granted >= 2, `${candidate} won term ${this.term} (${granted} votes)`);
    const p = await req(this.url(candidate), 'POST', '/repl/promote', {
      shard: 'sh1',
      term: this.term,
      replicas: NAMES,
      voters: NAMES,
      addresses: this.addresses,
      reported: Object.fromEntries(Object.entries(reports).map(([n, r]) => [n, { lastIndex: r.lastIndex, store: r.store }])),
    });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.equal(p.body.term, this.term);
    this.primary = candidate;
    return { primary: candidate, commitIndex: p.body.commitIndex };
  }

  write(name: string, id: number, timeoutMs = 8000): Promise<Answer> {
    return req(this.url(name), 'POST', '/write', { shard: 'sh1', term: this.term, data: [row(id)] }, timeoutMs);
  }

  async ids(name: string, minIndex?: number): Promise<number[] | undefined> {
    const r = await req(this.url(name), 'POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 100_000 }, ...(minIndex === undefined ? {} : { minIndex }) }, 2000);
    return r.status === 200 ? (r.body.data as { Stud_id: number }[]).map((x) => x.Stud_id) : undefined;
  }

  signal(name: string, sig: NodeJS.Signals): void {
    process.kill(this.servers[name].child.pid!, sig);
  }

  async stopAll(): Promise<void> {
    await Promise.all(Object.values(this.servers).map((s) => s.kill('SIGKILL')));
  }
}

async function configure(c: Cluster): Promise<void> {
  for (const n of NAMES) {
    await c.start(n);
    assert.equal((await req(c.url(n), 'POST', '/config', { schema, shards: ['sh1'] })).status, 200);
  }
}

const sorted = (s: Iterable<number>) => [...s].sort((a, b) => a - b);

test('majority commit, SIGSTOP, kill -9 and election of the most up-to-date, rejoin cuts the uncommitted tail, a paused old primary completes nothing', async (t) => {
  const c = new Cluster({ SHARDCTL_COMMIT_TIMEOUT_MS: '1500' });
  t.after(() => c.stopAll());
  await configure(c);
  const acked = new Set<number>();
  let ackedIndex = 0;
  const ack = (id: number, r: Answer) => {
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(typeof r.body.index, 'number');
    assert.ok(r.body.commitIndex >= r.body.index);
    acked.add(id);
    ackedIndex = Math.max(ackedIndex, r.body.index);
  };

  // term 1: S0 elected (all logs empty: the tie goes to the first)
  const e1 = await c.elect(NAMES);
  assert.equal(e1.primary, 'S0');
  assert.equal(e1.commitIndex, 1, 'the no-op of term 1 is committed');
  for (let id = 1; id <= 20; id++) ack(id, await c.write('S0', id));
  // a write with another term is refused, naming the term and the primary
  const wrongTerm = await req(c.url('S0'), 'POST', '/write', { shard: 'sh1', term: 7, data: [row(999)] });
  assert.equal(wrongTerm.status, 409);
  assert.equal(wrongTerm.body.code, 'NOT_PRIMARY');
  assert.equal(wrongTerm.body.term, 1);
  assert.equal(wrongTerm.body.primary, 'S0');
  // a replica is refused as primary too
  assert.equal((await c.write('S1', 999)).status, 409);
  // replicas apply what is committed (commit notices), reads with minIndex see every acknowledged row
  for (const n of ['S1', 'S2']) assert.deepEqual(await until(`${n} readable at ${ackedIndex}`, () => c.ids(n, ackedIndex)), sorted(acked));

  // both replicas paused: a write is logged but cannot commit: 503 indeterminate within the deadline, not visible
  c.signal('S1', 'SIGSTOP');
  c.signal('S2', 'SIGSTOP');
  const stuck = await c.write('S0', 100);
  assert.equal(stuck.status, 503, JSON.stringify(stuck.body));
  assert.equal(stuck.body.code, 'INDETERMINATE');
  assert.equal(stuck.body.outcome, 'indeterminate');
  assert.ok(stuck.ms < 1500 + 1000, `answered within the deadline (${stuck.ms} ms)`);
  const stuckIndex: number = stuck.body.index;
  assert.ok(!(await c.ids('S0'))!.includes(100), 'an uncommitted write is not visible on the primary');
  // once the primary knows the replicas do not answer, a write is refused before it is logged
  const refused = await until('NO_MAJORITY', async () => {
    const r = await c.write('S0', 101);
    return r.status === 503 && r.body.code === 'NO_MAJORITY' ? r : false;
  });
  assert.equal(refused.body.outcome, 'refused');
  c.signal('S1', 'SIGCONT');
  c.signal('S2', 'SIGCONT');
  // resumed: the logged write commits after all (it was indeterminate, not failed)
  const seen = await until('the indeterminate write commits', () => c.ids('S0', stuckIndex));
  assert.ok(seen.includes(100));
  assert.ok(!seen.includes(101), 'the refused write was never logged');
  acked.add(100);
  ackedIndex = stuckIndex;
  for (let id = 21; id <= 30; id++) ack(id, await c.write('S0', id));

  // kill -9 the primary; an election among the survivors picks the most up-to-date; nothing acknowledged is lost
  await c.servers.S0.kill('SIGKILL');
  const e2 = await c.elect(['S1', 'S2']);
  assert.ok(e2.commitIndex > ackedIndex, 'the new primary committed its no-op after every acknowledged entry');
  for (const n of ['S1', 'S2']) assert.deepEqual(await until(`${n} readable`, () => c.ids(n, e2.commitIndex)), sorted(acked));
  for (let id = 31; id <= 40; id++) ack(id, await c.write(e2.primary, id));

  // an uncommitted tail on the old primary: both others paused, a write logged on S0 only, then S0 and the
  // paused ones killed (they never read the append), the survivors restarted on their data and one elected
  await c.start('S0');
  await until('S0 caught up', async () => (await c.state('S0'))?.shards.sh1.commit_index >= ackedIndex);
  // an election with every log equal: the first (S0) wins term 3
  await until('S0 has every entry', async () => {
    const [a, b] = [await c.state('S0'), await c.state(e2.primary)];
    return a && b && a.shards.sh1.last_index === b.shards.sh1.last_index;
  });
  const e3 = await c.elect(['S0', 'S1', 'S2']);
  const p3 = e3.primary;
  const rest = NAMES.filter((n) => n !== p3);
  for (let id = 41; id <= 45; id++) ack(id, await c.write(p3, id));
  for (const n of rest) c.signal(n, 'SIGSTOP');
  const tail = await c.write(p3, 200);
  assert.equal(tail.status, 503, JSON.stringify(tail.body));
  const tailIndex: number = tail.body.index;
  await c.servers[p3].kill('SIGKILL');
  for (const n of rest) await c.servers[n].kill('SIGKILL');
  for (const n of rest) await c.start(n);
  const e4 = await c.elect(rest);
  assert.ok(rest.includes(e4.primary));
  for (let id = 46; id <= 50; id++) ack(id, await c.write(e4.primary, id));
  const before = await c.state(p3);
  assert.equal(before, undefined, 'the old primary is down');
  await c.start(p3);
  const rejoined = await until('the old primary rejoined and was cut', async () => {
    const st = await c.state(p3);
    return st && st.shards.sh1.last_term === c.term && st.shards.sh1.commit_index >= ackedIndex ? st : false;
  });
  assert.equal(rejoined.shards.sh1.role, 'replica');
  for (const n of NAMES) {
    const ids = await until(`${n} readable at ${ackedIndex}`, () => c.ids(n, ackedIndex));
    assert.deepEqual(ids, sorted(acked), `${n} holds exactly the acknowledged rows`);
    assert.ok(!ids.includes(200), `the uncommitted tail (entry ${tailIndex}) was cut, never visible on ${n}`);
  }

  // a paused primary, resumed after another was elected: completes no write and steps down
  const old = e4.primary;
  c.signal(old, 'SIGSTOP');
  const late = c.write(old, 300, 10_000); // buffered in its socket while it is paused
  const others = NAMES.filter((n) => n !== old);
  const e5 = await c.elect(others);
  c.signal(old, 'SIGCONT');
  const lateAnswer = await late;
  assert.ok(lateAnswer.status === 409 || (lateAnswer.status === 503 && lateAnswer.body.outcome === 'indeterminate'), `the deposed primary completed nothing: ${JSON.stringify(lateAnswer.body)}`);
  await until('the old primary stepped down', async () => (await c.state(old))?.shards.sh1.role === 'replica');
  assert.equal((await req(c.url(old), 'POST', '/write', { shard: 'sh1', term: c.term - 1, data: [row(301)] })).status, 409);
  for (let id = 51; id <= 55; id++) ack(id, await c.write(e5.primary, id));
  for (const n of NAMES) {
    const ids = await until(`${n} readable at ${ackedIndex}`, () => c.ids(n, ackedIndex));
    assert.deepEqual(ids, sorted(acked), `${n} after the paused primary came back`);
  }
});

test('a replica far behind after compaction is caught up by a copy', async (t) => {
  const c = new Cluster({ SHARDCTL_SNAPSHOT_BYTES: '4096', SHARDCTL_KEEP_BEHIND: '5' });
  t.after(() => c.stopAll());
  await configure(c);
  const e = await c.elect(NAMES);
  const lag = NAMES.find((n) => n !== e.primary)!;
  const acked = new Set<number>();
  let last = 0;
  for (let id = 1; id <= 10; id++) {
    const r = await c.write(e.primary, id);
    assert.equal(r.status, 200);
    acked.add(id);
  }
  c.signal(lag, 'SIGSTOP');
  for (let id = 11; id <= 150; id++) {
    const r = await c.write(e.primary, id);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    acked.add(id);
    last = r.body.index;
  }
  const ps = (await c.state(e.primary)).shards.sh1;
  assert.ok(ps.snapshot_index > 12, `the primary compacted past the paused replica (snapshot at ${ps.snapshot_index})`);
  c.signal(lag, 'SIGCONT');
  const ids = await until('the lagging replica caught up', () => c.ids(lag, last), 20_000);
  assert.deepEqual(ids, sorted(acked));
  const ls = (await c.state(lag)).shards.sh1;
  assert.ok(ls.snapshot_index > 12, `it was caught up by a copy (its snapshot is at ${ls.snapshot_index})`);
  // and it keeps up by the log afterwards
  const r = await c.write(e.primary, 151);
  assert.equal(r.status, 200);
  assert.ok((await until('the next entry', () => c.ids(lag, r.body.index))).includes(151));
});

test('a replica recreated after the primary took office (rows of assignment 2 on it) is caught up; it votes again only past its floor', async (t) => {
  const c = new Cluster({});
  t.after(() => c.stopAll());
  await configure(c);
  // S2 holds a row written without primaries: it refuses replication calls until recreated
  assert.equal((await req(c.url('S2'), 'POST', '/write', { shard: 'sh1', data: [row(9999)] })).status, 200);
  const e = await c.elect(['S0', 'S1']);
  assert.equal(e.primary, 'S0');
  const acked: number[] = [];
  let last = 0;
  for (let id = 1; id <= 20; id++) {
    const r = await c.write('S0', id);
    assert.equal(r.status, 200);
    acked.push(id);
    last = r.body.index;
  }
  await sleep(300); // S0 keeps calling S2 and is refused meanwhile
  const floor = (await c.state('S0')).shards.sh1.commit_index;
  const rc = await req(c.url('S2'), 'POST', '/repl/recreate', { shard: 'sh1', term: c.term, floor });
  assert.equal(rc.status, 200, JSON.stringify(rc.body));
  // recreated, below its floor: it does not vote
  const early = (await c.state('S2')).shards.sh1;
  if (early.commit_index < floor) {
    assert.equal(early.resyncing, true);
    const v = await req(c.url('S2'), 'POST', '/repl/vote', { shard: 'sh1', term: c.term, candidate: 'S1', lastIndex: 100, lastTerm: c.term });
    assert.equal(v.body.granted, false);
  }
  assert.deepEqual(await until('S2 caught up after its recreation', () => c.ids('S2', last)), acked, 'the old row is gone, every acknowledged one is there');
  assert.equal((await c.state('S2')).shards.sh1.resyncing, false);
});

test('a replica whose log contradicts a committed entry answers LOG_VIOLATION, stops serving, and is resynced by a forced copy', async (t) => {
  const c = new Cluster({});
  t.after(() => c.stopAll());
  await configure(c);
  // S2 is made to hold a committed entry 1 of term 1 from a primary "X" that never was (a broken log)
  const bogus = await req(c.url('S2'), 'POST', '/repl/append', { shard: 'sh1', term: 1, leader: 'X', prevIndex: 0, prevTerm: 0, entries: [{ index: 1, term: 1, op: { op: 'write', rows: [[4242, 'bogus', 1]] } }], leaderCommit: 1 });
  assert.equal(bogus.status, 200);
  assert.deepEqual(await c.ids('S2'), [4242]);
  // S0 is elected in term 2 by S0 and S1; its no-op at index 1 (term 2) contradicts S2's committed entry 1
  c.term = 1;
  const e = await c.elect(['S0', 'S1']);
  assert.equal(e.primary, 'S0');
  const acked: number[] = [];
  let last = 0;
  for (let id = 1; id <= 10; id++) {
    const r = await c.write('S0', id);
    assert.equal(r.status, 200);
    acked.push(id);
    last = r.body.index;
  }
  // the violation is reported (a read with minIndex on S2 is refused meanwhile, never answered from the broken log)
  const st = await until('S2 resynced', async () => {
    const s = (await c.state('S2'))?.shards.sh1;
    return s && !s.violation && s.commit_index >= last ? s : false;
  });
  assert.equal(st.resyncing, false);
  assert.deepEqual(await until('S2 readable', () => c.ids('S2', last)), acked, 'the bogus row is gone, the acknowledged ones are there');
  const r = await c.write('S0', 11);
  assert.equal(r.status, 200);
  assert.ok((await until('S2 keeps up by the log', () => c.ids('S2', r.body.index))).includes(11));
});
