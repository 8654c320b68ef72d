/** up, down, kill, ps, logs: starting, stopping and poking a cluster on either runtime. */
import chalk from 'chalk';
import { ExitError, UsageError } from '../errors.js';
import { callOk } from '../http.js';
import { info, intArg, ok, print, table } from '../io.js';
import { lbUrl, readRecord, removeRecord, stateDirOf, writeRecord, type ClusterRecord, type GlobalOpts } from '../context.js';
import { hostFor } from '../hosts.js';

export interface UpOpts extends GlobalOpts {
  runtime?: string;
  port: string;
  foreground?: boolean;
  build?: boolean;
  heartbeatMs?: string;
  misses?: string;
  ringHash?: string;
  vnodes?: string;
  slots?: string;
  maxBody?: string;
  lbNetwork?: 'host' | 'publish';
  consoleActions?: boolean;
}

/** LB settings from `up` options, as the environment the LB reads (lb/main.ts). */
function lbEnv(o: UpOpts): Record<string, string> {
  const env: Record<string, string> = {};
  const int = (v: string | undefined, flag: string, key: string, min: number) => {
    if (v === undefined) return;
    const n = intArg(v, flag);
    if (n < min) throw new UsageError(`${flag} must be at least ${min}`);
    env[key] = String(n);
  };
  int(o.heartbeatMs, '--heartbeat-ms', 'SHARDCTL_HB_INTERVAL_MS', 50);
  if (o.heartbeatMs !== undefined) env.SHARDCTL_HB_TIMEOUT_MS = env.SHARDCTL_HB_INTERVAL_MS;
  int(o.misses, '--misses', 'SHARDCTL_HB_MISSES', 1);
  int(o.vnodes, '--vnodes', 'SHARDCTL_RING_VNODES', 1);
  int(o.slots, '--slots', 'SHARDCTL_RING_SLOTS', 1);
  int(o.maxBody, '--max-body', 'SHARDCTL_MAX_BODY', 1024);
  if (o.consoleActions) env.SHARDCTL_CONSOLE_ACTIONS = '1';
  // tuning knobs without flags pass through from the CLI's own environment
  for (const k of ['SHARDCTL_LINGER_AT', 'SHARDCTL_LINGER_MS', 'SHARDCTL_MAX_BATCH_ROWS', 'SHARDCTL_POOL_CONNECTIONS', 'SHARDCTL_LOG_LEVEL', 'SHARDCTL_READ_DEPTH', 'SHARDCTL_READ_LINGER_MS', 'SHARDCTL_WRITE_DEPTH', 'SHARDCTL_V8_FLAGS', 'SHARDCTL_SNAPSHOT_BYTES', 'SHARDCTL_PRIMARIES', 'SHARDCTL_RM_CATCH_UP_MS', 'SHARDCTL_REBALANCE_QUIET_MS', 'SHARDCTL_NOTICE_MS'])
    if (process.env[k]) env[k] = process.env[k]!;
  if (o.ringHash !== undefined) {
    if (!['mix', 'assignment'].includes(o.ringHash)) throw new UsageError('--ring-hash must be mix or assignment');
    env.SHARDCTL_RING_HASH = o.ringHash;
  }
  return env;
}

/**
 * Cluster names never hold "--", "_" or ".", and never end in "-": container and volume names join the cluster and
 * a server with "--" (docker-args.ts), so no two (cluster, server) pairs can name the same container.
 */
export function validClusterName(n: string): boolean {
  return /^[a-z0-9]+(-[a-z0-9]+)*$/.test(n) && n.length <= 40;
}

function clusterName(o: GlobalOpts): string {
  const n = o.name ?? 'default';
  if (!validClusterName(n))
    throw new UsageError(`--name must be lower-case letters and digits, words joined by single - (like my-cluster2); got ${n}`);
  return n;
}


export async function upCmd(o: UpOpts): Promise<void> {
  const name = clusterName(o);
  const port = intArg(o.port, '--port');
  if (port < 1 || port > 65535) throw new UsageError('--port must be between 1 and 65535');
  const prev = readRecord(name);
  if (prev && (await hostFor(prev.runtime).running(prev)))
    throw new ExitError(`cluster ${name} is already running at ${prev.url} (${prev.runtime}); \`shardctl down${name === 'default' ? '' : ` --name ${name}`}\` first`);
  // a cluster that was brought `down` comes back on the runtime that holds its data
  let runtime = o.runtime ?? prev?.runtime;
  if (!runtime) {
    const { dockerAvailable } = await import('../../runtime/docker-cli.js');
    runtime = (await dockerAvailable()) ? 'docker' : undefined;
    if (!runtime)
      throw new ExitError(
        'no Docker engine answers (is dockerd running? `sudo systemctl start docker`, or `dockerd &`). ' +
          'Run without docker: `shardctl up --runtime process`',
      );
  }
  const stateDir = stateDirOf(name);
  const host = hostFor(runtime);
  if (o.foreground && host.kind === 'process') info(`shardctl: LB on 127.0.0.1:${port} in the foreground; Ctrl-C stops it and every server`);
  const rec: ClusterRecord = await host.up({ name, port, stateDir, foreground: !!o.foreground, build: o.build !== false, env: lbEnv(o), net: o.lbNetwork });
  if (o.foreground && host.kind === 'process') return;
  // a restarted LB resumes its saved cluster: say so rather than suggesting an init that would replace it
  const st = (await callOk(rec.url, 'GET', '/status').catch(() => undefined)) as { N?: number; shards?: unknown[] } | undefined;
  const resumed = st?.N && st.shards?.length ? `; it resumed its cluster of ${st.N} servers and ${st.shards.length} shards with their stored rows` : '. Next: `shardctl init`';
  print(o.json, rec, () => ok(`cluster ${name} is up: LB at ${rec.url} (${rec.runtime} runtime)${resumed}`));
}

export async function downCmd(o: GlobalOpts & { volumes?: boolean }): Promise<void> {
  const name = clusterName(o);
  const rec = readRecord(name);
  const volumes = !!o.volumes;
  if (!rec) {
    // no record: clear docker leftovers of that name if an engine answers
    const { dockerAvailable } = await import('../../runtime/docker-cli.js');
    if (!(await dockerAvailable())) {
      print(o.json, { name, stopped: false }, () => ok(`no cluster named ${name} is running`));
      return;
    }
  }
  const result = await hostFor(rec?.runtime ?? 'docker').down(name, rec, volumes);
  // the record stays with the data (its runtime and port are what `up` brings back); without a pid it reads stopped
  if (volumes || !rec) removeRecord(name);
  else writeRecord({ ...rec, lbPid: undefined });
  const kept = volumes ? '; its data and metadata are deleted' : '; its data and metadata stay (`shardctl up` brings it back; `down --volumes` deletes them)';
  print(o.json, { name, ...result }, () => ok(`cluster ${name} is down${rec ? '' : ' (there was no record of it; leftovers removed)'}${kept}`));
}

/** kill server3, kill Server3, kill 3: all name Server3 when the cluster has it. */
export function resolveServer(arg: string, names: string[]): string {
  const exact = names.find((n) => n === arg) ?? names.find((n) => n.toLowerCase() === arg.toLowerCase());
  if (exact) return exact;
  if (/^\d+$/.test(arg)) {
    const byNum = names.find((n) => n.replace(/^\D+/, '') === arg);
    if (byNum) return byNum;
  }
  throw new ExitError(`no server ${arg} in the cluster (servers: ${names.join(', ') || 'none'})`);
}

export async function killCmd(arg: string, o: GlobalOpts): Promise<void> {
  const name = clusterName(o);
  const rec = readRecord(name);
  if (!rec) throw new ExitError(`no cluster named ${name} is running here; start one with \`shardctl up\``);
  const status = (await callOk(lbUrl(o), 'GET', '/status')) as { servers: Record<string, string[]> };
  const server = resolveServer(arg, Object.keys(status.servers ?? {}));
  const t = Date.now();
  await crashServer(rec, server);
  print(o.json, { killed: server, at: t }, () => ok(`killed ${server}; the LB will detect it and respawn it (watch \`shardctl events\`)`));
}

/** Crashes one server of a cluster started here: SIGKILL of its process, or docker kill of its container. */
export async function crashServer(rec: ClusterRecord, server: string): Promise<void> {
  await hostFor(rec.runtime).kill(rec, server);
}

/** Crashes the LB (its process, from outside): the process runtime restarts it with `up`, docker by its restart policy. */
export async function crashLb(rec: ClusterRecord): Promise<void> {
  await hostFor(rec.runtime).crashLb(rec);
}

export async function psCmd(o: GlobalOpts): Promise<void> {
  const name = clusterName(o);
  const rec = readRecord(name);
  if (!rec) throw new ExitError(`no cluster named ${name} is running here`);
  let shardsOf: Record<string, string[]> = {};
  try {
    shardsOf = ((await callOk(rec.url, 'GET', '/status')) as { servers: Record<string, string[]> }).servers ?? {};
  } catch {
    /* LB down: still list what runs */
  }
  const rows = (await hostFor(rec.runtime).ps(rec)).map((c) => ({ ...c, shards: (shardsOf[c.name] ?? []).join(',') }));
  print(o.json, rows, () =>
    process.stdout.write(`${table(['NAME', 'ID', 'STATE', 'SHARDS'], rows.map((r) => [r.name, r.id, r.state === 'running' ? chalk.green(r.state) : chalk.red(r.state), r.shards]))}\n`),
  );
}

export async function logsCmd(target: string, o: GlobalOpts & { follow?: boolean; lines?: string }): Promise<void> {
  const name = clusterName(o);
  const rec = readRecord(name);
  if (!rec) throw new ExitError(`no cluster named ${name} is running here`);
  const lines = o.lines ? intArg(o.lines, '--lines') : 100;
  const names = async () => Object.keys(((await callOk(rec.url, 'GET', '/status').catch(() => ({ servers: {} }))) as { servers?: Record<string, string[]> }).servers ?? {});
  await hostFor(rec.runtime).logs(rec, target, lines, !!o.follow, names, resolveServer);
}
