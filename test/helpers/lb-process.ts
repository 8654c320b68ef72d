/**
 * Test helper: a real LB process (dist/src/lb/main.js) on a free loopback port with the process runtime and a
 * state dir of its own. The servers it spawns are real processes too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export const LB_MAIN = fileURLToPath(new URL('../../src/lb/main.js', import.meta.url));
export const CONFIGS = fileURLToPath(new URL('../../../configs/', import.meta.url));

export function config(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(CONFIGS, `${name}.json`), 'utf8')) as Record<string, unknown>;
}

export interface LbProc {
  url: string;
  port: number;
  stateDir: string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startLb(env: Record<string, string> = {}, stateDir?: string): Promise<LbProc> {
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'shardctl-test-'));
  const child = spawn(process.execPath, [LB_MAIN], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SHARDCTL_RUNTIME: 'process', SHARDCTL_STATE_DIR: dir, SHARDCTL_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(JSON.parse(l).port as number));
    child.once('exit', (c) => reject(new Error(`LB exited with ${c}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    stateDir: dir,
    child,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        child.kill(signal);
      }),
  };
}

export interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export async function call(url: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await request(`${url}${path}`, {
    method: method as 'GET',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.statusCode, body: parsed, text };
}

export const row = (id: number, marks: number | string = id % 100) => ({ Stud_id: id, Stud_name: `S${id}`, Stud_marks: marks });

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Every row of the whole key space [0, high], through the LB. */
export async function allRows(url: string, high = 1 << 20): Promise<{ Stud_id: number; Stud_marks: unknown }[]> {
  const r = await call(url, 'POST', '/read', { Stud_id: { low: 0, high } });
  if (r.status !== 200) throw new Error(`read failed: ${r.text}`);
  return r.body.data;
}

/** Asserts that every replica of every shard holds the same rows (through GET /read/{server}). */
export async function replicasIdentical(url: string): Promise<void> {
  const st = (await call(url, 'GET', '/status')).body as { servers: Record<string, string[]> };
  const seen = new Map<string, string>();
  for (const srv of Object.keys(st.servers)) {
    const b = (await call(url, 'GET', `/read/${srv}`)).body;
    for (const shard of st.servers[srv]) {
      const j = JSON.stringify(b[shard]);
      if (seen.has(shard) && j !== seen.get(shard)) throw new Error(`${srv} differs on ${shard}`);
      seen.set(shard, j);
    }
  }
}
