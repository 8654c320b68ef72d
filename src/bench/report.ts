/**
 * The benchmark report: tables for the terminal, report.md, an SVG chart, and ratios against an earlier run.
 * Pure: everything comes in as data.
 */
import type { PhaseResult } from './driver.js';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  hostname: string;
}

export interface RunResult {
  label: string;
  config: { N: number; shards: number; replicasPerShard: number };
  phases: PhaseResult[];
}

export interface RecoveryResult {
  label: string;
  server: string;
  rows: number;
  killToDetectedMs: number;
  timeToDetectMs: number;
  killToServingMs: number;
  rowsCopied: number;
  replicasIdentical: boolean;
  rowsAfter: number;
}

/** A shard's primary (or, with no primaries, a replica) killed under steady writes (bench --analysis, after A-4). */
export interface PrimaryKillResult {
  label: string;
  shard: string;
  server: string;
  /** replica: the LB has no GET /primaries, so a replica of the shard was killed instead */
  role: 'primary' | 'replica';
  ratePerSec: number;
  /** writes of that shard acknowledged (before and after the kill) */
  writesAcked: number;
  /** writes of that shard that failed (5xx, broken connection) */
  writesFailed: number;
  /** writes of that shard sent after the kill and before it accepted writes again */
  writesUntilWritable: number;
  /** kill → the first 200 for a key of that shard among writes sent after the kill; -1 when none came */
  killToWritableMs: number;
  /** acknowledged writes of that shard not readable once the cluster recovered (must be 0) */
  rowsLost: number;
  replicasIdentical: boolean;
}

export interface BenchResults {
  tool: string;
  version: string;
  startedAt: string;
  machine: MachineInfo;
  runtime: string;
  commit: string;
  url: string;
  options: Record<string, unknown>;
  runs: RunResult[];
  recovery: RecoveryResult[];
  /** absent in results written before the primary-kill measurement existed */
  failover?: PrimaryKillResult[];
}

export const FAILOVER_HEAD = ['run', 'shard', 'killed', 'writes/s', 'kill → writable', 'writes acked', 'failed', 'rows lost', 'replicas identical'];

/** One row per primary-kill measurement, for the terminal and report.md. */
export function failoverRows(r: BenchResults): string[][] {
  return (r.failover ?? []).map((x) => [
    x.label,
    x.shard,
    `${x.server} (${x.role === 'primary' ? 'primary' : 'a replica: no /primaries'})`,
    String(x.ratePerSec),
    x.killToWritableMs < 0 ? 'never' : `${x.killToWritableMs} ms`,
    String(x.writesAcked),
    String(x.writesFailed),
    String(x.rowsLost),
    x.replicasIdentical ? 'yes' : 'NO',
  ]);
}

const f1 = (n: number) => (Math.round(n * 10) / 10).toString();

export function phaseLine(p: PhaseResult): string {
  const errs = Object.entries(p.errors);
  return (
    `${p.name.padEnd(22)} c=${String(p.concurrency).padStart(3)}  ${String(p.ops).padStart(6)} ops in ${p.seconds.toFixed(2).padStart(6)} s  ` +
    `${String(p.opsPerSec).padStart(6)} ops/s ${String(p.rowsPerSec).padStart(7)} rows/s  ` +
    `p50 ${f1(p.latencyMs.p50)} p95 ${f1(p.latencyMs.p95)} p99 ${f1(p.latencyMs.p99)} p99.9 ${f1(p.latencyMs.p999)} max ${f1(p.latencyMs.max)} ms` +
    (errs.length ? `  ERRORS ${errs.map(([k, v]) => `${k}=${v}`).join(' ')}` : '  errors 0')
  );
}

export function summaryRows(r: BenchResults): string[][] {
  const rows: string[][] = [];
  for (const run of r.runs)
    for (const p of run.phases)
      rows.push([
        run.label,
        `N=${run.config.N} shards=${run.config.shards} r=${run.config.replicasPerShard}`,
        p.name,
        String(p.concurrency),
        String(p.ops),
        p.seconds.toFixed(2),
        String(p.opsPerSec),
        String(p.rowsPerSec),
        f1(p.latencyMs.p50),
        f1(p.latencyMs.p95),
        f1(p.latencyMs.p99),
        f1(p.latencyMs.p999),
        f1(p.latencyMs.max),
        String(Object.values(p.errors).reduce((a, b) => a + b, 0)),
      ]);
  return rows;
}

export const SUMMARY_HEAD = ['run', 'config', 'phase', 'c', 'ops', 'seconds', 'ops/s', 'rows/s', 'p50 ms', 'p95', 'p99', 'p99.9', 'max', 'errors'];

export function markdown(r: BenchResults): string {
  const table = (head: string[], rows: string[][]) =>
    [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');
  const m = r.machine;
  let out = `# shardctl bench\n\n${r.startedAt}, commit \`${r.commit}\`, ${r.runtime} runtime, LB ${r.url}\n\n`;
  out += `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}\n\n`;
  out += `Options: \`${JSON.stringify(r.options)}\`\n\n`;
  out += `${table(SUMMARY_HEAD, summaryRows(r))}\n`;
  if (r.recovery.length) {
    out += `\n## Recovery (A-4)\n\n`;
    out += table(
      ['run', 'server', 'rows', 'kill → detected', 'time to detect (last heartbeat → declared)', 'kill → serving every row', 'rows copied', 'replicas identical'],
      r.recovery.map((x) => [x.label, x.server, String(x.rows), `${x.killToDetectedMs} ms`, `${x.timeToDetectMs} ms`, `${x.killToServingMs} ms`, String(x.rowsCopied), x.replicasIdentical ? 'yes' : 'NO']),
    );
    out += '\n';
  }
  if (r.failover?.length) out += `\n## Primary kill under steady writes\n\n${table(FAILOVER_HEAD, failoverRows(r))}\n`;
  out += `\n![throughput and latency](chart.svg)\n`;
  return out;
}

/** A self-contained SVG: throughput bars (left) and latency percentiles (right) per run and phase. */
export function svgChart(r: BenchResults): string {
  const items = r.runs.flatMap((run) => run.phases.map((p) => ({ label: `${run.label} ${p.name} c${p.concurrency}`, p })));
  const W = 980;
  const rowH = 26;
  const H = 70 + items.length * rowH;
  const maxOps = Math.max(1, ...items.map((i) => i.p.opsPerSec));
  const maxLat = Math.max(1, ...items.map((i) => i.p.latencyMs.p99));
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">shardctl bench — ${esc(r.runtime)} runtime, ${r.machine.cores} cores, commit ${esc(r.commit.slice(0, 10))}</text>`,
    `<text x="250" y="45" font-weight="bold">throughput (ops/s)</text><text x="640" y="45" font-weight="bold">latency ms: p50 ▮ p95 ▮ p99 ▮</text>`,
  ];
  items.forEach((it, k) => {
    const y = 60 + k * rowH;
    const bw = (it.p.opsPerSec / maxOps) * 330;
    parts.push(`<text x="10" y="${y + 14}">${esc(it.label)}</text>`);
    parts.push(`<rect x="250" y="${y}" width="${bw.toFixed(1)}" height="18" fill="#4e79a7"/><text x="${(254 + bw).toFixed(1)}" y="${y + 14}">${it.p.opsPerSec}</text>`);
    const scale = (v: number) => (Math.min(v, maxLat) / maxLat) * 280;
    parts.push(`<rect x="640" y="${y}" width="${scale(it.p.latencyMs.p99).toFixed(1)}" height="18" fill="#e15759"/>`);
    parts.push(`<rect x="640" y="${y}" width="${scale(it.p.latencyMs.p95).toFixed(1)}" height="18" fill="#f28e2b"/>`);
    parts.push(`<rect x="640" y="${y}" width="${scale(it.p.latencyMs.p50).toFixed(1)}" height="18" fill="#59a14f"/>`);
    parts.push(`<text x="${(644 + scale(it.p.latencyMs.p99)).toFixed(1)}" y="${y + 14}">${f1(it.p.latencyMs.p50)} / ${f1(it.p.latencyMs.p95)} / ${f1(it.p.latencyMs.p99)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Each figure's ratio new/old, for runs and phases present in both. */
export function compare(oldR: BenchResults, newR: BenchResults): string[] {
  const out: string[] = [];
  for (const run of newR.runs) {
    const o = oldR.runs.find((x) => x.label === run.label);
    if (!o) continue;
    for (const p of run.phases) {
      const op = o.phases.find((x) => x.name === p.name && x.concurrency === p.concurrency);
      if (!op) continue;
      const ratio = (a: number, b: number) => (b ? (a / b).toFixed(2) : 'n/a');
      out.push(
        `${run.label} ${p.name} c=${p.concurrency}: ops/s ×${ratio(p.opsPerSec, op.opsPerSec)}  seconds ×${ratio(p.seconds, op.seconds)}  ` +
          `p50 ×${ratio(p.latencyMs.p50, op.latencyMs.p50)}  p99 ×${ratio(p.latencyMs.p99, op.latencyMs.p99)}  max ×${ratio(p.latencyMs.max, op.latencyMs.max)}`,
      );
    }
  }
  for (const rc of newR.recovery) {
    const o = oldR.recovery.find((x) => x.label === rc.label);
    if (o) out.push(`${rc.label} kill → serving: ${rc.killToServingMs} ms vs ${o.killToServingMs} ms (×${(rc.killToServingMs / Math.max(1, o.killToServingMs)).toFixed(2)})`);
  }
  for (const fk of newR.failover ?? []) {
    const o = oldR.failover?.find((x) => x.label === fk.label);
    if (o && fk.killToWritableMs >= 0 && o.killToWritableMs >= 0)
      out.push(`${fk.label} kill → writable: ${fk.killToWritableMs} ms vs ${o.killToWritableMs} ms (×${(fk.killToWritableMs / Math.max(1, o.killToWritableMs)).toFixed(2)})`);
  }
  return out;
}
