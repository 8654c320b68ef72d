/**
 * The typed client of the shardctl load balancer: `import { ShardctlClient } from 'shardctl'`. Its types come
 * from the route table's zod schemas (core/api.ts), the same ones the OpenAPI document is built from. A failure
 * answer throws ShardctlError carrying the HTTP status and the machine-readable `code` (docs/errors.md); an LB
 * that does not answer throws ShardctlConnectionError. The shardctl CLI makes its calls through this client.
 */
import { request } from 'undici';
import type { z } from 'zod';
import type * as api from '../core/api.js';
import type { ErrorCode } from '../core/errors.js';

export type { ErrorCode };
export type Row = z.output<typeof api.Row>;
/** A row as it may be written (a numeric-string key, a number for a String column). */
export type RowInput = z.input<typeof api.RowIn>;
export type InitConfig = z.input<typeof api.InitBody>;
export type AddRequest = z.input<typeof api.AddBody>;
export type RmRequest = z.input<typeof api.RmBody>;
export type Topology = z.output<typeof api.Topology>;
export type ChangePlan = z.output<typeof api.ChangePlan>;
export type InitResult = z.output<typeof api.InitOk>;
export type AddResult = z.output<typeof api.AddOk>;
export type RmResult = z.output<typeof api.RmOk>;
export type ReadResult = z.output<typeof api.ReadOk>;
export type MessageResult = z.output<typeof api.MessageOk>;
export type ServerRows = z.output<typeof api.ServerRows>;
export type ClusterDetails = z.output<typeof api.ClusterDetails>;
export type EventsResult = z.output<typeof api.Events>;
export type ClusterEvent = z.output<typeof api.ClusterEvent>;
export type Incident = z.output<typeof api.Incident>;
export type VerifyReport = z.output<typeof api.VerifyReport>;
export type PrimariesResult = z.output<typeof api.PrimariesOk>;
export type PrimaryElectResult = z.output<typeof api.PrimaryElectOk>;
export type KeyExplanation = z.output<typeof api.KeyExplanation>;
export type RangeExplanation = z.output<typeof api.RangeExplanation>;
export type FailureBody = z.output<typeof api.Failure>;

/** A failure answer from the LB: `code` is machine-readable (UPPER_SNAKE, docs/errors.md), `message` says what to do. */
export class ShardctlError extends Error {
  readonly status: number;
  readonly code: ErrorCode | 'UNKNOWN';
  /** the LB's own message ("<Error> ...") */
  readonly detail: string;
  readonly body: unknown;
  constructor(method: string, path: string, status: number, body: unknown) {
    const b = body as Partial<FailureBody> | undefined;
    const detail = typeof b?.message === 'string' ? b.message : typeof body === 'string' ? body : JSON.stringify(body);
    super(`${method} ${path} failed (HTTP ${status}): ${detail}`);
    this.name = 'ShardctlError';
    this.status = status;
    this.code = typeof b?.code === 'string' ? (b.code as ErrorCode) : 'UNKNOWN';
    this.detail = detail;
    this.body = body;
  }
}

/** No answer from the LB: `code` is the socket's (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, ...). */
export class ShardctlConnectionError extends Error {
  readonly code: string;
  readonly url: string;
  constructor(url: string, code: string, message: string) {
    super(message);
    this.name = 'ShardctlConnectionError';
    this.code = code;
    this.url = url;
  }
  /** true when nothing listens there (or the connection dropped): the LB is not running */
  get refused(): boolean {
    return this.code === 'ECONNREFUSED' || this.code === 'ECONNRESET' || this.code === 'UND_ERR_SOCKET';
  }
}

export interface ClientOptions {
  /** per-call time limit, ms (default 120 s; membership changes spawn servers) */
  timeoutMs?: number;
}
export interface CallOptions {
  timeoutMs?: number;
}
export interface DryRun {
  dryRun: true;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export class ShardctlClient {
  readonly url: string;
  private readonly timeoutMs: number;

  /** `url`: the LB, e.g. http://127.0.0.1:5000 */
  constructor(url = 'http://127.0.0.1:5000', opts: ClientOptions = {}) {
    this.url = url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /**
   * Any call: JSON in (an object, or JSON text as is), the parsed JSON answer out. Throws ShardctlError on a
   * non-2xx answer and ShardctlConnectionError when the LB does not answer.
   */
  async request<T = unknown>(method: HttpMethod, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
    const t = opts.timeoutMs ?? this.timeoutMs;
    let res;
    try {
      res = await request(`${this.url}${path}`, {
        method,
        headers: body === undefined ? undefined : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        headersTimeout: t,
        bodyTimeout: t,
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as { cause?: NodeJS.ErrnoException }).cause?.code ?? 'UNKNOWN';
      throw new ShardctlConnectionError(this.url, code, `cannot reach the load balancer at ${this.url}: ${(e as Error).message}`);
    }
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: kept as text */
    }
    if (res.statusCode < 200 || res.statusCode >= 300) throw new ShardctlError(method, path, res.statusCode, parsed);
    return parsed as T;
  }

  // ---------------------------------------------------------------- membership

  /** POST /init: configure the database (replaces any existing one); with { dryRun: true } the plan only. */
  init(config: InitConfig, opts?: CallOptions): Promise<InitResult>;
  init(config: InitConfig, opts: CallOptions & DryRun): Promise<ChangePlan>;
  init(config: InitConfig, opts: CallOptions & Partial<DryRun> = {}): Promise<InitResult | ChangePlan> {
    return this.request('POST', '/init', withDryRun(config, opts), { timeoutMs: opts.timeoutMs ?? 300_000 });
  }

  status(): Promise<Topology> {
    return this.request('GET', '/status');
  }

  /** GET /primaries: each shard's primary and the term it leads. */
  primaries(): Promise<PrimariesResult> {
    return this.request('GET', '/primaries');
  }

  /** POST /primary_elect: elect the primary of these shards now; per shard the new primary, or why there is none. */
  primaryElect(shards: string[], opts: CallOptions = {}): Promise<PrimaryElectResult> {
    return this.request('POST', '/primary_elect', { shards }, { timeoutMs: opts.timeoutMs ?? 30_000 });
  }

  /** POST /add; with { dryRun: true } the plan only. */
  add(body: AddRequest, opts?: CallOptions): Promise<AddResult>;
  add(body: AddRequest, opts: CallOptions & DryRun): Promise<ChangePlan>;
  add(body: AddRequest, opts: CallOptions & Partial<DryRun> = {}): Promise<AddResult | ChangePlan> {
    return this.request('POST', '/add', withDryRun(body, opts), { timeoutMs: opts.timeoutMs ?? 300_000 });
  }

  /** DELETE /rm; with { dryRun: true } the plan only. */
  rm(body: RmRequest, opts?: CallOptions): Promise<RmResult>;
  rm(body: RmRequest, opts: CallOptions & DryRun): Promise<ChangePlan>;
  rm(body: RmRequest, opts: CallOptions & Partial<DryRun> = {}): Promise<RmResult | ChangePlan> {
    return this.request('DELETE', '/rm', withDryRun(body, opts), { timeoutMs: opts.timeoutMs ?? 300_000 });
  }

  // ---------------------------------------------------------------- data

  /** POST /read: rows with low <= Stud_id <= high, in key order. */
  read(low: number, high: number): Promise<ReadResult> {
    return this.request('POST', '/read', { Stud_id: { low, high } });
  }

  /** POST /write: all rows or none. */
  write(rows: RowInput[]): Promise<MessageResult> {
    return this.request('POST', '/write', { data: rows });
  }

  /** PUT /update: replace the row with this key. */
  update(key: number, row: RowInput): Promise<MessageResult> {
    return this.request('PUT', '/update', { Stud_id: key, data: row });
  }

  /** DELETE /del */
  del(key: number): Promise<MessageResult> {
    return this.request('DELETE', '/del', { Stud_id: key });
  }

  /** GET /read/{server}: everything one server holds, per shard. */
  readServer(server: string): Promise<ServerRows> {
    return this.request('GET', `/read/${encodeURIComponent(server)}`);
  }

  // ---------------------------------------------------------------- operations

  cluster(): Promise<ClusterDetails> {
    return this.request('GET', '/cluster');
  }

  events(): Promise<EventsResult> {
    return this.request('GET', '/events');
  }

  /** GET /verify: every shard's serving replicas compared at one position; `ok` is true when all agree. */
  verify(opts?: CallOptions): Promise<VerifyReport> {
    return this.request('GET', '/verify', undefined, opts);
  }

  /** GET /explain?Stud_id=: the key's shard, its replicas with their share of the ring, and with a request id its replica. */
  explain(key: number, opts: { requestId?: number } = {}): Promise<KeyExplanation> {
    return this.request('GET', `/explain?Stud_id=${key}${opts.requestId === undefined ? '' : `&request_id=${opts.requestId}`}`);
  }

  /** GET /explain?low=&high=: the shards a read of the range queries, and the replica of each. */
  explainRange(low: number, high: number, opts: { requestId?: number } = {}): Promise<RangeExplanation> {
    return this.request('GET', `/explain?low=${low}&high=${high}${opts.requestId === undefined ? '' : `&request_id=${opts.requestId}`}`);
  }

  /** GET /openapi.json */
  openapi(): Promise<Record<string, unknown>> {
    return this.request('GET', '/openapi.json');
  }
}

function withDryRun<T extends object>(body: T, opts: Partial<DryRun>): T {
  return opts.dryRun ? { ...body, dry_run: true } : body;
}
