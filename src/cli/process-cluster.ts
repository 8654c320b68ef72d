/**
 * Starting and stopping a cluster on the process runtime: the LB is a detached `node` process on 127.0.0.1,
 * which spawns the servers as its own children (runtime/process.ts). Nothing here is on a request path.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pauseProcess, pidAlive, readServerPids, resumeProcess, sameProcess, type Entry } from '../runtime/process.js';
import { ExitError } from './errors.js';
import { waitForLb } from './http.js';
import { removeRecord, writeRecord, type ClusterRecord } from './context.js';

/** SHARDCTL_LB_NODE_ARGS: extra node flags for a process-runtime LB, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" */
const lbNodeArgs = (): string[] => (process.env.SHARDCTL_LB_NODE_ARGS ?? '').split(' ').filter(Boolean);
export const LB_MAIN = fileURLToPath(new URL('../lb/main.js', import.meta.url));

/** Rejects with a clear reason when something already listens on the port. */
export function checkPortFree(port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new ExitError(
          e.code === 'EADDRINUSE'
            ? `port ${port} is taken: stop what listens there, or pick another with --port`
            : `cannot use port ${port}: ${e.message}`,
        ),
      ),
    );
    s.listen(port, host, () => s.close(() => resolve()));
  });
}

export function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

export interface ProcessUpOptions {
  name: string;
  port: number;
  stateDir: string;
  foreground: boolean;
  env?: Record<string, string>;
}

export async function processUp(o: ProcessUpOptions): Promise<ClusterRecord> {
  await checkPortFree(o.port);
  const logFile = join(o.stateDir, 'lb.log');
  const env = {
    ...process.env,
    ...o.env,
    PORT: String(o.port),
    HOST: '127.0.0.1',
    SHARDCTL_RUNTIME: 'process',
    SHARDCTL_STATE_DIR: o.stateDir,
    SHARDCTL_CLUSTER: o.name,
  };
  const url = `http://127.0.0.1:${o.port}`;
  const rec: ClusterRecord = { name: o.name, runtime: 'process', port: o.port, url, stateDir: o.stateDir, startedAt: new Date().toISOString() };
  if (o.foreground) {
    const child = spawn(process.execPath, [...lbNodeArgs(), LB_MAIN], { env, stdio: ['ignore', 'inherit', 'inherit'] });
    rec.lbPid = child.pid;
    writeRecord(rec);
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 0)));
    removeRecord(o.name);
    if (code !== 0) throw new ExitError(`the load balancer exited with code ${code}`, code);
    return rec;
  }
  mkdirSync(o.stateDir, { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...lbNodeArgs(), LB_MAIN], { env, stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  child.unref();
  rec.lbPid = child.pid;
  let exited = false;
  child.once('exit', () => (exited = true));
  if (!(await waitForLb(url, 20_000, () => !exited))) {
    if (!exited) process.kill(child.pid!, 'SIGKILL');
    throw new ExitError(`the load balancer did not start; last lines of ${logFile}:\n${tail(logFile)}`);
  }
  writeRecord(rec);
  return rec;
}

/**
 * Stops the LB (which stops its servers), then any server it left behind. The metadata (meta.db, events) and the
 * servers' data (data/) stay for the next `up`, unless `volumes`: then the whole state dir goes.
 */
export async function processDown(rec: ClusterRecord, o: { volumes?: boolean } = {}): Promise<{ stoppedServers: number; removedData: boolean }> {
  if (rec.lbPid && pidAlive(rec.lbPid)) {
    process.kill(rec.lbPid, 'SIGTERM');
    const end = Date.now() + 15_000;
    while (pidAlive(rec.lbPid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    if (pidAlive(rec.lbPid)) process.kill(rec.lbPid, 'SIGKILL');
  }
  let stopped = 0;
  for (const e of readServerPids(rec.stateDir)) {
    if (sameProcess(e)) {
      try {
        process.kill(e.pid, 'SIGKILL');
        stopped++;
      } catch {
        /* gone */
      }
    }
  }
  if (o.volumes) rmSync(rec.stateDir, { recursive: true, force: true });
  else rmSync(join(rec.stateDir, 'servers.json'), { force: true });
  return { stoppedServers: stopped, removedData: !!o.volumes };
}

export function processKill(rec: ClusterRecord, server: string): number {
  const e = readServerPids(rec.stateDir).find((x) => x.name === server);
  if (!e || !sameProcess(e)) throw new ExitError(`server ${server} is not running`);
  process.kill(e.pid, 'SIGKILL');
  return e.pid;
}

/** SIGSTOPs one running server of the cluster; its entry (pid and start time) is what `processResume` needs. */
export function processPause(rec: ClusterRecord, server: string): Entry {
  const e = readServerPids(rec.stateDir).find((x) => x.name === server);
  if (!e || !pauseProcess(e)) throw new ExitError(`server ${server} is not running`);
  return e;
}

/** SIGCONTs a server `processPause` stopped, if that very process still runs; false when it is gone. */
export function processResume(e: Entry): boolean {
  return resumeProcess(e);
}

/**
 * Every server and the LB SIGKILLed at once (a power cut), then waits (up to 5 s) until none runs, so the next
 * `processUp` finds the port free. Their data stays. Returns how many processes it killed.
 */
export async function processKillAll(rec: ClusterRecord): Promise<number> {
  const pids: number[] = [];
  if (rec.lbPid && pidAlive(rec.lbPid)) pids.push(rec.lbPid);
  for (const e of readServerPids(rec.stateDir)) if (sameProcess(e)) pids.push(e.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  const end = Date.now() + 5000;
  while (pids.some(pidAlive) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  await waitPortFree(rec.port, Math.max(0, end - Date.now()));
  return pids.length;
}

/**
 * Waits until nothing listens on the port (up to `ms`). A SIGKILLed LB reads as dead (its main thread a zombie)
 * while its other threads are still exiting and its listening socket still open, for a few milliseconds: an
 * immediate restart on the same port would find it taken.
 */
export async function waitPortFree(port: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    const free = await checkPortFree(port).then(
      () => true,
      () => false,
    );
    if (free || Date.now() >= end) return free;
    await new Promise((r) => setTimeout(r, 20));
  }
}
