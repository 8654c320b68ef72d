/**
 * `shardctl chaos`: concurrent writers, updaters, deleters and readers for a while, faults of the chosen nemeses
 * (kill, pause, kill-primary, restart-all, lb: chaos-model.ts) on a seeded schedule, then everything read back and
 * audited against the model of what was acknowledged (chaos-model.ts).
 */
import { LbClient } from './driver.js';
import { ChaosModel, planFaults, primaryOrReplica, rowAt, type Fault, type Nemesis } from './chaos-model.js';
import { prng, pickKeys, keySpace } from './workload.js';
import { readAll, replicasIdentical, type Status } from './bench.js';

export interface ChaosOptions {
  url: string;
  durationMs: number;
  seed: number;
  killEveryMs: number;
  nemeses: Nemesis[];
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
  /** freezes a server (SIGSTOP / docker pause); resolves to what resumes it (false: it no longer runs) */
  pause: (server: string) => Promise<() => Promise<boolean>>;
  /** where every pause is recorded until resumed; its owner resumes them all on Ctrl-C too */
  paused: PausedSet;
  /** kills every server and the LB at once, then brings the cluster back as `shardctl up` does; resolves once the LB answers */
  restartAll: () => Promise<void>;
  log: (msg: string) => void;
}

/**
 * The cluster's status for the final audit. An LB that does not answer then (a restart-all that could not bring it
 * back, say) ends the run with what to do next instead of a bare connection error.
 */
export async function statusForAudit(client: Pick<LbClient, 'send'>, url: string): Promise<Status> {
  let r: { status: number; text: string };
  try {
    r = await client.send('GET', '/status');
  } catch (e) {
    throw new Error(`the LB at ${url} does not answer (${(e as Error).message}), so nothing could be audited: bring the cluster back with \`shardctl up\`, then check it with \`shardctl verify\``);
  }
  if (r.status !== 200) throw new Error(`the LB at ${url} answered ${r.status} to GET /status, so nothing could be audited: ${r.text.slice(0, 200)}; check it with \`shardctl status\` and \`shardctl verify\``);
  return JSON.parse(r.text) as Status;
}

/**
 * The servers chaos has paused and not resumed yet. Its one owner (the chaos command) resumes them all in a
 * finally and on Ctrl-C, so a run never leaves a server frozen whatever ends it.
 */
export class PausedSet {
  private readonly items = new Map<number, { server: string; resume: () => Promise<boolean> }>();
  private next = 0;

  get size(): number {
    return this.items.size;
  }

  /** Records a pause; the id is what `resume` takes. */
  add(server: string, resume: () => Promise<boolean>): number {
    this.items.set(++this.next, { server, resume });
    return this.next;
  }

  /** Resumes one pause (once: it leaves the set first); false when the server no longer ran. */
  async resume(id: number): Promise<boolean> {
    const it = this.items.get(id);
    if (!it) return false;
    this.items.delete(id);
    return it.resume();
  }

  /** Resumes every pause still recorded, each tried even if another fails; the names of those resumed. */
  async resumeAll(): Promise<string[]> {
    const out: string[] = [];
    const ids = [...this.items.keys()];
    await Promise.all(
      ids.map(async (id) => {
        const server = this.items.get(id)!.server;
        if (await this.resume(id).catch(() => false)) out.push(server);
      }),
    );
    return out;
  }
}

/**
 * The log line of a fault that could not be made. Most often the LB was not answering (it had just been killed,
 * or a restart-all was bringing it back), which a bare ECONNREFUSED does not say.
 */
export function faultNotMade(nemesis: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const lbDown = /ECONNREFUSED|ECONNRESET|socket hang up|fetch failed|UND_ERR_SOCKET|other side closed/i.test(msg);
  return `${nemesis} could not be made: ${msg}${lbDown ? ' (the LB was down or restarting; counted as not made, the run goes on)' : ''}`;
}

/** Per nemesis: faults planned, run, failed (tried, and the fault could not be made), skipped (the load had ended). */
export interface NemesisCount {
  nemesis: Nemesis;
  planned: number;
  ran: number;
  failed: number;
  skipped: number;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  nemeses: NemesisCount[];
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
  type ClusterView = { servers: { name: string; status: string }[]; shards: { Shard_id: string; serving: string[]; replicas: string[] }[] };
  const clusterView = async () => JSON.parse((await client.send('GET', '/cluster')).text) as ClusterView;
  const at = () => `${((now() - t0) / 1000).toFixed(1)}s`;
  /** `pick` in [0, 1) chooses one of `xs`; its remainder within that choice chooses again (a replica of a chosen shard) */
  const choose = <T>(xs: readonly T[], pick: number): [T, number] => {
    const i = Math.min(xs.length - 1, Math.floor(pick * xs.length));
    return [xs[i], pick * xs.length - i];
  };
  const serving = async () => (await clusterView()).servers.filter((x) => x.status === 'serving').map((x) => x.name).sort();
  let saidNoPrimaries = false;
  /** the primary of the shard `pick` chooses, from the LB's GET /primaries; a serving replica of it while the LB has none */
  const primaryVictim = async (pick: number): Promise<{ victim: string; note: string }> => {
    const view = await clusterView();
    const shards = view.shards.filter((x) => x.serving.length > 0).sort((x, y) => x.Shard_id.localeCompare(y.Shard_id));
    if (!shards.length) throw new Error('no shard has a serving replica');
    const [shard, rest] = choose(shards, pick);
    const victim = primaryOrReplica(shard.Shard_id, shard.serving, await client.send('GET', '/primaries'), rest);
    if (victim.role === 'primary') return { victim: victim.server, note: `primary of ${shard.Shard_id}` };
    if (!saidNoPrimaries) o.log('kill-primary: this LB has no primaries; killing a replica instead');
    saidNoPrimaries = true;
    return { victim: victim.server, note: `a replica of ${shard.Shard_id}; the LB has no primaries` };
  };
  /** pause: one serving server, or every replica of one shard; frozen for f.pauseMs, then resumed (also on a throw) */
  const pauseFault = async (f: Fault): Promise<string> => {
    let victims: string[];
    let what: string;
    if (f.wholeShard) {
      const shards = (await clusterView()).shards.filter((x) => x.replicas.length > 0).sort((x, y) => x.Shard_id.localeCompare(y.Shard_id));
      if (!shards.length) throw new Error('no shard to pause');
      const [shard] = choose(shards, f.pick);
      victims = [...shard.replicas].sort();
      what = `every replica of ${shard.Shard_id} (${victims.join(', ')})`;
    } else {
      const up = await serving();
      if (!up.length) throw new Error('no serving server to pause');
      victims = [choose(up, f.pick)[0]];
      what = victims[0];
    }
    const ids: number[] = [];
    try {
      for (const v of victims) {
        // recorded before the pause is made: a Ctrl-C while `docker pause` runs still resumes it once it is done
        const made = o.pause(v);
        ids.push(o.paused.add(v, () => made.then((resume) => resume(), () => false)));
        await made;
      }
      o.log(`${at()}: paused ${what} for ${((f.pauseMs ?? 0) / 1000).toFixed(1)} s`);
      await sleep(f.pauseMs ?? 0);
    } finally {
      const resumed = await Promise.all(ids.map((id) => o.paused.resume(id).catch(() => false)));
      o.log(`${at()}: resumed ${victims.filter((_, i) => resumed[i]).join(', ') || 'nothing (no longer running)'}`);
    }
    return victims.join('+');
  };
  /** makes one fault; the victim's name, or throws why it could not */
  const inject = async (f: Fault): Promise<{ victim: string; detail?: string }> => {
    switch (f.nemesis) {
      case 'lb':
        await o.crashLb();
        o.log(`${at()}: killed the LB`);
        if (o.restartLb) await o.restartLb();
        return { victim: 'lb' };
      case 'restart-all':
        o.log(`${at()}: killing every server and the LB at once, then bringing the cluster back`);
        await o.restartAll();
        o.log(`${at()}: the LB answers again after restart-all`);
        return { victim: 'all' };
      case 'pause':
        return { victim: await pauseFault(f) };
      case 'kill':
      case 'kill-primary': {
        let victim: string;
        let detail: string | undefined;
        if (f.nemesis === 'kill') {
          const up = await serving();
          if (!up.length) throw new Error('no serving server to kill');
          victim = choose(up, f.pick)[0];
        } else ({ victim, note: detail } = await primaryVictim(f.pick));
        await o.crashServer(victim);
        o.log(`${at()}: killed ${victim}${detail ? ` (${detail})` : ''}`);
        if (!o.overlap) await detected(victim, 10_000);
        return { victim, detail };
      }
    }
  };
  const faults = planFaults(o.durationMs, o.killEveryMs, o.nemeses, rnd);
  const done: ChaosReport['faults'] = [];
  const skipped: Fault[] = [];
  const injector = async () => {
    for (const f of faults) {
      const wait = t0 + f.atMs - now();
      if (wait > 0) await sleep(wait);
      if (!o.overlap) await healthy(60_000);
      // healing took the rest of the run: a fault now would no longer be under load
      if (now() >= end) {
        skipped.push(f);
        continue;
      }
      try {
        done.push({ ...f, ...(await inject(f)), ok: true });
      } catch (e) {
        o.log(`${at()}: ${faultNotMade(f.nemesis, e)}`);
        done.push({ ...f, victim: '?', ok: false, detail: (e as Error).message });
      }
    }
  };

  try {
    await Promise.all([
      injector(),
      ...Array.from({ length: o.writers }, writer),
      ...Array.from({ length: o.updaters }, (_, k) => updater(k)()),
      ...Array.from({ length: o.deleters }, (_, k) => deleter(k)()),
      ...Array.from({ length: o.readers }, (_, k) => reader(k)()),
    ]);
  } finally {
    // never leave a server frozen, whatever ended the run
    if (o.paused.size) o.log(`resumed ${(await o.paused.resumeAll()).join(', ') || 'nothing'} left paused`);
  }

  // let recovery finish, then audit
  o.log('load stopped; waiting for every server to serve again');
  if (!(await healthy(90_000))) o.log('the cluster did not become fully healthy within 90 s; auditing what is there');
  const finalStatus = await statusForAudit(client, o.url);
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
    nemeses: o.nemeses.map((n) => ({
      nemesis: n,
      planned: faults.filter((f) => f.nemesis === n).length,
      ran: done.filter((f) => f.nemesis === n && f.ok).length,
      failed: done.filter((f) => f.nemesis === n && !f.ok).length,
      skipped: skipped.filter((f) => f.nemesis === n).length,
    })),
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
