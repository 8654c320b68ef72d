/**
 * Test helper: real shard server processes (dist/src/server/main.js) on fixed loopback ports with data dirs of
 * their own, so a server killed and started again keeps its address and its data, as the process runtime does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const SERVER_MAIN = fileURLToPath(new URL('../../src/server/main.js', import.meta.url));

export interface ServerProc {
  name: string;
  url: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  /** SIGKILL (or another signal) and wait for the exit */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts a server and resolves once it listens (its first stdout line). */
export async function startServer(name: string, port: number, dataDir: string, env: Record<string, string> = {}): Promise<ServerProc> {
  const child = spawn(process.execPath, [SERVER_MAIN], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', SERVER_ID: name, SHARDCTL_DATA_DIR: dataDir, SHARDCTL_LOG_LEVEL: process.env.SHARDCTL_LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', () => resolve());
    child.once('exit', (c) => reject(new Error(`server ${name} exited with ${c}`)));
  });
  child.stdout!.resume();
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    child,
    kill: (signal: NodeJS.Signals = 'SIGKILL') =>
      new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        if (signal !== 'SIGKILL') {
          try {
            process.kill(child.pid!, 'SIGCONT'); // a paused process would not act on SIGTERM (SIGKILL needs no waking)
          } catch {
            /* gone */
          }
        }
        child.kill(signal);
      }),
  };
}
