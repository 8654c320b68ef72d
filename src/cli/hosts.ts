/**
 * One host interface per runtime: what the CLI's lifecycle commands need from wherever a cluster runs (local
 * processes, or docker), so no command branches on the runtime. `hostFor(runtime)` picks one; the docker host
 * loads its module only when used.
 */
import { existsSync, readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { pidAlive, readServerPids, sameProcess, type Entry } from '../runtime/process.js';
import { ExitError, UsageError } from './errors.js';
import type { ClusterRecord } from './context.js';
import { processDown, processKill, processKillAll, processPause, processResume, processUp, tail, waitPortFree } from './process-cluster.js';

export interface HostUpOptions {
  name: string;
  port: number;
  stateDir: string;
  foreground: boolean;
  build: boolean;
  env: Record<string, string>;
  net?: 'host' | 'publish';
}

export interface PsRow {
  name: string;
  id: string;
  state: string;
}

/** What `Host.pause` froze, for `Host.resume`: the very process (pid and start time) or the containers. */
export interface PausedRef {
  server: string;
  process?: Entry;
  containers?: string[];
}

export interface Host {
  readonly kind: 'process' | 'docker';
  /** is the cluster's LB running? */
  running(rec: ClusterRecord): Promise<boolean>;
  up(o: HostUpOptions): Promise<ClusterRecord>;
  /** stops the LB and every server; their data stays unless `volumes` */
  down(name: string, rec: ClusterRecord | undefined, volumes: boolean): Promise<Record<string, unknown>>;
  /** crashes one server (SIGKILL / docker kill) */
  kill(rec: ClusterRecord, server: string): Promise<void>;
  /** crashes the LB itself */
  crashLb(rec: ClusterRecord): Promise<void>;
  /** freezes one running server (SIGSTOP / docker pause): alive, holding its sockets, answering nothing */
  pause(rec: ClusterRecord, server: string): Promise<PausedRef>;
  /** resumes what `pause` froze (SIGCONT / docker unpause); false when it no longer runs (nothing to resume) */
  resume(rec: ClusterRecord, ref: PausedRef): Promise<boolean>;
  /** kills every server and the LB at once (SIGKILL / docker kill); their data stays; returns how many */
  killAll(rec: ClusterRecord): Promise<number>;
  ps(rec: ClusterRecord): Promise<PsRow[]>;
  /** prints the tail of a log (the LB's, or a server's given as resolved by `resolve`), following it if asked */
  logs(rec: ClusterRecord, target: string, lines: number, follow: boolean, names: () => Promise<string[]>, resolve: (arg: string, names: string[]) => string): Promise<void>;
}

export const processHost: Host = {
  kind: 'process',
  async running(rec) {
    return !!rec.lbPid && pidAlive(rec.lbPid);
  },
  up(o) {
    return processUp({ name: o.name, port: o.port, stateDir: o.stateDir, foreground: o.foreground, env: o.env });
  },
  async down(_name, rec, volumes) {
    return rec ? processDown(rec, { volumes }) : { stoppedServers: 0, removedData: false };
  },
  async kill(rec, server) {
    processKill(rec, server);
  },
  async crashLb(rec) {
    if (rec.lbPid && pidAlive(rec.lbPid)) process.kill(rec.lbPid, 'SIGKILL');
    // gone only once its port is free (its threads outlive the main one by a few ms): then `up` can start it again
    await waitPortFree(rec.port, 5000);
  },
  async pause(rec, server) {
    return { server, process: processPause(rec, server) };
  },
  async resume(_rec, ref) {
    return !!ref.process && processResume(ref.process);
  },
  killAll(rec) {
    return processKillAll(rec);
  },
  async ps(rec) {
    const rows: PsRow[] = [{ name: 'lb', id: String(rec.lbPid), state: rec.lbPid && pidAlive(rec.lbPid) ? 'running' : 'exited' }];
    for (const e of readServerPids(rec.stateDir)) rows.push({ name: e.name, id: `pid ${e.pid} :${e.port}`, state: sameProcess(e) ? 'running' : 'exited' });
    return rows;
  },
  async logs(rec, target, lines, follow, names, resolve) {
    let file = join(rec.stateDir, 'lb.log');
    if (target !== 'lb') {
      const all = [...new Set([...(await names()), ...readServerPids(rec.stateDir).map((e) => e.name)])];
      file = join(rec.stateDir, 'logs', `${resolve(target, all)}.log`);
    }
    if (!existsSync(file)) throw new ExitError(`no log at ${file}`);
    process.stdout.write(`${tail(file, lines)}\n`);
    if (!follow) return;
    let size = readFileSync(file).length;
    watch(file, () => {
      const buf = readFileSync(file);
      if (buf.length > size) process.stdout.write(buf.subarray(size).toString('utf8'));
      size = buf.length;
    });
    await new Promise(() => undefined);
  },
};

export const dockerHost: Host = {
  kind: 'docker',
  async running(rec) {
    return (await import('./docker-cluster.js')).dockerClusterRunning(rec);
  },
  async up(o) {
    return (await import('./docker-cluster.js')).dockerUp(o);
  },
  async down(name, _rec, volumes) {
    return (await import('./docker-cluster.js')).dockerDown(name, { keepVolume: !volumes });
  },
  async kill(rec, server) {
    await (await import('./docker-cluster.js')).dockerKill(rec.name, server);
  },
  async crashLb(rec) {
    await (await import('./docker-cluster.js')).dockerCrashLb(rec.name);
  },
  async pause(rec, server) {
    return { server, containers: await (await import('./docker-cluster.js')).dockerPause(rec.name, server) };
  },
  async resume(_rec, ref) {
    return !!ref.containers?.length && (await import('./docker-cluster.js')).dockerUnpause(ref.containers);
  },
  async killAll(rec) {
    return (await import('./docker-cluster.js')).dockerKillAll(rec.name);
  },
  async ps(rec) {
    return (await import('./docker-cluster.js')).dockerPs(rec.name);
  },
  async logs(rec, target, lines, follow) {
    await (await import('./docker-cluster.js')).dockerLogs(rec.name, target, lines, follow);
  },
};

export function hostFor(runtime: string): Host {
  if (runtime === 'process') return processHost;
  if (runtime === 'docker') return dockerHost;
  throw new UsageError(`--runtime must be docker or process, not ${runtime}`);
}
