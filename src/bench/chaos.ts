/**
 * `shardctl chaos`: concurrent writers, updaters, deleters and readers for a while, servers (and with
 * --kill-lb the LB) killed on a seeded schedule, then everything read back and audited against the model of
 * what was acknowledged (chaos-model.ts).
 */
import { LbClient } from './driver.js';
import { ChaosModel, planFaults, rowAt, type Fault } from './chaos-model.js';
import { prng, pickKeys, keySpace } from './workload.js';
import { readAll, replicasIdentical, type Status } from './bench.js';

export interface ChaosOptions {
  url: string;
  durationMs: number;
  seed: number;
  killEveryMs: number;
  killLb: boolean;
  /** allow a fault while the cluster is still recovering from the last one (several replicas of a shard may die) */
  overlap: boolean;
  writers: number;
  updaters: number;
  deleters: number;
  readers: number;
  crashServer: (name: string) => Promise<void>;
  crashLb: () => Promise<void>;
  /** the process runtime has no supervisor: bring the LB back after a crash */
  restartLb?: () => Promise<void>;
  log: (msg: string) => void;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  faults: (Fault & { victim: string; ok: boolean; detail?: string })[];
  acknowledged: { writes: number; updates: number; deletes: number };
  indeterminate: number;
  reads: number;
  readsChecked: number;
  lostWrites: number;
  staleReads: number;
  staleAtEnd: number;
  deletesLost: number;
  neverWritten: number;
  replicasIdentical: boolean;
  rowsAtEnd: number;
  /** shards with no replica left at the end (their acknowledged rows count as lost) */
  unavailableShards: string[];
  examples: string[];
  passed: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const client = new LbClient(o.url, o.writers + o.updaters + o.deleters + o.readers + 4);
  const st = JSON.parse((await client.send('GET', '/status')).text) as Status;
  const existing = await readAll(client, st);
  const model = new ChaosModel();
  for (const [id, r] of existing) {
    // rows that were there before: known, but not ours to judge
    model.begin(id, true);
    model.end(id, 0, { ok: false });
    void r;
  }
  model.tally.indeterminate = 0;
  const rnd = prng(o.seed);
  const space = keySpace(st.shards);
  const keys = pickKeys(space, Math.min(space.length - existing.size, 200_000), o.seed, new Set(existing.keys()));
  let nextKey = 0;
  const t0 = Date.now();
  const end = t0 + o.durationMs;
  const now = () => Date.now();
  const call = async (method: 'POST' | 'PUT' | 'DELETE', path: string, body: string) => {
    try {
      const r = await client.send(method, path, body);
      return r.status;
    } catch (e) {
      // refused: the request never reached an LB (it was down), so nothing happened; otherwise indeterminate
      const code = (e as NodeJS.ErrnoException).code ?? (e as { cause?: NodeJS.ErrnoException }).cause?.code;
      return code === 'ECONNREFUSED' ? 499 : 0;
    }
  };
  const outcome = (status: number) => (status >= 400 && status < 500 ? { ok: false as const, refused: true } : { ok: false as const });

  const writer = async () => {
    while (now() < end && nextKey < keys.length) {
      const id = keys[nextKey++];
      model.begin(id, true);
      const s = await call('POST', '/write', JSON.stringify({ data: [rowAt(id, 0)] }));
      if (s === 200) model.tally.ackedWrites++;
      model.end(id, now(), s === 200 ? { ok: true, present: true, version: 0 } : outcome(s));
      if (s !== 200) await sleep(20);
    }
  };
  const pickSettled = (r: () => number) => {
    const c = model.settledPresent();
    return c.length ? c[Math.floor(r() * c.length)] : undefined;
  };
  const updater = (k: number) => async () => {
    const r = prng(o.seed * 31 + k);
    while (now() < end) {
      const id = pickSettled(r);
      if (id === undefined) {
        await sleep(10);
        continue;
      }
      const st0 = model.begin(id);
      const v = st0.version + 1;
      const s = await call('PUT', '/update', JSON.stringify({ Stud_id: id, data: rowAt(id, v) }));
      if (s === 200) model.tally.ackedUpdates++;
      model.end(id, now(), s === 200 ? { ok: true, present: true, version: v } : outcome(s));
      if (s !== 200) await sleep(20);
    }
  };
  const deleter = (k: number) => async () => {
    const r = prng(o.seed * 131 + k);
    while (now() < end) {
      await sleep(5);
      const id = pickSettled(r);
      if (id === undefined) continue;
      const st0 = model.begin(id);
      const s = await call('DELETE', '/del', JSON.stringify({ Stud_id: id }));
      if (s === 200) model.tally.ackedDeletes++;
      model.end(id, now(), s === 200 ? { ok: true, present: false, version: st0.version } : outcome(s));
      if (s !== 200) await sleep(20);
    }
  };
  const reader = (k: number) => async () => {
    const r = prng(o.seed * 7 + k);
    const lo = space[0];
    const width = Math.max(1, Math.min(200, space.length));
    while (now() < end) {
      const low = lo + Math.floor(r() * Math.max(1, space.length - width));
      const started = now();
      try {
        const res = await client.send('POST', '/read', `{"Stud_id":{"low":${low},"high":${low + width - 1}}}`);
        if (res.status === 200) model.checkRead(low, low + width - 1, started, (JSON.parse(res.text) as { data: Record<string, unknown>[] }).data);
        else await sleep(20);
      } catch {
        await sleep(20);
      }
    }
  };

  /** every server up and every replica serving (one failure at a time is what 3 replicas tolerate) */
  const healthy = async (maxMs: number) => {
    const until = now() + maxMs;
    while (now() < until) {
      try {
        const s = JSON.parse((await client.send('GET', '/cluster')).text) as { servers: { status: string }[]; shards: { serving: string[]; replicas: string[] }[] };
        if (s.servers.every((x) => x.status === 'serving') && s.shards.every((x) => x.serving.length === x.replicas.length)) return true;
      } catch {
        /* LB restarting */
      }
      await sleep(100);
    }
    return false;
  };
  /** until the LB has noticed the kill (the victim is no longer 'up'), so the next health check means something */
  const detected = async (victim: string, maxMs: number) => {
    const until = now() + maxMs;
    while (now() < until) {
      try {
        const s = JSON.parse((await client.send('GET', '/cluster')).text) as { servers: { name: string; status: string }[] };
        if (s.servers.find((x) => x.name === victim)?.status !== 'serving') return;
      } catch {
        /* LB restarting */
      }
      await sleep(50);
    }
  };
  const faults = planFaults(o.seed, o.durationMs, o.killEveryMs, o.killLb, rnd);
  const done: ChaosReport['faults'] = [];
  const injector = async () => {
    for (const f of faults) {
      const wait = t0 + f.atMs - now();
      if (wait > 0) await sleep(wait);
      if (!o.overlap) await healthy(60_000);
      if (f.target === 'lb') {
        try {
          await o.crashLb();
          o.log(`${((now() - t0) / 1000).toFixed(1)}s: killed the LB`);
          if (o.restartLb) await o.restartLb();
          done.push({ ...f, victim: 'lb', ok: true });
        } catch (e) {
          done.push({ ...f, victim: 'lb', ok: false, detail: (e as Error).message });
        }
        continue;
      }
      try {
        const s = JSON.parse((await client.send('GET', '/cluster')).text) as { servers: { name: string; status: string }[] };
        const up = s.servers.filter((x) => x.status === 'serving').map((x) => x.name).sort();
        if (!up.length) continue;
        const victim = up[Math.floor(f.pick * up.length)];
        await o.crashServer(victim);
        o.log(`${((now() - t0) / 1000).toFixed(1)}s: killed ${victim}`);
        done.push({ ...f, victim, ok: true });
        if (!o.overlap) await detected(victim, 10_000);
      } catch (e) {
        done.push({ ...f, victim: '?', ok: false, detail: (e as Error).message });
      }
    }
  };

  await Promise.all([
    injector(),
    ...Array.from({ length: o.writers }, writer),
    ...Array.from({ length: o.updaters }, (_, k) => updater(k)()),
    ...Array.from({ length: o.deleters }, (_, k) => deleter(k)()),
    ...Array.from({ length: o.readers }, (_, k) => reader(k)()),
  ]);

  // let recovery finish, then audit
  o.log('load stopped; waiting for every server to serve again');
  if (!(await healthy(90_000))) o.log('the cluster did not become fully healthy within 90 s; auditing what is there');
  const finalStatus = JSON.parse((await client.send('GET', '/status')).text) as Status;
  const unavailable: string[] = [];
  const all = await readAll(client, finalStatus, (shard, err) => {
    unavailable.push(shard);
    o.log(`shard ${shard} cannot be read: ${err}`);
  });
  const audit = model.audit(all);
  const identical = await replicasIdentical(client, finalStatus);
  await client.close();
  const t = model.tally;
  const report: ChaosReport = {
    seed: o.seed,
    durationMs: o.durationMs,
    faults: done,
    acknowledged: { writes: t.ackedWrites, updates: t.ackedUpdates, deletes: t.ackedDeletes },
    indeterminate: t.indeterminate,
    reads: t.reads,
    readsChecked: t.readsChecked,
    lostWrites: audit.lost,
    staleReads: t.staleReads,
    staleAtEnd: audit.stale + audit.deletesLost,
    deletesLost: audit.deletesLost,
    neverWritten: audit.neverWritten,
    replicasIdentical: identical,
    rowsAtEnd: all.size,
    unavailableShards: unavailable,
    examples: [...t.staleExamples, ...audit.examples],
    passed: false,
  };
  report.passed = report.lostWrites === 0 && report.staleReads === 0 && report.staleAtEnd === 0 && report.neverWritten === 0 && identical;
  return report;
}
