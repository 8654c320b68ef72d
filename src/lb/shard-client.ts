/**
 * The LB's calls to shard servers over undici keep-alive pools, one pool per server. A server's 4xx comes back
 * as an ApiError with the server's own message; a refused connection, a timeout or a 5xx as an UpstreamError,
 * which the cluster treats as that replica failing.
 */
import { Pool } from 'undici';
import type { ApiError, ErrorCode } from '../core/errors.js';
import type { Row, Schema } from '../core/table.js';
import { batchBody, errorFromBody, isErrorCode, parseBatchLine, readBody, STORE_ID_HEADER } from '../shared/wire.js';
import type { ChangeAnswer, MembersBody, PromoteBody, ReplCalls, ShardState, StateReport, VoteAnswer, VoteBody } from './repl-calls.js';

export type { ChangeAnswer, MembersBody, PromoteBody, ReplCalls, ShardState, StateReport, VoteAnswer, VoteBody };

/**
 * A server that failed a call: no answer, a timeout, or a 5xx. `code` is the 5xx body's code when it sent one
 * (a primary's NO_MAJORITY or INDETERMINATE, a replica's BEHIND): the primaries' data path tells them apart.
 */
export class UpstreamError extends Error {
  constructor(
    readonly server: string,
    message: string,
    readonly code?: ErrorCode,
  ) {
    super(`${server}: ${message}`);
    this.name = 'UpstreamError';
  }
}

export interface ShardDigest {
  count: number;
  digest: string;
}

/** What the LB needs from a shard server (STYLE.md, "Interfaces at the seams"). */
export interface ShardClient extends ReplCalls {
  setAddress(server: string, url: string): void;
  forget(server: string): void;
  /** the server's store id when it answers, undefined when it does not */
  heartbeat(server: string, timeoutMs: number): Promise<{ storeId?: string } | undefined>;
  config(server: string, schema: Schema, shards: string[]): Promise<void>;
  /** empties shards on the server (before a copy-back) */
  reset(server: string, schema: Schema, shards: string[]): Promise<void>;
  /**
   * the rows as JSON array text, "[...]"; with `minIndex` only once the replica committed up to it (else BEHIND);
   * `minTerm` is the term of the entry at minIndex, when known
   */
  readRaw(server: string, shard: string, keyCol: string, low: number, high: number, minIndex?: number, minTerm?: number): Promise<string>;
  /** several pre-serialised ops in one /batch call: per op its answer line, or an ApiError */
  batch(server: string, ops: string[]): Promise<(string | ApiError)[]>;
  /** body is a pre-serialised {"shard","curr_idx","data"} (and "term" to a primary); resolves with the answer text */
  writeRaw(server: string, body: string): Promise<string>;
  /** `old`: the row before (to undo it on assignment 2's path); `index`: the primary's log index (with `term`) */
  update(server: string, shard: string, keyCol: string, key: number, row: Row, term?: number): Promise<ChangeAnswer>;
  del(server: string, shard: string, keyCol: string, key: number, term?: number): Promise<ChangeAnswer>;
  copy(server: string, shards: string[]): Promise<Record<string, Row[]>>;
  digest(server: string, shards: string[]): Promise<Record<string, ShardDigest>>;
  rollback(server: string, shard: string, keyCol: string, remove: number[], restore: Row[]): Promise<void>;
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const DATA_PREFIX = '{"data":';
const DATA_SUFFIX = ',"status":"success"}';

/** The rows array of a server's /read body, as JSON text, without parsing the rows. */
export function dataArray(body: string): string {
  if (body.startsWith(DATA_PREFIX) && body.endsWith(DATA_SUFFIX)) return body.slice(DATA_PREFIX.length, body.length - DATA_SUFFIX.length);
  return JSON.stringify((JSON.parse(body) as { data: unknown[] }).data);
}

export interface HttpShardClientOptions {
  connections?: number;
  /** per-request timeout for data calls */
  timeoutMs?: number;
}

export class HttpShardClient implements ShardClient {
  private readonly pools = new Map<string, Pool>();
  /** heartbeats get pools of their own, so a busy data pool never delays them into a false death */
  private readonly hbPools = new Map<string, Pool>();
  private readonly urls = new Map<string, string>();
  constructor(private readonly opts: HttpShardClientOptions = {}) {}

  setAddress(server: string, url: string): void {
    if (this.urls.get(server) === url) return;
    this.forget(server);
    this.urls.set(server, url);
  }

  /** Drops the server's pool; its requests in flight fail at once (fencing must not wait for timeouts). */
  forget(server: string): void {
    for (const m of [this.pools, this.hbPools]) {
      const p = m.get(server);
      m.delete(server);
      if (p) void p.destroy().catch(() => undefined);
    }
    this.urls.delete(server);
  }

  private pool(server: string): Pool {
    let p = this.pools.get(server);
    if (!p) {
      const url = this.urls.get(server);
      if (!url) throw new UpstreamError(server, 'no address known');
      const t = this.opts.timeoutMs ?? 15_000;
      p = new Pool(url, {
        connections: this.opts.connections ?? 32,
        keepAliveTimeout: 60_000,
        headersTimeout: t,
        bodyTimeout: t,
        connectTimeout: Math.min(t, 5_000),
      });
      this.pools.set(server, p);
    }
    return p;
  }

  private async call(server: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: string, timeoutMs?: number): Promise<string> {
    let res;
    try {
      res = await this.pool(server).request({
        method,
        path,
        headers: body === undefined ? undefined : JSON_HEADERS,
        body,
        ...(timeoutMs ? { headersTimeout: timeoutMs, bodyTimeout: timeoutMs } : {}),
      });
    } catch (e) {
      throw new UpstreamError(server, (e as Error).message || String(e));
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (e) {
      throw new UpstreamError(server, `reading the answer: ${(e as Error).message}`);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return text;
    if (res.statusCode >= 400 && res.statusCode < 500) throw errorFromBody(res.statusCode, text);
    throw new UpstreamError(server, `HTTP ${res.statusCode}: ${text.slice(0, 200)}`, codeOf(text));
  }

  async heartbeat(server: string, timeoutMs: number): Promise<{ storeId?: string } | undefined> {
    const url = this.urls.get(server);
    if (!url) return undefined;
    let p = this.hbPools.get(server);
    if (!p) this.hbPools.set(server, (p = new Pool(url, { connections: 2, keepAliveTimeout: 60_000, connectTimeout: timeoutMs })));
    try {
      const res = await p.request({ method: 'GET', path: '/heartbeat', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      await res.body.dump();
      if (res.statusCode !== 200) return undefined;
      const id = res.headers[STORE_ID_HEADER];
      return { storeId: typeof id === 'string' ? id : undefined };
    } catch {
      return undefined;
    }
  }

  async config(server: string, schema: Schema, shards: string[]): Promise<void> {
    await this.call(server, 'POST', '/config', JSON.stringify({ schema, shards }));
  }

  async reset(server: string, schema: Schema, shards: string[]): Promise<void> {
    await this.call(server, 'POST', '/config', JSON.stringify({ schema, shards, reset: shards }));
  }

  async readRaw(server: string, shard: string, keyCol: string, low: number, high: number, minIndex?: number, minTerm?: number): Promise<string> {
    const body = await this.call(server, 'POST', '/read', readBody(shard, keyCol, low, high, minIndex, minTerm));
    return dataArray(body);
  }

  async batch(server: string, ops: string[]): Promise<(string | ApiError)[]> {
    const text = await this.call(server, 'POST', '/batch', batchBody(ops));
    const lines = text.split('\n');
    if (lines.length !== ops.length) throw new UpstreamError(server, `/batch answered ${lines.length} results for ${ops.length} ops`);
    return lines.map(parseBatchLine);
  }

  writeRaw(server: string, body: string): Promise<string> {
    return this.call(server, 'POST', '/write', body);
  }

  async state(server: string, timeoutMs: number): Promise<StateReport> {
    const j = JSON.parse(await this.call(server, 'GET', '/state', undefined, timeoutMs)) as { store?: string; shards?: Record<string, ShardState> };
    return { store: j.store, shards: j.shards ?? {} };
  }

  async vote(server: string, body: VoteBody, timeoutMs: number): Promise<VoteAnswer> {
    return JSON.parse(await this.call(server, 'POST', '/repl/vote', JSON.stringify(body), timeoutMs)) as VoteAnswer;
  }

  async promote(server: string, body: PromoteBody, timeoutMs: number): Promise<{ term: number; commitIndex: number; index?: number }> {
    return JSON.parse(await this.call(server, 'POST', '/repl/promote', JSON.stringify(body), timeoutMs)) as { term: number; commitIndex: number; index?: number };
  }

  async members(server: string, body: MembersBody, timeoutMs: number): Promise<void> {
    await this.call(server, 'POST', '/repl/members', JSON.stringify(body), timeoutMs);
  }

  async recreate(server: string, body: { shard: string; term: number; floor: number }, timeoutMs: number): Promise<void> {
    await this.call(server, 'POST', '/repl/recreate', JSON.stringify(body), timeoutMs);
  }

  async update(server: string, shard: string, keyCol: string, key: number, row: Row, term?: number): Promise<ChangeAnswer> {
    const t = await this.call(server, 'PUT', '/update', JSON.stringify({ shard, [keyCol]: key, data: row, return_old: true, term }));
    return JSON.parse(t) as ChangeAnswer;
  }

  async del(server: string, shard: string, keyCol: string, key: number, term?: number): Promise<ChangeAnswer> {
    const t = await this.call(server, 'DELETE', '/del', JSON.stringify({ shard, [keyCol]: key, return_old: true, term }));
    return JSON.parse(t) as ChangeAnswer;
  }

  async copy(server: string, shards: string[]): Promise<Record<string, Row[]>> {
    const t = await this.call(server, 'POST', '/copy', JSON.stringify({ shards }));
    const j = JSON.parse(t) as Record<string, Row[]>;
    delete j.status;
    return j;
  }

  async digest(server: string, shards: string[]): Promise<Record<string, ShardDigest>> {
    const t = await this.call(server, 'POST', '/digest', JSON.stringify({ shards }));
    const j = JSON.parse(t) as Record<string, ShardDigest>;
    delete j.status;
    return j;
  }

  async rollback(server: string, shard: string, keyCol: string, remove: number[], restore: Row[]): Promise<void> {
    await this.call(server, 'POST', '/rollback', JSON.stringify({ shard, remove, restore, key: keyCol }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values(), ...this.hbPools.values()].map((p) => p.destroy().catch(() => undefined)));
    this.pools.clear();
    this.hbPools.clear();
  }
}

/** The `code` of a 5xx body, when it names one. */
function codeOf(text: string): ErrorCode | undefined {
  try {
    const c = (JSON.parse(text) as { code?: unknown }).code;
    return isErrorCode(c) ? c : undefined;
  } catch {
    return undefined;
  }
}
