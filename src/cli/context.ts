/**
 * Where a cluster lives: its record (~/.shardctl/<name>/cluster.json, or $SHARDCTL_HOME) says which runtime
 * runs it, its port, its LB pid or container. Commands reach the LB at --url, $SHARDCTL_URL, the record's
 * URL, or http://127.0.0.1:5000.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface ClusterRecord {
  name: string;
  runtime: 'process' | 'docker';
  port: number;
  url: string;
  lbPid?: number;
  lbContainer?: string;
  network?: string;
  /** docker: where the LB listens (host: on the host's network; publish: behind a published port) */
  lbNetwork?: 'host' | 'publish';
  stateDir: string;
  startedAt: string;
}

export function shardctlHome(): string {
  return process.env.SHARDCTL_HOME || join(homedir(), '.shardctl');
}

export function stateDirOf(name: string): string {
  return join(shardctlHome(), name);
}

export function readRecord(name: string): ClusterRecord | undefined {
  const f = join(stateDirOf(name), 'cluster.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as ClusterRecord;
  } catch {
    return undefined;
  }
}

export function writeRecord(r: ClusterRecord): void {
  mkdirSync(r.stateDir, { recursive: true });
  writeFileSync(join(r.stateDir, 'cluster.json'), JSON.stringify(r, null, 2));
}

export function removeRecord(name: string): void {
  rmSync(join(stateDirOf(name), 'cluster.json'), { force: true });
}

export interface GlobalOpts {
  url?: string;
  name?: string;
  json?: boolean;
}

export function lbUrl(o: GlobalOpts): string {
  if (o.url) return o.url.replace(/\/+$/, '');
  if (process.env.SHARDCTL_URL) return process.env.SHARDCTL_URL.replace(/\/+$/, '');
  const r = readRecord(o.name ?? 'default');
  return r?.url ?? 'http://127.0.0.1:5000';
}
