/**
 * The one place that runs the docker CLI (through execa). A failure becomes a RuntimeError carrying the
 * command, the exit code and the tail of stderr.
 */
import { execa } from 'execa';
import { RuntimeError } from './runtime.js';

export interface DockerRunOptions {
  input?: string;
  timeoutMs?: number;
  /** stream output lines to this callback (build progress) */
  onLine?: (line: string) => void;
  env?: Record<string, string>;
}

export async function docker(args: string[], o: DockerRunOptions = {}): Promise<string> {
  const sub = execa('docker', args, {
    input: o.input,
    timeout: o.timeoutMs ?? 120_000,
    reject: false,
    all: true,
    env: o.env,
    buffer: true,
  });
  if (o.onLine) {
    let pending = '';
    sub.all?.on('data', (d: Buffer) => {
      pending += d.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) o.onLine!(l);
    });
  }
  const r = await sub;
  if (r.failed) {
    const err = String(r.stderr || r.all || r.message || '').trim();
    const tail = err.split('\n').slice(-6).join('\n');
    const notRunning = /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect/i.test(err);
    const missing = (r as { code?: string }).code === 'ENOENT';
    throw new RuntimeError(
      missing
        ? 'the docker CLI is not installed (apt-get install docker.io, or use --runtime process)'
        : notRunning
          ? 'the Docker engine is not running (start dockerd, or use --runtime process)'
          : `docker ${args.slice(0, 3).join(' ')} failed (exit ${r.exitCode}): ${tail}`,
      `docker ${args.join(' ')}`,
      r.exitCode,
      tail,
    );
  }
  return String(r.stdout ?? '').trim();
}

/** True when a Docker engine answers. */
export async function dockerAvailable(): Promise<boolean> {
  try {
    await docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export async function imageExists(ref: string): Promise<boolean> {
  try {
    await docker(['image', 'inspect', '--format', '{{.Id}}', ref], { timeoutMs: 20_000 });
    return true;
  } catch {
    return false;
  }
}
