/**
 * `shardctl bench`: seeded workload (workload.ts) → driver (driver.ts) → report (report.ts). Every read result
 * is checked against what was written; a wrong or missing row counts as an error, not as speed.
 */
import { cpus, hostname, platform, release, totalmem } from 'node:os';
import { execa } from 'execa';
import cliProgress from 'cli-progress';
import type { ShardDef } from '../core/shard-map.js';
import { LbClient, runPhase, type OpOutcome, type PhaseResult } from './driver.js';
import { benchRow, checkRead, KeyIndex, keySpace, pickKeys, pickRanges, type BenchRow } from './workload.js';
import type { MachineInfo, RecoveryResult, RunResult } from './report.js';

export interface BenchOptions {
  writes: number;
  reads: number;
  batch: number;
  readWidth: number;
  concurrency: number;
  durationMs?: number;
  seed: number;
  progress: boolean;
  /** unmeasured operations first (JIT warm-up of the LB and servers), as the stand-in's driver does */
  warmup: number;
}

export interface Status {
  N: number;
  schema: { columns: string[] } | null;
  shards: ShardDef[];
  servers: Record<string, string[]>;
}

export function replicasPerShard(st: Status): number {
  const c = new Map<string, number>();
  for (const l of Object.values(st.servers)) for (const s of l) c.set(s, (c.get(s) ?? 0) + 1);
  return Math.max(0, ...c.values());
}

export async function machineInfo(): Promise<MachineInfo> {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${platform()} ${release()}`,
    hostname: hostname(),
  };
}

export async function gitCommit(cwd: string): Promise<string> {
  const r = await execa('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, reject: false });
  return r.exitCode === 0 ? String(r.stdout).trim() : 'unknown';
}

function bar(enabled: boolean, label: string, total: number) {
  if (!enabled) return undefined;
  const b = new cliProgress.SingleBar(
    { format: `${label.padEnd(22)} [{bar}] {percentage}% {value}/{total} ops  {rate} ops/s`, stream: process.stderr, hideCursor: true, clearOnComplete: false, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  b.start(total, 0, { rate: 0 });
  const t0 = Date.now();
  return {
    update: (n: number) => b.update(n, { rate: Math.round(n / Math.max(0.001, (Date.now() - t0) / 1000)) }),
    stop: () => b.stop(),
  };
}

/** Every row the cluster holds now (so the workload can avoid those keys and reads can expect them). */
export async function readAll(
  client: LbClient,
  st: Status,
  onUnreadable?: (shard: string, err: string) => void,
): Promise<Map<number, Record<string, unknown>>> {
  const out = new Map<number, Record<string, unknown>>();
  for (const s of st.shards) {
    const r = await client.send('POST', '/read', JSON.stringify({ [st.schema!.columns[0]]: { low: s.Stud_id_low, high: s.Stud_id_low + s.Shard_size - 1 } }));
    if (r.status !== 200 && onUnreadable) {
      onUnreadable(s.Shard_id, `HTTP ${r.status} ${r.text.slice(0, 200)}`);
      continue;
    }
    if (r.status !== 200) throw new Error(`reading shard ${s.Shard_id} failed: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    for (const row of (JSON.parse(r.text) as { data: Record<string, unknown>[] }).data) out.set(row.Stud_id as number, row);
  }
  return out;
}

/** A write of `batch` rows per op from `keys`; rows that land go to `written` when given. */
function writeOp(client: LbClient, keys: readonly number[], batch: number, written?: Map<number, BenchRow>) {
  return async (i: number): Promise<OpOutcome> => {
    const rows = keys.slice(i * batch, (i + 1) * batch).map((k) => benchRow(k));
    const r = await client.send('POST', '/write', JSON.stringify({ data: rows }));
    if (r.status !== 200) return { error: `http ${r.status}`, detail: r.text };
    if (written) for (const row of rows) written.set(row.Stud_id, row);
    return { rows: rows.length };
  };
}

/** A read of range i; checked against `expect` (keys and rows that must come back) when given. */
function readOp(
  client: LbClient,
  keyCol: string,
  ranges: readonly { low: number; high: number }[],
  expect?: { index: KeyIndex; rows: ReadonlyMap<number, Record<string, unknown>> },
) {
  return async (i: number): Promise<OpOutcome> => {
    const { low, high } = ranges[i];
    const r = await client.send('POST', '/read', `{"${keyCol}":{"low":${low},"high":${high}}}`);
    if (r.status !== 200) return { error: `http ${r.status}`, detail: r.text };
    if (!expect) return { rows: 0 };
    // checked after the timed loop: the harness's parsing must not count as the system's time
    return {
      verify: () => {
        const data = (JSON.parse(r.text) as { data: Record<string, unknown>[] }).data;
        const bad = checkRead(data, expect.index.between(low, high), (id) => expect.rows.get(id));
        if (bad) return { error: 'wrong result', detail: `[${low}, ${high}]: ${bad}` };
        return { rows: data.length };
      },
    };
  };
}

/** One write phase and one read phase against the cluster as it is configured now. */
export async function runWorkload(url: string, st: Status, o: BenchOptions, label: string): Promise<RunResult> {
  const client = new LbClient(url, o.concurrency);
  const keyCol = st.schema!.columns[0];
  try {
    const space = keySpace(st.shards);
    if (o.warmup > 0) {
      // unmeasured, unchecked; the warm-up rows stay and count as existing rows below
      const before = await readAll(client, st);
      const n = Math.min(o.warmup, Math.max(0, space.length - before.size - o.writes * o.batch));
      const wkeys = pickKeys(space, n, o.seed ^ 0x5eed, new Set(before.keys()));
      const wranges = pickRanges(space, o.warmup, o.readWidth, o.seed ^ 0x5eed);
      await runPhase({ name: 'warm-up writes', concurrency: o.concurrency, total: n, op: writeOp(client, wkeys, 1) });
      await runPhase({ name: 'warm-up reads', concurrency: o.concurrency, total: wranges.length, op: readOp(client, keyCol, wranges) });
    }
    const existing = await readAll(client, st);
    const wanted = o.durationMs ? Math.min(space.length - existing.size, Math.max(o.writes, 1) * o.batch) : o.writes * o.batch;
    const keys = pickKeys(space, wanted, o.seed, new Set(existing.keys()));
    const written = new Map<number, BenchRow>();
    const phases: PhaseResult[] = [];
    const nWriteOps = Math.ceil(keys.length / o.batch);
    if (nWriteOps > 0) {
      const b = bar(o.progress, `${label} writes`, nWriteOps);
      phases.push(
        await runPhase({
          name: o.batch > 1 ? `write x${o.batch}` : 'write',
          concurrency: o.concurrency,
          total: nWriteOps,
          durationMs: o.durationMs,
          onProgress: b?.update,
          op: writeOp(client, keys, o.batch, written),
        }),
      );
      b?.stop();
    }
    if (o.reads > 0) {
      const rows = new Map<number, Record<string, unknown>>([...existing, ...written]);
      const ranges = pickRanges(space, o.durationMs ? Math.max(o.reads, 1_000_000) : o.reads, o.readWidth, o.seed);
      const b = bar(o.progress, `${label} reads`, o.durationMs ? ranges.length : o.reads);
      phases.push(
        await runPhase({
          name: `read w${o.readWidth}`,
          concurrency: o.concurrency,
          total: ranges.length,
          durationMs: o.durationMs,
          onProgress: b?.update,
          op: readOp(client, keyCol, ranges, { index: new KeyIndex(rows.keys()), rows }),
        }),
      );
      b?.stop();
    }
    return {
      label,
      config: { N: st.N, shards: st.shards.length, replicasPerShard: replicasPerShard(st) },
      phases,
    };
  } finally {
    await client.close();
  }
}

export interface RecoveryDeps {
  url: string;
  crash: (server: string) => Promise<void>;
  progress: (msg: string) => void;
}

/** kill a server holding `rows` rows; time until detected and until its replacement serves every row. */
export async function runRecovery(d: RecoveryDeps, st: Status, server: string, label = 'A-4'): Promise<RecoveryResult> {
  const client = new LbClient(d.url, 4);
  try {
    const before = await readAll(client, st);
    const expected = new Map<string, number>();
    for (const sh of st.servers[server] ?? []) {
      const def = st.shards.find((s) => s.Shard_id === sh)!;
      expected.set(sh, [...before.keys()].filter((k) => k >= def.Stud_id_low && k < def.Stud_id_low + def.Shard_size).length);
    }
    const events0 = JSON.parse((await client.send('GET', '/events')).text) as { incidents: unknown[] };
    const n0 = events0.incidents.length;
    const t0 = Date.now();
    await d.crash(server);
    d.progress(`killed ${server}; waiting for the LB to detect it and for the replacement to serve every row`);
    let detectedAt = 0;
    let servingAt = 0;
    let inc: { timeToDetectMs: number; rowsCopied: number; outcome: string } | undefined;
    const deadline = t0 + 120_000;
    while (Date.now() < deadline) {
      const ev = JSON.parse((await client.send('GET', '/events')).text) as { incidents: { server: string; timeToDetectMs: number; rowsCopied: number; outcome: string }[] };
      inc = ev.incidents.slice(n0).find((i) => i.server === server);
      if (inc && !detectedAt) detectedAt = Date.now();
      if (inc?.outcome === 'serving') {
        const r = await client.send('GET', `/read/${server}`);
        if (r.status === 200) {
          const b = JSON.parse(r.text) as Record<string, unknown[]>;
          if ([...expected].every(([sh, n]) => Array.isArray(b[sh]) && b[sh].length === n)) {
            servingAt = Date.now();
            break;
          }
        }
      }
      if (inc?.outcome === 'dropped') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const after = await readAll(client, st);
    return {
      label,
      server,
      rows: before.size,
      killToDetectedMs: detectedAt ? detectedAt - t0 : -1,
      timeToDetectMs: inc?.timeToDetectMs ?? -1,
      killToServingMs: servingAt ? servingAt - t0 : -1,
      rowsCopied: inc?.rowsCopied ?? 0,
      replicasIdentical: await replicasIdentical(client, st),
      rowsAfter: after.size,
    };
  } finally {
    await client.close();
  }
}

/** Every replica of every shard holds the same rows (compared through GET /read/{server}). */
export async function replicasIdentical(client: LbClient, st: Status): Promise<boolean> {
  const seen = new Map<string, string>();
  for (const [srv, shards] of Object.entries(st.servers)) {
    const r = await client.send('GET', `/read/${srv}`);
    if (r.status !== 200) return false;
    const b = JSON.parse(r.text) as Record<string, unknown>;
    for (const sh of shards) {
      const j = JSON.stringify(b[sh]);
      if (seen.has(sh) && seen.get(sh) !== j) return false;
      seen.set(sh, j);
    }
  }
  return true;
}
