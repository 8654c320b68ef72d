/** CLI input and output helpers: payloads from an argument, a file or stdin; JSON or human output. */
import { existsSync, readFileSync } from 'node:fs';
import chalk from 'chalk';
import { UsageError } from './errors.js';

/** A JSON payload from `arg`: inline JSON, @file, a file path, or - for stdin. */
export async function readPayload(arg: string | undefined, what: string): Promise<unknown> {
  if (arg === undefined) throw new UsageError(`${what}: give a JSON payload, @file.json, or - for stdin`);
  let text: string;
  if (arg === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } else if (arg.startsWith('@') || (!/^\s*[[{"]/.test(arg) && (existsSync(arg) || /\.json$|\//.test(arg)))) {
    const f = arg.startsWith('@') ? arg.slice(1) : arg;
    if (!existsSync(f)) throw new UsageError(`${what}: no file ${f}`);
    text = readFileSync(f, 'utf8');
  } else text = arg;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what}: not valid JSON (${(e as Error).message})`);
  }
}

export function print(json: boolean | undefined, body: unknown, human: () => void): void {
  if (json) process.stdout.write(`${JSON.stringify(body)}\n`);
  else human();
}

export function ok(msg: string): void {
  process.stdout.write(`${chalk.green('✔')} ${msg}\n`);
}

export function info(msg: string): void {
  process.stderr.write(`${chalk.dim(msg)}\n`);
}

/** A plain text table. */
export function table(head: string[], rows: (string | number)[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) => r.map((c, i) => String(c ?? '').padEnd(w[i])).join('  ').trimEnd();
  return [chalk.bold(line(head)), ...rows.map(line)].join('\n');
}

export function intArg(v: string, name: string): number {
  if (!/^-?\d+$/.test(v)) throw new UsageError(`${name} must be an integer, not ${v}`);
  return Number(v);
}
