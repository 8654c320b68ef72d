/** Verbs that map one-to-one to LB endpoints: init, write, read, update, del, add, rm (through the typed client). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import chalk from 'chalk';
import type { AddRequest, InitConfig, RmRequest, RowInput } from '../../client/index.js';
import { UsageError } from '../errors.js';
import { withLb } from '../http.js';
import { intArg, ok, print, readPayload } from '../io.js';
import type { GlobalOpts } from '../context.js';
import { printPlan } from './dry-run.js';

export const CONFIG_DIR = fileURLToPath(new URL('../../../../configs/', import.meta.url));

export interface DryRunOpts extends GlobalOpts {
  dryRun?: boolean;
}

export async function initCmd(file: string | undefined, o: DryRunOpts): Promise<void> {
  // a shipped configuration by name (default, a2, a3), else inline JSON, @file, a path or - for stdin
  const named = file && /^[a-z0-9_-]+$/i.test(file) && existsSync(`${CONFIG_DIR}${file}.json`) ? `${CONFIG_DIR}${file}.json` : undefined;
  const payload = (named || !file ? JSON.parse(readFileSync(named ?? `${CONFIG_DIR}default.json`, 'utf8')) : await readPayload(file, 'init')) as InitConfig;
  if (o.dryRun) {
    const plan = await withLb(o, (c) => c.init(payload, { dryRun: true }));
    return print(o.json, plan, () => printPlan(plan));
  }
  const body = await withLb(o, (c) => c.init(payload));
  const p = payload as { N?: number; shards?: unknown[] };
  print(o.json, body, () => ok(`Configured Database: ${p.N} servers, ${p.shards?.length ?? 0} shards`));
}

export async function writeCmd(payloadArg: string, o: GlobalOpts): Promise<void> {
  let payload = await readPayload(payloadArg, 'write');
  if (Array.isArray(payload)) payload = { data: payload };
  else if (payload && typeof payload === 'object' && !('data' in payload)) payload = { data: [payload] };
  // the body as given (a malformed one is the LB's 400 to explain), not rebuilt
  const body = await withLb(o, (c) => c.request<{ message: string }>('POST', '/write', payload));
  print(o.json, body, () => ok(body.message));
}

export async function readCmd(low: string, high: string | undefined, o: GlobalOpts): Promise<void> {
  const lo = intArg(low, 'low');
  const hi = high === undefined ? lo : intArg(high, 'high');
  const body = await withLb(o, (c) => c.read(lo, hi));
  print(o.json, body, () => {
    process.stdout.write(chalk.dim(`shards queried: ${body.shards_queried.join(', ') || '(none)'}; ${body.data.length} rows\n`));
    for (const r of body.data) process.stdout.write(`${JSON.stringify(r)}\n`);
  });
}

export async function updateCmd(payloadArg: string, o: GlobalOpts): Promise<void> {
  let payload = (await readPayload(payloadArg, 'update')) as Record<string, unknown>;
  if (payload && !('data' in payload) && 'Stud_id' in payload) payload = { Stud_id: payload.Stud_id, data: payload };
  const body = await withLb(o, (c) =>
    typeof payload?.Stud_id === 'number' && payload.data && typeof payload.data === 'object'
      ? c.update(payload.Stud_id, payload.data as RowInput)
      : c.request<{ message: string }>('PUT', '/update', payload),
  );
  print(o.json, body, () => ok(body.message));
}

export async function delCmd(id: string, o: GlobalOpts): Promise<void> {
  const key = intArg(id, 'Stud_id');
  const body = await withLb(o, (c) => c.del(key));
  print(o.json, body, () => ok(body.message));
}

export async function addCmd(payloadArg: string, o: DryRunOpts): Promise<void> {
  const payload = (await readPayload(payloadArg, 'add')) as AddRequest;
  if (o.dryRun) {
    const plan = await withLb(o, (c) => c.add(payload, { dryRun: true }));
    return print(o.json, plan, () => printPlan(plan));
  }
  const body = await withLb(o, (c) => c.add(payload));
  print(o.json, body, () => ok(`${body.message} (N=${body.N})`));
}

export async function rmCmd(servers: string[], opts: DryRunOpts & { n?: string; force?: boolean; payload?: string }): Promise<void> {
  let payload: RmRequest;
  if (opts.payload) payload = (await readPayload(opts.payload, 'rm')) as RmRequest;
  else {
    const n = opts.n === undefined ? servers.length : intArg(opts.n, '--n');
    if (n === 0) throw new UsageError('rm: name servers to remove, or pass --n for random ones');
    payload = { n, servers, ...(opts.force ? { force: true } : {}) };
  }
  if (opts.dryRun) {
    const plan = await withLb(opts, (c) => c.rm(payload, { dryRun: true }));
    return print(opts.json, plan, () => printPlan(plan));
  }
  const body = await withLb(opts, (c) => c.rm(payload));
  print(opts.json, body, () => ok(`Removed ${body.message.servers.join(', ')} (N=${body.message.N})`));
}
