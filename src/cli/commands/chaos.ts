/** `shardctl chaos`: faults under load, then an audit; exit 0 only when nothing acknowledged was lost or stale. */
import chalk from 'chalk';
import type { Command } from 'commander';
import type { Common, Runner } from '../registry.js';
import { PausedSet, runChaos } from '../../bench/chaos.js';
import { parseNemeses, type Nemesis } from '../../bench/chaos-model.js';
import { ExitError, UsageError } from '../errors.js';
import { callOk } from '../http.js';
import { info, intArg, print, table } from '../io.js';
import { readRecord, type ClusterRecord, type GlobalOpts } from '../context.js';
import { hostFor } from '../hosts.js';
import { waitForLb } from '../http.js';
import { crashLb, crashServer } from './lifecycle.js';
import { CONFIG_DIR } from './data.js';
import { readFileSync } from 'node:fs';

interface ChaosCliOpts extends GlobalOpts {
  duration: string;
  seed: string;
  killEvery: string;
  killLb?: boolean;
  nemesis?: string;
  overlap?: boolean;
  writers: string;
  updaters: string;
  deleters: string;
  readers: string;
  init?: string | boolean;
}

export async function chaosCmd(o: ChaosCliOpts): Promise<void> {
  const name = o.name ?? 'default';
  // options first: a typo is reported before anything else is looked at
  const durationMs = Number(o.duration) * 1000;
  if (!(durationMs >= 2000 && durationMs <= 3_600_000)) throw new UsageError('--duration must be between 2 and 3600 seconds');
  const killEveryMs = Number(o.killEvery) * 1000;
  if (!(killEveryMs >= 500)) throw new UsageError('--kill-every must be at least 0.5 seconds');
  const nemeses = chaosNemeses(o.nemesis, !!o.killLb);
  const rec = readRecord(name);
  if (!rec) throw new ExitError(`chaos kills servers, so it needs a cluster started here by \`shardctl up\` (none named ${name})`);
  if (o.init) {
    const cfg = typeof o.init === 'string' ? o.init : 'default';
    info(`initialising the cluster with configs/${cfg}.json`);
    await callOk(rec.url, 'POST', '/init', JSON.parse(readFileSync(`${CONFIG_DIR}${cfg}.json`, 'utf8')), 300_000);
  }
  const st = (await callOk(rec.url, 'GET', '/status')) as { schema: unknown };
  if (!st.schema) throw new ExitError('the cluster is not configured: run `shardctl init` (or pass --init)');
  const log = (m: string) => info(`chaos: ${m}`);
  const host = hostFor(rec.runtime);
  // the record is read again at each fault: a restarted LB (process runtime) has a new pid
  const current = (): ClusterRecord => readRecord(name) ?? rec;
  const bringBack = async () => {
    const cur = current();
    if (!(await host.running(cur))) await host.up({ name, port: rec.port, stateDir: rec.stateDir, foreground: false, build: false, env: {}, net: rec.lbNetwork });
    if (!(await waitForLb(rec.url, 60_000))) throw new ExitError(`the LB did not answer at ${rec.url} within 60 s after a restart; see \`shardctl logs lb\``);
  };
  const paused = new PausedSet();
  // Ctrl-C or a kill while a server is frozen: resume it first, then die of the same signal as before
  const onSignal = (sig: NodeJS.Signals) => {
    info(`chaos: ${sig}: resuming any paused server before stopping`);
    void paused
      .resumeAll()
      .then((names) => info(`chaos: resumed ${names.join(', ') || 'nothing (none paused)'}`))
      .finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.kill(process.pid, sig);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: Awaited<ReturnType<typeof runChaos>>;
  try {
    report = await runChaos({
      url: rec.url,
      durationMs,
      seed: intArg(o.seed, '--seed'),
      killEveryMs,
      nemeses,
      overlap: !!o.overlap,
      writers: intArg(o.writers, '--writers'),
      updaters: intArg(o.updaters, '--updaters'),
      deleters: intArg(o.deleters, '--deleters'),
      readers: intArg(o.readers, '--readers'),
      crashServer: (s) => crashServer(current(), s),
      crashLb: () => crashLb(current()),
      restartLb:
        rec.runtime === 'process'
          ? async () => {
              await new Promise((r) => setTimeout(r, 300));
              await bringBack();
            }
          : undefined,
      pause: async (s) => {
        const ref = await host.pause(current(), s);
        return () => host.resume(current(), ref);
      },
      paused,
      restartAll: async () => {
        await host.killAll(current());
        await bringBack();
      },
      log,
    });
  } finally {
    await paused.resumeAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  print(o.json, report, () => {
    const bad = (n: number) => (n === 0 ? chalk.green('0') : chalk.red(String(n)));
    process.stdout.write(
      `\n${table(
        ['check', 'result'],
        [
          ['faults injected', `${report.faults.filter((f) => f.ok).length} (${report.faults.map((f) => f.victim).join(', ') || 'none'})`],
          ...report.nemeses.map((n) => [
            `  ${n.nemesis}`,
            `${n.ran} ran${n.failed ? chalk.yellow(`, ${n.failed} could not be made`) : ''}${n.skipped ? `, ${n.skipped} skipped (the load had ended)` : ''} of ${n.planned} planned`,
          ]),
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


/** `--nemesis LIST` and `--kill-lb` (an alias that adds `lb`) as the nemeses to run, or a usage error. */
export function chaosNemeses(list: string | undefined, killLb: boolean): Nemesis[] {
  const r = parseNemeses(list, killLb);
  if ('error' in r) throw new UsageError(r.error);
  return r.nemeses;
}

export const NEMESIS_HELP =
  '\nNemeses (--nemesis, comma-separated; default kill):\n' +
  '  kill          a random serving server SIGKILLed (docker kill); the LB respawns it on its data\n' +
  '  pause         a random server (1 time in 3: every replica of one shard) frozen 1-6 s with SIGSTOP\n' +
  '                (docker pause), alive but silent, then resumed; chaos never leaves one paused, even on Ctrl-C\n' +
  '  kill-primary  the primary of a random shard killed (GET /primaries); a replica of it while the LB has none\n' +
  '  restart-all   every server and the LB killed at once, then the cluster brought back as `shardctl up` does;\n' +
  '                every acknowledged row must come back\n' +
  '  lb            the LB killed and restarted (--kill-lb)';

export function registerChaos(program: Command, common: Common, run: Runner): void {
  common(program.command('chaos'))
    .description(
      'seeded fault run: writers, updaters, deleters and readers under load while faults (--nemesis) hit the cluster;\n' +
        'then everything is read back and audited. Exit 0 only with 0 lost, 0 stale, 0 never-written, replicas identical.',
    )
    .option('--duration <seconds>', 'how long the load runs', '30')
    .option('--seed <n>', 'seed of the workload and the fault schedule', '1')
    .option('--kill-every <seconds>', 'mean time between faults', '5')
    .option('--nemesis <list>', 'faults to inject, comma-separated: kill (default), pause, kill-primary, restart-all, lb (below)')
    .option('--kill-lb', 'same as adding lb to --nemesis')
    .option('--overlap', 'do not wait for the cluster to heal before the next fault (3 replicas tolerate one failure at a time)')
    .option('--writers <n>', 'concurrent writers', '4')
    .option('--updaters <n>', 'concurrent updaters', '2')
    .option('--deleters <n>', 'concurrent deleters', '1')
    .option('--readers <n>', 'concurrent readers', '4')
    .option('--init [config]', 're-initialise first (replaces the data)')
    .addHelpText('after', NEMESIS_HELP)
    .action(run(async (_o: unknown, c: Command) => chaosCmd(c.opts<ChaosCliOpts>())));
}
