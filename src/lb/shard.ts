/**
 * One shard as the LB holds it: where it is placed, which replicas serve (the ready set and the ring, kept in
 * step), the key index, and the shard lock: an executor that runs the shard's changes one at a time, coalescing
 * the writes queued behind it into one batch (group commit). No I/O: a batch is applied through a callback.
 *
 * Every await in drain() is a place where /init, /rm or a recovery can run: after each one the executor checks
 * whether the shard was closed (torn down by /init or forgotten by a rolled-back /add) before it touches anything.
 */
import { ApiError } from '../core/errors.js';
import { HashRing, type RingHash } from '../core/hash-ring.js';
import { KeySet } from '../core/key-set.js';
import { voters } from '../core/quorum.js';
import type { ShardDef } from '../core/shard-map.js';
import type { Row } from '../core/table.js';

interface WriteOp {
  kind: 'write';
  rows: Row[];
  keys: number[];
  /** false: on success the keys stay reserved in `pending` (the caller commits them once every shard of its request acknowledged) */
  commit: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}
interface TaskOp {
  kind: 'task';
  fn: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
type Op = WriteOp | TaskOp;

export interface ShardExecOptions {
  /** applies one group-committed batch of rows to the shard's replicas; throws when it was not acknowledged */
  applyBatch: (sh: Shard, rows: Row[]) => Promise<void>;
  /** client requests in flight at the LB (under load the executor lingers so batches fill) */
  load: () => number;
  lingerAt: number;
  lingerMs: number;
  maxBatchRows: number;
  ring: { slots?: number; vnodes?: number; hash?: RingHash };
}

/** The shard's primary as the shard manager knows it. Written only by lb/primaries.ts; saved with the metadata. */
export interface Lead {
  primary?: string;
  /** the newest term the LB started an election of (saved before any vote is asked, so never reused) */
  term: number;
  /** the highest log index the LB had a 200 for: reads pass it as minIndex, so no acknowledged change is missed */
  acked: number;
  /**
   * the term of the entry at `acked`, when known: reads pass it as minTerm, and a replica holding that entry knows
   * it committed without waiting for its primary's notice (Raft's Log Matching)
   */
  ackedTerm?: number;
  /**
   * set after an LB restart until a primary is adopted or elected: `acked` (0) is then not the shard's acknowledged
   * position, so a read could miss acknowledged changes on a lagging replica; reads are refused meanwhile
   */
  ackedUnknown?: boolean;
  /** why the shard has no primary now: the body of the 503 NO_PRIMARY writes get */
  reason?: string;
  /** when an election last failed (a write does not start another within a heartbeat interval) */
  failedAt?: number;
  /** an election is queued or running in the executor */
  electing?: boolean;
  /**
   * a client change was ever sent to a primary of this shard (saved in the metadata before the first one is sent).
   * Until then a replica that came back on another store lost nothing and may vote (lb/primaries.ts).
   */
  written?: boolean;
}

export class Shard {
  readonly lead: Lead = { term: 0, acked: 0 };
  /** every server the topology places this shard on, serving or not */
  replicas: string[] = [];
  /** replicas added to a shard that already holds data, until their first copy finished: not counted as voters */
  readonly joining = new Set<string>();
  /** replicas holding every acknowledged change: the only ones reads and writes go to */
  private readonly readySet = new Set<string>();
  readonly ring: HashRing;
  /**
   * keys stored (acknowledged), about 2 bytes per key (core/key-set.ts), and keys of writes in flight: duplicates
   * are caught before anything is written
   */
  readonly known = new KeySet();
  readonly pending = new Set<number>();
  /**
   * keys of inserts answered INDETERMINATE (logged by the primary, not known committed): they may exist, so an
   * update or delete of one goes to the primary, which knows, instead of being refused here as not found
   */
  readonly maybe = new Set<number>();
  validIdx = 0;
  /**
   * the key index holds every stored key (a new shard, or one rebuilt from a serving replica after an LB restart);
   * false: unknown, so an empty index does not mean an empty shard
   */
  indexed = true;
  /** when the ready set last became empty: the replica that left it last (it holds every acknowledged change) */
  lastServing: { server: string; storeId?: string } | undefined;
  private readonly queue: Op[] = [];
  private running = false;
  private closedBy: ApiError | undefined;

  constructor(
    readonly def: ShardDef,
    readonly keyCol: string,
    private readonly x: ShardExecOptions,
  ) {
    this.ring = new HashRing(x.ring);
  }

  get id(): string {
    return this.def.Shard_id;
  }

  get ready(): ReadonlySet<string> {
    return this.readySet;
  }

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** The replicas the majority is counted over (core/quorum.ts: voters). */
  voters(): string[] {
    return voters(this.replicas, this.joining);
  }

  addReady(server: string): void {
    if (this.closed || !this.replicas.includes(server)) return;
    this.readySet.add(server);
    this.ring.add(server);
    // a joining replica stays a non-voter until its membership change commits (Membership.add)
    if (!this.joining.has(server)) this.lastServing = undefined;
  }

  removeReady(server: string, storeId?: string): void {
    if (!this.readySet.delete(server)) return;
    this.ring.remove(server);
    // the last VOTER to leave holds every acknowledged change (a change needs a majority of voters)
    if (!this.joining.has(server) && ![...this.readySet].some((s) => !this.joining.has(s))) this.lastServing = { server, storeId };
  }

  /** Drops a replica from the placement (an operator's /rm). */
  removeReplica(server: string): void {
    this.removeReady(server);
    this.replicas = this.replicas.filter((r) => r !== server);
    this.joining.delete(server);
    if (this.lastServing?.server === server) this.lastServing = undefined;
  }

  /** Ends the executor: queued ops are refused, running ones see `closed` after their next await. */
  close(reason: string): void {
    if (this.closedBy) return;
    this.closedBy = new ApiError('NO_REPLICA', `${reason}; refused, nothing was applied`);
    for (const op of this.queue.splice(0)) {
      if (op.kind === 'write') for (const k of op.keys) this.pending.delete(k);
      op.reject(this.closedBy);
    }
  }

  /** Runs fn alone on the shard: after every op queued before it, before every op queued after. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ kind: 'task', fn, resolve: resolve as (v: unknown) => void, reject });
      void this.drain();
    });
  }

  /** Queues a write of rows whose keys the caller has reserved in `pending`; resolves once acknowledged. */
  write(rows: Row[], keys: number[], commit = true): Promise<void> {
    if (this.closedBy) {
      for (const k of keys) this.pending.delete(k);
      return Promise.reject(this.closedBy);
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'write', rows, keys, commit, resolve, reject });
      void this.drain();
    });
  }

  private linger(): Promise<void> {
    return new Promise<void>((r) => setTimeout(r, this.x.lingerMs));
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // under load, start a moment later so the writes that arrive meanwhile join the first batch;
      // otherwise at once (an extra event-loop turn costs a lone client more than it saves)
      if (this.x.load() >= this.x.lingerAt) await this.linger();
      while (this.queue.length > 0 && !this.closedBy) {
        const head = this.queue[0];
        if (head.kind === 'task') {
          this.queue.shift();
          try {
            head.resolve(await head.fn());
          } catch (e) {
            head.reject(e);
          }
          continue;
        }
        if (this.x.load() >= this.x.lingerAt && this.queue.length < this.x.load() / 2) {
          // under load a short wait fills the batch: fewer, larger upstream writes for the same rows
          await this.linger();
          if (this.closedBy) break;
        }
        await this.applyWrites(this.takeBatch());
      }
    } finally {
      this.running = false;
    }
  }

  /** Group commit: every write queued behind the lock, up to maxBatchRows rows, as one batch. */
  private takeBatch(): WriteOp[] {
    const batch: WriteOp[] = [];
    let n = 0;
    while (this.queue.length > 0 && this.queue[0].kind === 'write') {
      const op = this.queue[0] as WriteOp;
      if (batch.length > 0 && n + op.rows.length > this.x.maxBatchRows) break;
      this.queue.shift();
      batch.push(op);
      n += op.rows.length;
    }
    return batch;
  }

  private async applyWrites(batch: WriteOp[]): Promise<void> {
    const rows = batch.length === 1 ? batch[0].rows : batch.flatMap((op) => op.rows);
    let err: unknown;
    try {
      if (this.closedBy) throw this.closedBy;
      await this.x.applyBatch(this, rows);
      if (this.closedBy) throw this.closedBy;
    } catch (e) {
      err = e;
    }
    const maybe = err instanceof ApiError && err.code === 'INDETERMINATE';
    for (const op of batch) {
      if (err === undefined && !op.commit) continue;
      for (const k of op.keys) {
        this.pending.delete(k);
        if (err === undefined) this.known.add(k);
        if (err === undefined) this.maybe.delete(k);
        else if (maybe) this.maybe.add(k);
      }
    }
    if (err === undefined) {
      this.validIdx += rows.length;
      for (const op of batch) op.resolve();
    } else for (const op of batch) op.reject(err);
  }
}
