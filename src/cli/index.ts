/**
 * The shardctl command table. Every command: options checked, the work handed to its module, one line of
 * reason and a non-zero exit on failure. Only this file calls process.exit.
 */
import '../shared/v8-tuning.js'; // first: the bench client is a fresh process too
import { Command, Option } from 'commander';
import chalk from 'chalk';
import { ExitError, UsageError } from './errors.js';
import { RuntimeError } from '../runtime/runtime.js';
import type { GlobalOpts } from './context.js';
import { addCmd, delCmd, initCmd, readCmd, rmCmd, updateCmd, writeCmd } from './commands/data.js';
import { statusCmd, eventsCmd } from './commands/status.js';
import { downCmd, killCmd, logsCmd, psCmd, upCmd } from './commands/lifecycle.js';
import { VERSION } from './images.js';
import { registerBench } from './commands/bench.js';
import { registerChaos } from './commands/chaos.js';
import { verifyCmd } from './commands/verify.js';
import { explainCmd } from './commands/explain.js';

// `shardctl status | head` closes the pipe early: end quietly, as other CLIs do
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const program = new Command();
program
  .name('shardctl')
  .description(
    'A sharded, replicated student table on one machine: a Hono load balancer on port 5000 spawning sql.js shard servers\n' +
      '(docker containers, or local processes with --runtime process).\n\n' +
      'Typical use:  shardctl up  →  shardctl init  →  shardctl write \'{"Stud_id":1,"Stud_name":"A","Stud_marks":27}\'\n' +
      '              shardctl read 0 100  →  shardctl bench  →  shardctl kill Server3  →  shardctl down',
  )
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)');

/** Options every command takes; commander puts them on the command's own opts(). */
function common(c: Command): Command {
  return c
    .option('--url <url>', 'LB address (default: the cluster record, $SHARDCTL_URL, or http://127.0.0.1:5000)')
    .option('--name <cluster>', 'cluster name, to run several side by side', 'default')
    .option('--json', 'machine-readable output');
}

function run<A extends unknown[]>(fn: (...a: A) => Promise<void>) {
  return async (...a: A) => {
    try {
      await fn(...a);
    } catch (e) {
      const code = e instanceof ExitError || e instanceof UsageError ? e.exitCode : 1;
      const msg = e instanceof Error ? e.message : String(e);
      process.stderr.write(`${chalk.red('shardctl:')} ${msg}\n`);
      if (!(e instanceof ExitError || e instanceof UsageError || e instanceof RuntimeError) && process.env.SHARDCTL_DEBUG)
        process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(code);
    }
  };
}

const opts = (c: Command) => c.opts<GlobalOpts>();

common(program.command('up'))
  .description('start the LB (and build the images first if they are missing); returns once it answers')
  .addOption(new Option('--runtime <kind>', 'where servers run (default: docker when an engine answers)').choices(['docker', 'process']))
  .option('--port <port>', 'host port of the LB (127.0.0.1 only)', '5000')
  .option('--foreground', 'stay attached; Ctrl-C stops the LB and every server')
  .option('--no-build', 'docker: fail instead of building missing images')
  .addOption(
    new Option('--lb-network <mode>', 'docker: host (the LB listens on 127.0.0.1:<port> on the host\'s network, no docker-proxy hop) or publish (the LB on the cluster network, its port published); default host, falling back to publish if the LB does not answer')
      .choices(['host', 'publish']),
  )
  .option('--heartbeat-ms <ms>', 'heartbeat interval (and timeout); default 500')
  .option('--misses <n>', 'missed heartbeats before a server is declared dead; default 3')
  .option('--ring-hash <name>', 'mix (default, well spread) or assignment (H(i)=i²+2i+17, Φ(i,j)=i²+j²+2j+25)')
  .option('--slots <n>', 'slots per shard ring; default 512')
  .option('--vnodes <n>', 'virtual nodes per server; default log2(slots) = 9')
  .option('--max-body <bytes>', 'request body limit; default 4 MiB')
  .option('--console-actions', 'the web console (GET /, `shardctl console`) may kill, add and remove servers, after a confirmation; read-only without it')
  .action(run(async (_o, c: Command) => upCmd(c.opts())));

common(program.command('down'))
  .description('stop the LB and every server it spawned and remove their containers; the data and metadata stay, so `up` brings the same cluster back')
  .option('--volumes', 'also delete the cluster\'s data and metadata (docker volumes, or the process runtime\'s state dir)')
  .action(run(async (_o, c: Command) => downCmd(c.opts())));

common(program.command('build'))
  .description('build shardctl-server and shardctl-lb images; works offline by making a base image from this host\'s node')
  .action(run(async (_o, c: Command) => (await import('./commands/build.js')).buildCmd(opts(c))));

common(program.command('init [config]'))
  .description('configure the database (replaces any existing one): a JSON file, or a shipped config: default, a2, a3')
  .option('--dry-run', 'show the plan (servers started and stopped, rows dropped), change nothing')
  .action(run(async (f: string | undefined, _o, c: Command) => initCmd(f, c.opts())));

common(program.command('status'))
  .description('shards, key ranges, replicas, server health and recent incidents')
  .action(run(async (_o, c: Command) => statusCmd(opts(c))));

common(program.command('write <payload>'))
  .description('POST /write: JSON {"data":[rows]}, a row array, one row, @file.json or - for stdin')
  .action(run(async (p: string, _o, c: Command) => writeCmd(p, opts(c))));

common(program.command('read <low> [high]'))
  .description('POST /read: rows with low <= Stud_id <= high')
  .action(run(async (l: string, h: string | undefined, _o, c: Command) => readCmd(l, h, opts(c))));

common(program.command('update <payload>'))
  .description('PUT /update: {"Stud_id":1,"data":{row}} or just the new row')
  .action(run(async (p: string, _o, c: Command) => updateCmd(p, opts(c))));

common(program.command('del <stud_id>'))
  .description('DELETE /del: remove one row from every replica')
  .action(run(async (id: string, _o, c: Command) => delCmd(id, opts(c))));

common(program.command('add <payload>'))
  .description('POST /add: {"n":2,"new_shards":[...],"servers":{"Server4":["sh3"],"Server[5]":["sh2"]}}')
  .option('--dry-run', 'show the plan (servers started, shards created or copied, rows moved), change nothing')
  .action(run(async (p: string, _o, c: Command) => addCmd(p, c.opts())));

common(program.command('rm [servers...]'))
  .description('DELETE /rm: remove the named servers (and --n minus that many random ones)')
  .option('--n <n>', 'how many servers to remove in all')
  .option('--force', 'allow removing the last replica of a shard')
  .option('--payload <json>', 'send this /rm payload as is')
  .option('--dry-run', 'show the plan (servers stopped, replicas left per shard), change nothing')
  .action(run(async (s: string[], _o, c: Command) => rmCmd(s, c.opts())));

common(program.command('kill <server>'))
  .description('crash a server (docker kill / SIGKILL), as A-4 does: Server3, server3 and 3 all work')
  .action(run(async (s: string, _o, c: Command) => killCmd(s, opts(c))));

common(program.command('ps'))
  .description('the cluster\'s containers or processes, their state and shards')
  .action(run(async (_o, c: Command) => psCmd(opts(c))));

common(program.command('logs <target>'))
  .description('log of the LB (lb) or of a server (Server3, 3)')
  .option('-f, --follow', 'keep following')
  .option('-n, --lines <n>', 'lines from the end', '100')
  .action(run(async (t: string, _o, c: Command) => logsCmd(t, c.opts())));

common(program.command('events'))
  .description('membership and recovery events, incidents with time-to-detect and time-to-serving')
  .action(run(async (_o, c: Command) => eventsCmd(opts(c))));

common(program.command('verify'))
  .description("compare every shard's serving replicas (rows and digest, at one position of the shard); exit 0 only when all agree")
  .action(run(async (_o, c: Command) => verifyCmd(opts(c))));

common(program.command('explain [stud_id]'))
  .description('where a key goes: its shard and key range, the replicas a read can go to and their share of the ring, states')
  .option('--request-id <r>', 'the slot of read request R and the replica it goes to')
  .option('--range <keys...>', 'explain a read range instead: LOW HIGH (shards queried, the replica of each)')
  .action(run(async (k: string | undefined, _o, c: Command) => explainCmd(k, c.opts())));

common(program.command('console'))
  .description('the web console: prints its address (the LB\'s GET /) and opens a browser when there is one (not in CI)')
  .option('--no-open', 'only print the address')
  .action(run(async (_o, c: Command) => (await import('./commands/console.js')).consoleCmd(c.opts())));

registerBench(program, common, run);
registerChaos(program, common, run);

await program.parseAsync(process.argv);
