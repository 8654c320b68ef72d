/**
 * The process runtime: each shard server is a child `node` process on 127.0.0.1 with a port of its own (the
 * server picks a free one and prints it). Pids and ports go to <stateDir>/servers.json on every change, so
 * `shardctl down` can stop them even if the LB died, and a restarted LB can adopt them. Each server keeps its
 * data in <stateDir>/data/<name> (SHARDCTL_DATA_DIR), which outlives the process.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { RuntimeError, type ServerHandle, type ServerRuntime, type ServerState, type StopOptions } from './runtime.js';

const SERVER_MAIN = fileURLToPath(new URL('../server/main.js', import.meta.url));

/** A server process the runtime started, as saved in servers.json. */
export interface Entry {
  name: string;
  pid: number;
  port: number;
  /** the process's start time (/proc/<pid>/stat field 22): a pid reused by another process has another */
  start?: string;
}

/** A process's start time in clock ticks since boot, or undefined where /proc is not available. */
export function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Is this entry's process still the one the runtime started (alive, same start time)? */
export function sameProcess(e: Entry): boolean {
  if (!pidAlive(e.pid)) return false;
  const now = procStart(e.pid);
  return e.start !== undefined && now !== undefined && now === e.start;
}

/** Is the process running? A zombie is not: a killed server whose LB died too waits for a reaper (pid 1 of a
 * container or VM may never reap it) while kill(pid, 0) still succeeds. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // no /proc (not Linux): trust kill(0)
  return procState(pid) !== 'Z';
}

/**
 * Stops (SIGSTOP) a server process the runtime started: alive but silent, as a `docker pause`d container. Only the
 * process of this entry (same pid and start time) is signalled; false when it no longer runs.
 */
export function pauseProcess(e: Entry): boolean {
  if (!sameProcess(e)) return false;
  try {
    process.kill(e.pid, 'SIGSTOP');
    return true;
  } catch {
    return false;
  }
}

/**
 * Resumes (SIGCONT) a process `pauseProcess` stopped, if it is still that process (same pid and start time): a
 * pid reused since is never signalled. False when it is gone (the LB may have replaced it meanwhile).
 */
export function resumeProcess(e: Entry): boolean {
  if (!sameProcess(e)) return false;
  try {
    process.kill(e.pid, 'SIGCONT');
    return true;
  } catch {
    return false;
  }
}

/** The process state letter in /proc/<pid>/stat (R, S, T for stopped, Z...), or undefined without /proc. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2];
  } catch {
    return undefined;
  }
}

/** Where a process-runtime server keeps its data. */
export const serverDataDir = (stateDir: string, name: string) => join(stateDir, 'data', name);

export function readServerPids(stateDir: string): Entry[] {
  try {
    return JSON.parse(readFileSync(join(stateDir, 'servers.json'), 'utf8')) as Entry[];
  } catch {
    return [];
  }
}

export class ProcessRuntime implements ServerRuntime {
  readonly kind = 'process';
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly stateDir: string,
    private readonly startTimeoutMs = 10_000,
  ) {
    mkdirSync(join(stateDir, 'logs'), { recursive: true });
    // adopt servers a previous LB of this cluster left running: only processes it started (same pid AND start
    // time); after a reboot or a pid reuse, the pid names an unrelated process, which is never adopted or signalled
    for (const e of readServerPids(stateDir)) if (sameProcess(e)) this.entries.set(e.name, e);
  }

  private save(): void {
    writeFileSync(join(this.stateDir, 'servers.json'), JSON.stringify([...this.entries.values()]));
  }

  private handle(e: Entry): ServerHandle {
    return { name: e.name, url: `http://127.0.0.1:${e.port}`, id: String(e.pid) };
  }

  async spawn(name: string): Promise<ServerHandle> {
    await this.stop(name);
    const logFile = join(this.stateDir, 'logs', `${name}.log`);
    const fd = openSync(logFile, 'a');
    // SHARDCTL_SERVER_NODE_ARGS: extra node flags for the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
    const nodeArgs = (process.env.SHARDCTL_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, SERVER_MAIN], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SERVER_ID: name, SHARDCTL_DATA_DIR: serverDataDir(this.stateDir, name) },
      stdio: ['ignore', 'pipe', fd],
      detached: true,
    });
    closeSync(fd);
    child.unref();
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new RuntimeError(`server ${name} did not start within ${this.startTimeoutMs} ms (log: ${logFile})`));
      }, this.startTimeoutMs);
      const rl = createInterface({ input: child.stdout! });
      rl.once('line', (line) => {
        clearTimeout(timer);
        rl.close();
        child.stdout!.destroy();
        try {
          resolve(JSON.parse(line).port as number);
        } catch {
          reject(new RuntimeError(`server ${name} printed ${line.slice(0, 100)} instead of its port`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new RuntimeError(`server ${name} exited with code ${code} while starting (log: ${logFile})`, undefined, code ?? undefined));
      });
    });
    const e = { name, pid: child.pid!, port, start: procStart(child.pid!) };
    this.entries.set(name, e);
    this.save();
    return this.handle(e);
  }

  private signal(name: string, sig: NodeJS.Signals): boolean {
    const e = this.entries.get(name);
    if (!e) return false;
    if (sameProcess(e)) {
      try {
        process.kill(e.pid, sig);
      } catch {
        /* already gone */
      }
    }
    this.entries.delete(name);
    this.save();
    return true;
  }

  async stop(name: string, o: StopOptions = {}): Promise<void> {
    const e = this.entries.get(name);
    const ours = e !== undefined && sameProcess(e);
    // SIGCONT first: a stopped (paused) process would not act on SIGTERM
    if (ours) killQuiet(e.pid, 'SIGCONT');
    if (this.signal(name, 'SIGTERM') && e && ours) await waitGone(e.pid, 3000).then((gone) => gone || killQuiet(e.pid));
    if (o.removeData) rmSync(serverDataDir(this.stateDir, name), { recursive: true, force: true });
  }

  async kill(name: string): Promise<void> {
    const e = this.entries.get(name);
    if (!e || !sameProcess(e)) throw new RuntimeError(`no running server named ${name}`);
    // keep the entry until it is respawned: a crash, not a removal; `list` no longer reports it
    killQuiet(e.pid);
    await waitGone(e.pid, 2000);
  }

  async list(): Promise<ServerHandle[]> {
    return [...this.entries.values()].filter(sameProcess).map((e) => this.handle(e));
  }

  async state(name: string): Promise<ServerState> {
    const e = this.entries.get(name);
    if (!e) return 'missing';
    return sameProcess(e) ? 'running' : 'exited';
  }

  async logs(name: string, lines = 200): Promise<string> {
    const f = join(this.stateDir, 'logs', `${name}.log`);
    if (!existsSync(f)) throw new RuntimeError(`no log for ${name}`);
    return readFileSync(f, 'utf8').split('\n').slice(-lines - 1).join('\n');
  }

  async stopAll(o: StopOptions = {}): Promise<void> {
    await Promise.all([...this.entries.keys()].map((n) => this.stop(n)));
    if (o.removeData) rmSync(join(this.stateDir, 'data'), { recursive: true, force: true });
  }
}

function killQuiet(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!pidAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !pidAlive(pid);
}
