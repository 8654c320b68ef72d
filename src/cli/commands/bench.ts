/** `shardctl bench`: options, then the workload, then the report (src/bench/). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import chalk from 'chalk';
import type { Command } from 'commander';
import type { Common, Runner } from '../registry.js';
import { machineInfo, gitCommit, runRecovery, runWorkload, type BenchOptions, type Status } from '../../bench/bench.js';
import { compare, failoverRows, FAILOVER_HEAD, markdown, phaseLine, summaryRows, SUMMARY_HEAD, svgChart, type BenchResults, type RunResult } from '../../bench/report.js';
import { PRIMARY_KILL_DEFAULTS, runPrimaryKill } from '../../bench/primary-kill.js';
import { UsageError, ExitError } from '../errors.js';
import { callOk } from '../http.js';
import { info, intArg, table } from '../io.js';
import { lbUrl, readRecord, type GlobalOpts } from '../context.js';
import { CONFIG_DIR } from './data.js';
import { crashServer } from './lifecycle.js';
import { ROOT, VERSION } from '../images.js';

interface BenchCliOpts extends GlobalOpts {
  writes: string;
  reads: string;
  batch: string;
  readWidth: string;
  concurrency: string;
  duration?: string;
  seed: string;
  warmup: string;
  analysis?: boolean;
  out?: string;
  compare?: string;
  init?: string | boolean;
  progress: boolean;
  ring?: boolean;
}

const config = (name: string) => JSON.parse(readFileSync(join(CONFIG_DIR, `${name}.json`), 'utf8')) as Record<string, unknown>;

export async function benchCmd(o: BenchCliOpts): Promise<void> {
  if (o.ring) {
    const { ringBench } = await import('../../bench/ring-bench.js');
    const r = ringBench();
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else
      process.stdout.write(
        `${table(['hash', 'replicas', 'lookups', 'lookups/s', 'ns/lookup', 'add or remove (µs)'], r.map((x) => [x.hash, String(x.replicas), String(x.lookups), String(x.lookupsPerSec), String(x.nsPerLookup), String(x.addRemoveUs)]))}\n`,
      );
    return;
  }
  const url = lbUrl(o);
  const concurrencies = o.concurrency.split(',').map((c) => intArg(c.trim(), '--concurrency'));
  if (concurrencies.some((c) => c < 1 || c > 1024)) throw new UsageError('--concurrency must be between 1 and 1024');
  const base: Omit<BenchOptions, 'concurrency'> = {
    writes: intArg(o.writes, '--writes'),
    reads: intArg(o.reads, '--reads'),
    batch: intArg(o.batch, '--batch'),
    readWidth: intArg(o.readWidth, '--read-width'),
    durationMs: o.duration ? Number(o.duration) * 1000 : undefined,
    seed: intArg(o.seed, '--seed'),
    progress: o.progress && !o.json,
    warmup: intArg(o.warmup, '--warmup'),
  };
  if (base.writes < 0 || base.reads < 0 || base.batch < 1 || base.readWidth < 1) throw new UsageError('--writes/--reads must be >= 0, --batch and --read-width >= 1');
  if (base.durationMs !== undefined && !(base.durationMs > 0 && base.durationMs <= 3_600_000)) throw new UsageError('--duration must be between 0 and 3600 seconds');
  const rec = readRecord(o.name ?? 'default');
  const status = async () => (await callOk(url, 'GET', '/status')) as Status;
  const init = async (name: string) => {
    info(`initialising the cluster with configs/${name}.json`);
    await callOk(url, 'POST', '/init', config(name), 300_000);
    return status();
  };
  const say = (line: string) => (o.json ? undefined : process.stdout.write(`${line}\n`));
  const runs: RunResult[] = [];
  const recovery: BenchResults['recovery'] = [];
  const failover: NonNullable<BenchResults['failover']> = [];
  const startedAt = new Date().toISOString();

  const workload = async (label: string, st: Status, cfg?: string) => {
    const run: RunResult | undefined = { label, config: { N: 0, shards: 0, replicasPerShard: 0 }, phases: [] };
    for (const [k, c] of concurrencies.entries()) {
      // each concurrency on a fresh cluster when we may re-initialise (the key space is finite)
      const now = k === 0 ? st : cfg ? await init(cfg) : await status();
      const r = await runWorkload(url, now, { ...base, concurrency: c, seed: base.seed + k }, label);
      run.config = r.config;
      run.phases.push(...r.phases);
      for (const p of r.phases) say(`${chalk.bold(label)} ${phaseLine(p)}`);
    }
    runs.push(run);
  };

  if (o.analysis) {
    info('analysis: A-1 (default), A-2 (7 replicas per shard), A-3 (10 servers, 6 shards, 8 replicas), A-4 (recovery), a primary kill under writes; each on a freshly initialised cluster');
    for (const [label, cfg] of [['A-1', 'default'], ['A-2', 'a2'], ['A-3', 'a3']] as const) await workload(label, await init(cfg), cfg);
    if (!rec) throw new ExitError('A-4 kills a server, so it needs a cluster started here by `shardctl up` (no record for --name)');
    const st = await init('default');
    const { LbClient } = await import('../../bench/driver.js');
    const { benchRow, keySpace, pickKeys } = await import('../../bench/workload.js');
    const c = new LbClient(url, 8);
    const keys = pickKeys(keySpace(st.shards), Math.min(10_000, keySpace(st.shards).length), base.seed);
    for (let i = 0; i < keys.length; i += 500) {
      const r = await c.send('POST', '/write', JSON.stringify({ data: keys.slice(i, i + 500).map((k) => benchRow(k)) }));
      if (r.status !== 200) throw new ExitError(`A-4 setup write failed: ${r.text}`);
    }
    await c.close();
    const victim = Object.keys(st.servers).includes('Server3') ? 'Server3' : Object.keys(st.servers)[0];
    const r = await runRecovery({ url, crash: (s) => crashServer(rec, s), progress: info }, st, victim);
    recovery.push(r);
    say(`${chalk.bold('A-4')} killed ${r.server} holding ${r.rows} rows: detected ${r.killToDetectedMs} ms after the kill (${r.timeToDetectMs} ms after its last heartbeat), replacement serving every row ${r.killToServingMs} ms after the kill; ${r.rowsCopied} rows copied; replicas identical: ${r.replicasIdentical ? 'yes' : 'NO'}; rows after: ${r.rowsAfter}`);
    // then a shard's primary killed while writes keep coming: how long the shard refuses writes, and whether an
    // acknowledged write is lost (a replica instead while the LB has no GET /primaries)
    const pk = await runPrimaryKill({ url, crash: (s) => crashServer(rec, s), progress: info }, await init('default'), { ...PRIMARY_KILL_DEFAULTS, seed: base.seed });
    failover.push(pk);
    say(
      `${chalk.bold(pk.label)} killed ${pk.server}, ${pk.role === 'primary' ? `the primary of ${pk.shard}` : `a replica of ${pk.shard} (this LB has no /primaries)`}, under ${pk.ratePerSec} writes/s: ` +
        `${pk.shard} accepted writes again ${pk.killToWritableMs < 0 ? 'never (within 30 s)' : `${pk.killToWritableMs} ms after the kill`}; ` +
        `${pk.writesAcked} of its writes acknowledged, ${pk.writesFailed} failed; acknowledged rows lost: ${pk.rowsLost}; replicas identical: ${pk.replicasIdentical ? 'yes' : 'NO'}`,
    );
  } else {
    let st = await status();
    const cfg = o.init ? (typeof o.init === 'string' ? o.init : 'default') : undefined;
    if (cfg) st = await init(cfg);
    else if (!st.schema) st = await init('default');
    await workload('bench', st, cfg);
  }

  const results: BenchResults = {
    tool: 'shardctl bench',
    version: VERSION,
    startedAt,
    machine: await machineInfo(),
    runtime: rec ? `${rec.runtime}${rec.lbNetwork ? ` (LB: ${rec.lbNetwork === 'host' ? 'host network' : 'published port'})` : ''}` : 'unknown (--url)',
    commit: await gitCommit(ROOT),
    url,
    options: { ...base, concurrency: concurrencies, analysis: !!o.analysis },
    runs,
    recovery,
    failover,
  };
  if (o.json) process.stdout.write(`${JSON.stringify(results)}\n`);
  else {
    process.stdout.write(`\n${table(SUMMARY_HEAD, summaryRows(results))}\n`);
    if (failover.length) process.stdout.write(`\n${table(FAILOVER_HEAD, failoverRows(results))}\n`);
    const m = results.machine;
    process.stdout.write(chalk.dim(`${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, ${results.runtime} runtime, commit ${results.commit}\n`));
  }
  if (o.out) {
    const dir = resolve(o.out);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 2));
    writeFileSync(join(dir, 'report.md'), markdown(results));
    writeFileSync(join(dir, 'chart.svg'), svgChart(results));
    info(`wrote ${join(dir, 'results.json')}, report.md and chart.svg`);
  }
  if (o.compare) {
    const old = JSON.parse(readFileSync(o.compare, 'utf8')) as BenchResults;
    const lines = compare(old, results);
    process.stdout.write(`\n${chalk.bold(`compared with ${o.compare} (new / old)`)}\n${lines.join('\n') || '(no run in common)'}\n`);
  }
  const errors = runs.flatMap((r) => r.phases).reduce((n, p) => n + Object.values(p.errors).reduce((a, b) => a + b, 0), 0);
  const lost = recovery.some((r) => !r.replicasIdentical || r.rowsAfter !== r.rows || r.killToServingMs < 0);
  const failed = failover.some((r) => r.rowsLost > 0 || r.killToWritableMs < 0 || !r.replicasIdentical);
  if (errors > 0 || lost || failed)
    throw new ExitError(
      `the benchmark saw ${errors} failed operations${lost ? ', a recovery that did not complete cleanly' : ''}${failed ? ', a primary kill that lost acknowledged rows or left its shard unwritable' : ''}`,
    );
}


export function registerBench(program: Command, common: Common, run: Runner): void {
  common(program.command('bench'))
    .description(
      'closed-loop benchmark through the LB: single-row writes of unique keys, then reads of random ranges, every result checked.\n' +
        '--analysis runs the assignment\'s A-1..A-4 on freshly initialised clusters (it replaces the data).',
    )
    .option('--writes <n>', 'write requests', '10000')
    .option('--reads <n>', 'read requests', '10000')
    .option('--batch <rows>', 'rows per write request', '1')
    .option('--read-width <keys>', 'keys per read range', '10')
    .option('--concurrency <n>', 'closed-loop workers; a list like 1,32 runs each', '32')
    .option('--duration <seconds>', 'run each phase this long instead of a fixed count')
    .option('--seed <n>', 'workload seed', '1')
    .option('--warmup <n>', 'unmeasured writes and reads first (JIT warm-up; their rows stay)', '2000')
    .option('--init [config]', 're-initialise first (default, a2, a3, or a file name in configs/); replaces the data')
    .option('--analysis', 'A-1 default, A-2 7 replicas, A-3 10 servers/6 shards/8 replicas, A-4 recovery, then a shard\'s primary killed under 200 writes/s (time until it takes writes again, rows lost)')
    .option('--out <dir>', 'write results.json, report.md and chart.svg there')
    .option('--compare <results.json>', 'print each figure\'s ratio to an earlier run')
    .option('--no-progress', 'no progress bar')
    .option('--ring', 'only the hash-ring micro-benchmark (no cluster needed)')
    .action(run(async (_o: unknown, c: Command) => benchCmd(c.opts<BenchCliOpts>())));
}
