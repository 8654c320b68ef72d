/**
 * Per-server request coalescing. A request bound for an idle server goes out at once (under load, after a
 * linger of about a millisecond); while a call to that server is in flight the next ones wait for it, and
 * whatever has gathered goes out together: one op on the plain endpoint (/read or /write), several as one
 * /batch call. A lone client sees no added latency; a busy server sees one call per round trip instead of one
 * per request.
 * Order is kept: ops reach the server in the order they were submitted.
 */
import type { ApiError } from '../core/errors.js';
import { UpstreamError } from './shard-client.js';
import type { Row, Schema } from '../core/table.js';
import { batchReadOp, batchWriteOp } from '../shared/wire.js';
import type { ChangeAnswer, MembersBody, PromoteBody, StateReport, ShardClient, ShardDigest, VoteAnswer, VoteBody } from './shard-client.js';

export type PipeOp = { kind: 'read'; shard: string; keyCol: string; low: number; high: number; minIndex?: number; minTerm?: number } | { kind: 'write'; body: string };

interface Pending {
  op: PipeOp;
  resolve: (s: string) => void;
  reject: (e: unknown) => void;
}

interface Pipe {
  depth: number;
  lingerMs: number;
  /** calls to this server in flight now */
  inFlight: number;
  scheduled: boolean;
  queue: Pending[];
}

export interface PipeOptions {
  /** calls in flight per server at most; more ops wait and go out together */
  depth?: number;
  /** under load, how long a call waits for more ops before it goes (0: never waits on a timer) */
  lingerMs?: number;
}

export interface CoalescerOptions {
  /** client requests in flight at the LB now */
  load?: () => number;
  /** with this many client requests in flight, calls linger */
  lingerAt?: number;
  /** most ops in one call */
  maxOps?: number;
  read?: PipeOptions;
  write?: PipeOptions;
}

/**
 * The one way the LB reaches a server: a ShardClient whose data calls (readRaw, writeRaw) go through the
 * per-server pipes; every other call is passed to the plain client it wraps.
 */
export class Coalescer implements ShardClient {
  /** per server: one pipe for reads, one for writes (a write batch never waits behind a read call, nor reads behind it) */
  private readonly pipes = new Map<string, { read: Pipe; write: Pipe }>();
  /** upstream calls made, and ops carried: their ratio is the coalescing factor */
  calls = 0;
  ops = 0;

  private readonly load: () => number;
  private readonly lingerAt: number;
  private readonly maxOps: number;
  private readonly read: Required<PipeOptions>;
  private readonly write: Required<PipeOptions>;

  /** Defaults: one call in flight per pipe; writes linger 1 ms under load (8+ requests in flight), reads never. */
  constructor(
    private readonly client: ShardClient,
    o: CoalescerOptions = {},
  ) {
    this.load = o.load ?? (() => 0);
    this.lingerAt = o.lingerAt ?? 8;
    this.maxOps = o.maxOps ?? 256;
    this.read = { depth: o.read?.depth ?? 1, lingerMs: o.read?.lingerMs ?? 0 };
    this.write = { depth: o.write?.depth ?? 1, lingerMs: o.write?.lingerMs ?? 1 };
  }

  /** Resolves with a read's rows as JSON array text, or a write's answer (its body, or its /batch line). */
  submit(server: string, op: PipeOp): Promise<string> {
    this.ops++;
    let pp = this.pipes.get(server);
    if (!pp) this.pipes.set(server, (pp = { read: newPipe(this.read), write: newPipe(this.write) }));
    const pipe = op.kind === 'read' ? pp.read : pp.write;
    return new Promise<string>((resolve, reject) => {
      pipe.queue.push({ op, resolve, reject });
      if (pipe.inFlight >= pipe.depth || pipe.scheduled) return;
      if (pipe.lingerMs <= 0 || this.load() < this.lingerAt) {
        this.flush(server, pipe); // a lone request goes out at once
        return;
      }
      // under load (many client requests in flight) linger a moment so more ops share the call
      pipe.scheduled = true;
      setTimeout(() => {
        pipe.scheduled = false;
        if (pipe.inFlight < pipe.depth) this.flush(server, pipe);
      }, pipe.lingerMs);
    });
  }

  /** Drops the server's pipes and pools: its calls in flight fail at once. */
  forget(server: string): void {
    this.pipes.delete(server);
    this.client.forget(server);
  }

  readRaw(server: string, shard: string, keyCol: string, low: number, high: number, minIndex?: number, minTerm?: number): Promise<string> {
    return this.submit(server, { kind: 'read', shard, keyCol, low, high, minIndex, minTerm });
  }

  writeRaw(server: string, body: string): Promise<string> {
    return this.submit(server, { kind: 'write', body });
  }

  state(server: string, timeoutMs: number): Promise<StateReport> {
    return this.client.state(server, timeoutMs);
  }
  vote(server: string, body: VoteBody, timeoutMs: number): Promise<VoteAnswer> {
    return this.client.vote(server, body, timeoutMs);
  }
  promote(server: string, body: PromoteBody, timeoutMs: number): Promise<{ term: number; commitIndex: number; index?: number }> {
    return this.client.promote(server, body, timeoutMs);
  }
  members(server: string, body: MembersBody, timeoutMs: number): Promise<void> {
    return this.client.members(server, body, timeoutMs);
  }
  recreate(server: string, body: { shard: string; term: number; floor: number }, timeoutMs: number): Promise<void> {
    return this.client.recreate(server, body, timeoutMs);
  }

  setAddress(server: string, url: string): void {
    this.client.setAddress(server, url);
  }
  heartbeat(server: string, timeoutMs: number): Promise<{ storeId?: string } | undefined> {
    return this.client.heartbeat(server, timeoutMs);
  }
  config(server: string, schema: Schema, shards: string[]): Promise<void> {
    return this.client.config(server, schema, shards);
  }
  reset(server: string, schema: Schema, shards: string[]): Promise<void> {
    return this.client.reset(server, schema, shards);
  }
  batch(server: string, ops: string[]): Promise<(string | ApiError)[]> {
    return this.client.batch(server, ops);
  }
  update(server: string, shard: string, keyCol: string, key: number, row: Row, term?: number): Promise<ChangeAnswer> {
    return this.client.update(server, shard, keyCol, key, row, term);
  }
  del(server: string, shard: string, keyCol: string, key: number, term?: number): Promise<ChangeAnswer> {
    return this.client.del(server, shard, keyCol, key, term);
  }
  copy(server: string, shards: string[]): Promise<Record<string, Row[]>> {
    return this.client.copy(server, shards);
  }
  digest(server: string, shards: string[]): Promise<Record<string, ShardDigest>> {
    return this.client.digest(server, shards);
  }
  rollback(server: string, shard: string, keyCol: string, remove: number[], restore: Row[]): Promise<void> {
    return this.client.rollback(server, shard, keyCol, remove, restore);
  }
  close(): Promise<void> {
    this.pipes.clear();
    return this.client.close();
  }

  private single(server: string, op: PipeOp): Promise<string> {
    if (op.kind === 'read') return this.client.readRaw(server, op.shard, op.keyCol, op.low, op.high, op.minIndex, op.minTerm);
    return this.client.writeRaw(server, op.body);
  }

  private flush(server: string, p: Pipe): void {
    if (p.queue.length === 0) return;
    p.inFlight++;
    const batch = p.queue.splice(0, this.maxOps);
    this.calls++;
    const run =
      batch.length === 1
        ? this.single(server, batch[0].op).then((r) => [r] as (string | ApiError)[])
        : this.client.batch(server, batch.map((x) => serialise(x.op)));
    run
      .then(
        (results) =>
          results.forEach((r, i) => {
            // a server fault inside a batch (5xx: a damaged shard, a failed fsync) is that replica failing, as
            // the same answer to a single-op call would be; a 4xx is the op's own error
            if (r instanceof Error) batch[i].reject(r.status >= 500 ? new UpstreamError(server, r.message, r.code) : r);
            else batch[i].resolve(r);
          }),
        (e) => batch.forEach((x) => x.reject(e)),
      )
      .finally(() => {
        p.inFlight--;
        if (!p.scheduled) this.flush(server, p);
      });
  }
}

function newPipe(o: Required<PipeOptions>): Pipe {
  return { ...o, inFlight: 0, scheduled: false, queue: [] };
}

function serialise(op: PipeOp): string {
  return op.kind === 'read' ? batchReadOp(op.shard, op.low, op.high, op.minIndex, op.minTerm) : batchWriteOp(op.body);
}
