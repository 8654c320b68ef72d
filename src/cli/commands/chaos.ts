/** `shardctl chaos`: faults under load, then an audit; exit 0 only when nothing acknowledged was lost or stale. */
import chalk from 'chalk';
import type { Command } from 'commander';
import type { Common, Runner } from '../registry.js';
import { runChaos } from '../../bench/chaos.js';
import { ExitError, UsageError } from '../errors.js';
import { callOk } from '../http.js';
import { info, intArg, print, table } from '../io.js';
import { readRecord, type GlobalOpts } from '../context.js';
import { crashLb, crashServer } from './lifecycle.js';
import { CONFIG_DIR } from './data.js';
import { readFileSync } from 'node:fs';

interface ChaosCliOpts extends GlobalOpts {
  duration: string;
  seed: string;
  killEvery: string;
  killLb?: boolean;
  overlap?: boolean;
  writers: string;
  updaters: string;
  deleters: string;
  readers: string;
  init?: string | boolean;
}

export async function chaosCmd(o: ChaosCliOpts): Promise<void> {
  const name = o.name ?? 'default';
  const rec = readRecord(name);
  if (!rec) throw new ExitError(`chaos kills servers, so it needs a cluster started here by \`shardctl up\` (none named ${name})`);
  const durationMs = Number(o.duration) * 1000;
  if (!(durationMs >= 2000 && durationMs <= 3_600_000)) throw new UsageError('--duration must be between 2 and 3600 seconds');
  const killEveryMs = Number(o.killEvery) * 1000;
  if (!(killEveryMs >= 500)) throw new UsageError('--kill-every must be at least 0.5 seconds');
  if (o.init) {
    const cfg = typeof o.init === 'string' ? o.init : 'default';
    info(`initialising the cluster with configs/${cfg}.json`);
    await callOk(rec.url, 'POST', '/init', JSON.parse(readFileSync(`${CONFIG_DIR}${cfg}.json`, 'utf8')), 300_000);
  }
  const st = (await callOk(rec.url, 'GET', '/status')) as { schema: unknown };
  if (!st.schema) throw new ExitError('the cluster is not configured: run `shardctl init` (or pass --init)');
  const log = (m: string) => info(`chaos: ${m}`);
  const report = await runChaos({
    url: rec.url,
    durationMs,
    seed: intArg(o.seed, '--seed'),
    killEveryMs,
    killLb: !!o.killLb,
    overlap: !!o.overlap,
    writers: intArg(o.writers, '--writers'),
    updaters: intArg(o.updaters, '--updaters'),
    deleters: intArg(o.deleters, '--deleters'),
    readers: intArg(o.readers, '--readers'),
    crashServer: (s) => crashServer(readRecord(name) ?? rec, s),
    crashLb: () => crashLb(readRecord(name) ?? rec),
    restartLb:
      rec.runtime === 'process'
        ? async () => {
            await new Promise((r) => setTimeout(r, 300));
            const { processUp } = await import('../process-cluster.js');
            await processUp({ name, port: rec.port, stateDir: rec.stateDir, foreground: false });
          }
        : undefined,
    log,
  });
  print(o.json, report, () => {
    const bad = (n: number) => (n === 0 ? chalk.green('0') : chalk.red(String(n)));
    process.stdout.write(
      `\n${table(
        ['check', 'result'],
        [
          ['faults injected', `${report.faults.filter((f) => f.ok).length} (${report.faults.map((f) => f.victim).join(', ') || 'none'})`],
          ['acknowledged writes / updates / deletes', `${report.acknowledged.writes} / ${report.acknowledged.updates} / ${report.acknowledged.deletes}`],
          ['reads (checked)', `${report.reads} (${report.readsChecked})`],
          ['acknowledged writes lost', bad(report.lostWrites)],
          ['stale reads during the run', bad(report.staleReads)],
          ['stale rows at the end (older value, deleted row back)', bad(report.staleAtEnd)],
          ['rows never written', bad(report.neverWritten)],
          ['replicas identical', report.replicasIdentical ? chalk.green('yes') : chalk.red('NO')],
          ['indeterminate operations (failed, may or may not have landed)', String(report.indeterminate)],
          ['rows at the end', String(report.rowsAtEnd)],
          ['shards with no replica left', report.unavailableShards.length ? chalk.red(report.unavailableShards.join(', ')) : '0'],
        ],
      )}\n`,
    );
    if (report.examples.length) process.stdout.write(`${chalk.red('examples:')}\n  ${report.examples.join('\n  ')}\n`);
    process.stdout.write(report.passed ? `${chalk.green('✔ PASS')}: nothing acknowledged was lost or served stale (seed ${report.seed})\n` : `${chalk.red('✖ FAIL')} (seed ${report.seed})\n`);
  });
  if (!report.passed) throw new ExitError('chaos found lost or stale data, or replicas that differ', 1);
}


export function registerChaos(program: Command, common: Common, run: Runner): void {
  common(program.command('chaos'))
    .description(
      'seeded fault run: writers, updaters, deleters and readers under load while servers are killed at random;\n' +
        'then everything is read back and audited. Exit 0 only with 0 lost, 0 stale, 0 never-written, replicas identical.',
    )
    .option('--duration <seconds>', 'how long the load runs', '30')
    .option('--seed <n>', 'seed of the workload and the fault schedule', '1')
    .option('--kill-every <seconds>', 'mean time between faults', '5')
    .option('--kill-lb', 'every third fault kills the LB instead of a server')
    .option('--overlap', 'do not wait for the cluster to heal before the next fault (3 replicas tolerate one failure at a time)')
    .option('--writers <n>', 'concurrent writers', '4')
    .option('--updaters <n>', 'concurrent updaters', '2')
    .option('--deleters <n>', 'concurrent deleters', '1')
    .option('--readers <n>', 'concurrent readers', '4')
    .option('--init [config]', 're-initialise first (replaces the data)')
    .action(run(async (_o: unknown, c: Command) => chaosCmd(c.opts<ChaosCliOpts>())));
}
