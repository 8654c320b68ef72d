/**
 * A cluster on docker, as the assignment runs it: only the LB container is published (on 127.0.0.1), and the LB
 * spawns the server containers. Everything carries the cluster's label; `down` removes exactly that.
 */
import { RuntimeError } from '../runtime/runtime.js';
import { execa } from 'execa';
import { docker, imageExists } from '../runtime/docker-cli.js';
import { killArgs, labels, lbContainerName, lbRunArgs, networkName, parsePs, pauseArgs, psArgs, unpauseArgs, unpauseNeedless, volumeName, LABEL_CLUSTER } from '../runtime/docker-args.js';
import { ExitError } from './errors.js';
import { waitForLb } from './http.js';
import { info } from './io.js';
import { buildImages, lbImage, serverImage } from './images.js';
import { checkPortFree } from './process-cluster.js';
import { writeRecord, type ClusterRecord } from './context.js';

export interface DockerUpOptions {
  name: string;
  port: number;
  stateDir: string;
  foreground: boolean;
  build: boolean;
  env?: Record<string, string>;
  /**
   * host: the LB on the host's network (no docker-proxy hop); publish: on the cluster network, port published;
   * unset: host, and publish if the LB does not answer there (rootless docker, engines without host networking)
   */
  net?: 'host' | 'publish';
}

export async function dockerUp(o: DockerUpOptions): Promise<ClusterRecord> {
  await checkPortFree(o.port);
  const SERVER_IMAGE = serverImage();
  const LB_IMAGE = lbImage();
  if (!(await imageExists(SERVER_IMAGE)) || !(await imageExists(LB_IMAGE))) {
    if (!o.build) throw new ExitError(`image ${SERVER_IMAGE} or ${LB_IMAGE} is missing: run \`shardctl build\``);
    info(`no images of this build (${SERVER_IMAGE}, ${LB_IMAGE}): building them first (shardctl build)`);
    await buildImages((m) => info(m));
  }
  const url = `http://127.0.0.1:${o.port}`;
  const rec: ClusterRecord = {
    name: o.name,
    runtime: 'docker',
    port: o.port,
    url,
    lbContainer: lbContainerName(o.name),
    network: networkName(o.name),
    stateDir: o.stateDir,
    startedAt: new Date().toISOString(),
  };
  // an LB container of this cluster that was stopped (docker stop/kill, a reboot): start it again, and it
  // resumes the same cluster from its metadata volume
  const old = parsePs(await docker(psArgs(o.name, 'lb', true)));
  const was = old.length === 1 && old[0].state !== 'running' ? await lbListen(o.name) : undefined;
  // only when it runs this build's image: otherwise it is replaced below (and resumes from the same volume)
  if (was && was.port === o.port && was.image === LB_IMAGE) {
    rec.lbNetwork = was.net;
    info(`restarting the stopped LB of cluster ${o.name}; it resumes what it saved (\`shardctl down --volumes\` first for a fresh cluster)`);
    await docker(['start', old[0].id]);
    if (!(await waitForLb(url, 30_000))) throw new ExitError(`the restarted LB did not answer at ${url}; see \`shardctl logs lb\``);
    writeRecord(rec);
    return rec;
  }
  // otherwise leftover containers of an earlier run of this cluster go first; its volumes (the LB's metadata, the
  // servers' data) stay, so the LB resumes the same cluster with its rows (`down --volumes` deletes them)
  await dockerDown(o.name, { keepVolume: true });
  const net = networkName(o.name);
  await docker(['network', 'create', ...labels(o.name, 'network'), net]);
  await docker(['volume', 'create', ...labels(o.name, 'volume'), volumeName(o.name)]);
  const startLb = (net: 'host' | 'publish') => docker(lbRunArgs({ cluster: o.name, port: o.port, image: LB_IMAGE, serverImage: SERVER_IMAGE, env: o.env, net }));
  rec.lbNetwork = o.net ?? 'host';
  await startLb(rec.lbNetwork);
  let answered = await waitForLb(url, o.net ? 30_000 : 15_000);
  if (!answered && !o.net) {
    info(`the LB on the host's network did not answer at ${url} (rootless docker, or an engine without host networking?); starting it behind a published port instead (\`--lb-network publish\`)`);
    await docker(['rm', '-f', lbContainerName(o.name)]).catch(() => '');
    await startLb('publish');
    rec.lbNetwork = 'publish';
    answered = await waitForLb(url, 30_000);
  }
  if (!answered) {
    const logs = await docker(['logs', '--tail', '15', lbContainerName(o.name)]).catch((e) => String(e));
    throw new ExitError(`the LB container did not answer at ${url} within 30 s; its log:\n${logs}`);
  }
  writeRecord(rec);
  if (o.foreground) {
    info('following the LB log; Ctrl-C stops the cluster');
    const follow = execa('docker', ['logs', '-f', lbContainerName(o.name)], { stdio: 'inherit', reject: false });
    const stop = () => follow.kill('SIGTERM');
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await follow;
    await dockerDown(o.name);
  }
  return rec;
}

/** Where the cluster's LB container listens: the host port it publishes, or (host network) the one it binds. */
async function lbListen(cluster: string): Promise<{ port?: number; net: 'host' | 'publish'; image?: string } | undefined> {
  const out = await docker(['inspect', '-f', '{{json .HostConfig.PortBindings}} {{.HostConfig.NetworkMode}} {{json .Config.Env}} {{.Config.Image}}', lbContainerName(cluster)]).catch(() => '');
  if (!out) return undefined;
  const host = / host /.test(out);
  const m = host ? /"PORT=(\d+)"/.exec(out) : /"HostPort":"(\d+)"/.exec(out);
  return { port: m ? Number(m[1]) : undefined, net: host ? 'host' : 'publish', image: out.trim().split(' ').pop() };
}

/** Kills the LB's node process from the host: a crash, which the restart policy answers (docker kill would not). */
export async function dockerCrashLb(cluster: string): Promise<void> {
  const pid = Number(await docker(['inspect', '-f', '{{.State.Pid}}', lbContainerName(cluster)]));
  if (!pid) throw new ExitError(`the LB container of ${cluster} is not running`);
  process.kill(pid, 'SIGKILL');
}

export async function dockerClusterRunning(rec: ClusterRecord): Promise<boolean> {
  try {
    const rows = parsePs(await docker(psArgs(rec.name, 'lb', false)));
    return rows.some((r) => r.state === 'running');
  } catch {
    return false;
  }
}

/** Removes the cluster's containers (LB first, so it cannot respawn servers) and network; its volumes too unless keepVolume. */
export async function dockerDown(name: string, o: { keepVolume?: boolean } = {}): Promise<{ containers: number; network: boolean; volume: boolean }> {
  const filter = `label=${LABEL_CLUSTER}=${name}`;
  const lb = parsePs(await docker(psArgs(name, 'lb', true)));
  // a graceful stop first (the LB stops its servers, and their data stays), then whatever is left is removed
  const running = lb.filter((r) => r.state === 'running');
  if (running.length) await docker(['stop', '-t', '20', ...running.map((r) => r.id)], { timeoutMs: 60_000 }).catch(() => '');
  if (lb.length) await docker(['rm', '-f', '-v', ...lb.map((r) => r.id)], { timeoutMs: 60_000 });
  const rest = parsePs(await docker(psArgs(name, undefined, true)));
  if (rest.length) await docker(['rm', '-f', '-v', ...rest.map((r) => r.id)], { timeoutMs: 120_000 });
  const nets = (await docker(['network', 'ls', '-q', '--filter', filter])).split('\n').filter(Boolean);
  if (nets.length) await docker(['network', 'rm', ...nets]);
  let vols: string[] = [];
  if (!o.keepVolume) {
    vols = (await docker(['volume', 'ls', '-q', '--filter', filter])).split('\n').filter(Boolean);
    if (vols.length) await docker(['volume', 'rm', '-f', ...vols]);
  }
  return { containers: lb.length + rest.length, network: nets.length > 0, volume: vols.length > 0 };
}

export async function dockerKill(cluster: string, server: string): Promise<void> {
  // found by labels: a server's container is never addressed by a name another cluster could share
  const ids = parsePs(await docker(psArgs(cluster, 'server', false, server))).filter((r) => r.server === server).map((r) => r.id);
  if (ids.length === 0) throw new RuntimeError(`no running server ${server} in cluster ${cluster}`);
  await docker(['kill', ...ids]);
}

/** `docker pause` of one running server's container (found by labels); its ids are what `dockerUnpause` needs. */
export async function dockerPause(cluster: string, server: string): Promise<string[]> {
  const ids = parsePs(await docker(psArgs(cluster, 'server', false, server)))
    .filter((r) => r.server === server && r.state === 'running')
    .map((r) => r.id);
  if (ids.length === 0) throw new RuntimeError(`no running server ${server} in cluster ${cluster}`);
  await docker(pauseArgs(ids), { timeoutMs: 30_000 });
  return ids;
}

/** `docker unpause` of containers `dockerPause` froze; false when they are no longer paused or no longer exist. */
export async function dockerUnpause(ids: string[]): Promise<boolean> {
  try {
    await docker(unpauseArgs(ids), { timeoutMs: 30_000 });
    return true;
  } catch (e) {
    if (unpauseNeedless(String((e as RuntimeError).stderrTail ?? (e as Error).message))) return false;
    throw e;
  }
}

/** `docker kill` of every running container of the cluster at once (the LB and its servers): a power cut. */
export async function dockerKillAll(cluster: string): Promise<number> {
  const ids = parsePs(await docker(psArgs(cluster, undefined, false))).map((r) => r.id);
  if (ids.length) await docker(killArgs(ids), { timeoutMs: 60_000 });
  return ids.length;
}

export async function dockerPs(cluster: string): Promise<{ name: string; id: string; state: string }[]> {
  return parsePs(await docker(psArgs(cluster, undefined, true))).map((r) => ({
    name: r.role === 'lb' ? 'lb' : r.server,
    id: r.id,
    state: r.state,
  }));
}

export async function dockerLogs(cluster: string, target: string, lines: number, follow: boolean): Promise<void> {
  let container = lbContainerName(cluster);
  if (target !== 'lb') {
    const rows = parsePs(await docker(psArgs(cluster, 'server', true)));
    const { resolveServer } = await import('./commands/lifecycle.js');
    const name = resolveServer(target, rows.map((r) => r.server));
    container = rows.find((r) => r.server === name)!.id;
  }
  await execa('docker', ['logs', '--tail', String(lines), ...(follow ? ['-f'] : []), container], { stdio: 'inherit' });
}
