/** Verbs that map one-to-one to LB endpoints: init, write, read, update, del, add, rm. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import chalk from 'chalk';
import { UsageError } from '../errors.js';
import { callOk } from '../http.js';
import { intArg, ok, print, readPayload } from '../io.js';
import { lbUrl, type GlobalOpts } from '../context.js';

export const CONFIG_DIR = fileURLToPath(new URL('../../../../configs/', import.meta.url));

export async function initCmd(file: string | undefined, o: GlobalOpts): Promise<void> {
  // a shipped configuration by name (default, a2, a3), else inline JSON, @file, a path or - for stdin
  const named = file && /^[a-z0-9_-]+$/i.test(file) && existsSync(`${CONFIG_DIR}${file}.json`) ? `${CONFIG_DIR}${file}.json` : undefined;
  const payload = named || !file ? JSON.parse(readFileSync(named ?? `${CONFIG_DIR}default.json`, 'utf8')) : await readPayload(file, 'init');
  const body = await callOk(lbUrl(o), 'POST', '/init', payload, 300_000);
  const p = payload as { N?: number; shards?: unknown[] };
  print(o.json, body, () => ok(`Configured Database: ${p.N} servers, ${p.shards?.length ?? 0} shards`));
}

export async function writeCmd(payloadArg: string, o: GlobalOpts): Promise<void> {
  let payload = await readPayload(payloadArg, 'write');
  if (Array.isArray(payload)) payload = { data: payload };
  else if (payload && typeof payload === 'object' && !('data' in payload)) payload = { data: [payload] };
  const body = await callOk(lbUrl(o), 'POST', '/write', payload);
  print(o.json, body, () => ok((body as { message: string }).message));
}

export async function readCmd(low: string, high: string | undefined, o: GlobalOpts): Promise<void> {
  const lo = intArg(low, 'low');
  const hi = high === undefined ? lo : intArg(high, 'high');
  const body = (await callOk(lbUrl(o), 'POST', '/read', { Stud_id: { low: lo, high: hi } })) as { shards_queried: string[]; data: Record<string, unknown>[] };
  print(o.json, body, () => {
    process.stdout.write(chalk.dim(`shards queried: ${body.shards_queried.join(', ') || '(none)'}; ${body.data.length} rows\n`));
    for (const r of body.data) process.stdout.write(`${JSON.stringify(r)}\n`);
  });
}

export async function updateCmd(payloadArg: string, o: GlobalOpts): Promise<void> {
  let payload = (await readPayload(payloadArg, 'update')) as Record<string, unknown>;
  if (payload && !('data' in payload) && 'Stud_id' in payload) payload = { Stud_id: payload.Stud_id, data: payload };
  const body = await callOk(lbUrl(o), 'PUT', '/update', payload);
  print(o.json, body, () => ok((body as { message: string }).message));
}

export async function delCmd(id: string, o: GlobalOpts): Promise<void> {
  const body = await callOk(lbUrl(o), 'DELETE', '/del', { Stud_id: intArg(id, 'Stud_id') });
  print(o.json, body, () => ok((body as { message: string }).message));
}

export async function addCmd(payloadArg: string, o: GlobalOpts): Promise<void> {
  const payload = await readPayload(payloadArg, 'add');
  const body = (await callOk(lbUrl(o), 'POST', '/add', payload, 300_000)) as { N: number; message: string };
  print(o.json, body, () => ok(`${body.message} (N=${body.N})`));
}

export async function rmCmd(servers: string[], opts: GlobalOpts & { n?: string; force?: boolean; payload?: string }): Promise<void> {
  let payload: unknown;
  if (opts.payload) payload = await readPayload(opts.payload, 'rm');
  else {
    const n = opts.n === undefined ? servers.length : intArg(opts.n, '--n');
    if (n === 0) throw new UsageError('rm: name servers to remove, or pass --n for random ones');
    payload = { n, servers, ...(opts.force ? { force: true } : {}) };
  }
  const body = (await callOk(lbUrl(opts), 'DELETE', '/rm', payload, 300_000)) as { message: { N: number; servers: string[] } };
  print(opts.json, body, () => ok(`Removed ${body.message.servers.join(', ')} (N=${body.message.N})`));
}
