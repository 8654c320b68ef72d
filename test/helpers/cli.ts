/** Test helper: run the real `bin/shardctl` with a state home of its own; find a free loopback port. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/shardctl', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A runner bound to a fresh SHARDCTL_HOME (so tests never touch ~/.shardctl); `.home` is that folder. */
export function cliRunner(prefix: string, env: Record<string, string> = {}): ((args: string[], timeoutMs?: number) => Promise<CliResult>) & { home: string } {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const run = (args: string[], timeoutMs = 600_000) =>
    new Promise<CliResult>((resolve) => {
      execFile(process.execPath, [BIN, ...args], { timeout: timeoutMs, env: { ...process.env, SHARDCTL_HOME: home, NO_COLOR: '1', SHARDCTL_URL: '', ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  return Object.assign(run, { home });
}

export async function freePort(): Promise<number> {
  return new Promise((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
}
