/**
 * A shard server's side of replication (src/core/REPLICATION.md): per replicated shard its LogState (core/replog.ts)
 * in memory, mirrored by the shard's log on disk (wal.ts), and the I/O around the pure rules: the replica's
 * handlers (/repl/append, /repl/copy, /repl/vote, /repl/recreate), the primary's office (/repl/promote,
 * /repl/members, writes with a term) and its replication loop per replica (core/primary.ts).
 *
 * One owner per piece of state: a ShardRepl owns its shard's LogState, its applied position and (as primary) the
 * replicas' progress. Every transition is computed by the pure rules and written to the log synchronously
 * (write(2)) before the state is replaced, then one fsync before the reply (REPLICATION.md, "Durability
 * contract"). Only committed entries reach the sql.js table, on the primary and on replicas alike.
 */
import { ApiError, fail } from '../core/errors.js';
import { behind, indeterminate, logViolation, noMajority, notPrimary } from '../core/repl-errors.js';
import {
  appendAsPrimary,
  becomePrimary,
  commitAsPrimary,
  compact,
  emptyLog,
  handleAppend,
  handleVote,
  installCopy,
  lastIndex,
  lastTerm,
  observeTerm,
  primaryReady,
  recreatedLog,
  resyncing,
  restoreLog,
  termAt,
  type AppendReply,
  type AppendRequest,
  type LogEntry,
  type LogState,
  type Persist,
  type VoteRequest,
} from '../core/replog.js';
import { markSent, newProgress, nextCall, onAppendAnswer, onCallFailed, onCopyAnswer, replicaRecreated, writeOutcome, type AnswerOutcome, type Progress, type WriteOutcome } from '../core/primary.js';
import { retentionFloor, type CopyInFlight } from '../core/catchup.js';
import type { Logger } from '../shared/log.js';
import type { ShardStore } from './store.js';
import type { BaseOp, EntryOp, LogEntry as WalEntry } from './wal-format.js';
import { Peers } from './peers.js';
import { encodeRecord } from './wal-format.js';

type Op = EntryOp;

/** Rows an entry carries (its weight in a replication call). */
function rowsOf(op: Op): number {
  if (op.op === 'write') return op.rows.length;
  if (op.op === 'batch') return op.ops.reduce((a, o) => a + (o.op === 'write' ? o.rows.length : 1), 0);
  return 1;
}

/**
 * How many entries from index `from` on go in one replication call: at most `maxEntries`, and no more than
 * `maxRows` rows once the first is in (a replica far behind on 5,000-row batches would otherwise get a body past
 * its size limit and never catch up); always at least one.
 */
export function entriesBudget(state: Pick<LogState<Op>, 'snapIndex' | 'entries'>, from: number, maxEntries = 256, maxRows = 20_000): number {
  let rows = 0;
  let n = 0;
  for (let k = Math.max(0, from - state.snapIndex - 1); k < state.entries.length && n < maxEntries; k++) {
    rows += rowsOf(state.entries[k].op);
    if (rows > maxRows && n > 0) break;
    n++;
  }
  return Math.max(1, n);
}

const toWal = (e: LogEntry<Op>): WalEntry => ({ ...e.op, i: e.index, t: e.term }) as WalEntry;
function fromWal(w: WalEntry): LogEntry<Op> {
  const { i, t, ...op } = w;
  return { index: i, term: t, op: op as Op };
}

export interface ReplicationOptions {
  store: ShardStore;
  /** this server's name (the LB's, as in `leader`, `candidate`, `replicas`) */
  self: string;
  /** this store's id, sent with every answer */
  storeId: string;
  log?: Logger;
  /** how long a write with a term waits for its commit before it answers indeterminate (2 s) */
  commitTimeoutMs?: number;
  /** how long /repl/promote waits for the no-op to commit (3 s) */
  promoteTimeoutMs?: number;
  /** timeout of one call to a replica (1 s) */
  callTimeoutMs?: number;
  /** a replica at most this many entries behind the commit position keeps the primary from compacting past it */
  keepBehind?: number;
  /** commit notices to idle replicas (100 ms) */
  heartbeatMs?: number;
  /** how long a commit notice waits for an append to carry it (NOTICE_MS; 0: sent at once) */
  noticeMs?: number;
  /** appends over one upgraded connection per replica (repl-stream.ts) rather than HTTP requests; default true */
  streams?: boolean;
}

/** The rows a write with a term checks its keys against: the visible table plus every entry not applied yet. */
export interface KeyView {
  /** the row's column values as they will be once every logged entry is applied; undefined: no such row */
  get(key: number): unknown[] | undefined;
  /** records a change accepted into the entry being built (later ops of the same batch see it) */
  put(key: number, row: unknown[] | null): void;
}

interface Waiter {
  index: number;
  term: number;
  deadline: number;
  resolve(o: WriteOutcome): void;
}

interface IncomingCopy {
  term: number;
  leader: string;
  index: number;
  indexTerm: number;
  next: number;
  rows: unknown[][];
  /** the snapshot's row records, encoded as the chunks arrive */
  records: Buffer[];
}

/** The replicated state of one shard on this server. */
/** How often at most a shard's commit hint is written (scheduleHint). */
export const HINT_MS = 500;
/**
 * How long a commit notice to a replica waits for an append to carry its commit position instead. Under load the
 * next batch carries it, so replicas learn commits without a call of their own: without the wait two of every
 * five calls of a group-committed batch were notices, about a quarter of a primary's CPU per write here. At 5 ms
 * a notice still went out after about half of the entries at concurrency 32 (a shard's batches come every 7-15 ms
 * on this VM: 5.8 server-to-server messages per entry where 4 carry the entries). Reads do not wait for it: a
 * read names the acknowledged entry (minIndex, minTerm), and a replica holding it knows it committed
 * (learnCommit); only a replica's own applied position (its /state, a read without minIndex) lags this much.
 */
export const NOTICE_MS = 20;

export class ShardRepl {
  state: LogState<Op>;
  /** the table reflects entries up to here (<= commitIndex; lags only while a scan holds applies back) */
  applied: number;
  /** the local log is fsynced up to here: the primary counts itself toward a commit only that far */
  private durable: number;
  private holdApply = 0;
  /** set when a call contradicted a committed entry: the shard is not served until a copy resyncs it */
  violation: string | undefined;
  // ---- the primary's office (empty while not primary) ----
  replicas: string[] = [];
  voters: string[] = [];
  addresses: Record<string, string> = {};
  private progress: Record<string, Progress> = {};
  /** replicas whose last call failed (connection error, timeout): a write refuses early without a majority */
  private unreachable = new Set<string>();
  private backoff = new Map<string, number>();
  /** replicas that reported a log violation: they get a forced full copy (REPLICATION.md, Faults) */
  private resync = new Set<string>();
  private copies: CopyInFlight[] = [];
  private waiters = new Set<Waiter>();
  private readWaiters = new Set<{ index: number; term?: number; done: () => void }>();
  private incoming: IncomingCopy | undefined;
  /** a copy is being installed (its rows go into the table a chunk at a time): reads and calls wait it out */
  installing = false;
  /** bumped whenever the log is replaced (recreate, an installed copy): an answer computed before must not go out */
  private replaced = 0;
  private hintTimer: NodeJS.Timeout | undefined;
  private noticeTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    readonly shard: string,
    private readonly r: Replication,
    state: LogState<Op>,
    applied: number,
  ) {
    this.state = state;
    this.applied = applied;
    this.durable = lastIndex(state);
  }

  private get store(): ShardStore {
    return this.r.store;
  }

  private get self(): string {
    return this.r.self;
  }

  get isPrimary(): boolean {
    return this.state.leader === this.self;
  }

  // ---- durability ----------------------------------------------------------------------------

  /** Writes `p` in the contract's order (hard state, cut, entries); the fsync follows in `sync()`. */
  private writeLog(p: Persist<Op>): void {
    const log = this.store.logOf(this.shard);
    if (!log) return;
    if (p.hard) log.saveHard(p.hard);
    if (p.truncateFrom !== undefined) {
      log.truncateFrom(p.truncateFrom);
      // entries from the cut on are new and not on disk yet: this server counts itself only below it
      this.durable = Math.min(this.durable, p.truncateFrom - 1);
    }
    for (const e of p.append) log.appendEntry(toWal(e));
  }

  /**
   * writeLog after an inPlace append (core/replog.ts Grow), which pushed the new entries onto this.state.entries
   * already: if the log write throws (a full disk), they are taken off again, so memory never holds entries the
   * log does not (a retried call would otherwise find them there and vouch for them; review-fixes.test.ts).
   */
  private writeLogOrUndo(p: Persist<Op>, had: number): void {
    try {
      this.writeLog(p);
    } catch (e) {
      (this.state.entries as LogEntry<Op>[]).length = had;
      throw e;
    }
  }

  /** One fsync for everything written so far; the primary's own durable position moves with it. */
  private async sync(): Promise<void> {
    const upTo = lastIndex(this.state);
    // a primary's fsync runs off the event loop: the replicas' answers are read meanwhile, and so are the other
    // shards of the same /batch (one request, several writes), which log and send theirs in parallel
    // (primary-fsync.test.ts: inline, a slow disk made a committed write 503 and serialised a batch's shards). A
    // replica's runs inline only while no other request is in progress on this server (store.writers counts
    // appends too): a blocking fdatasync is ~0.2 ms against ~0.45 ms through the thread pool here, but under
    // load it would hold up every other shard's calls behind it (8.6 of 12 s of profile samples at c=32)
    await this.store.syncShard(this.shard, this.isPrimary ? false : undefined);
    if (upTo > this.durable || this.durable > lastIndex(this.state)) this.durable = Math.min(upTo, lastIndex(this.state));
    if (this.isPrimary) this.recommit();
    this.maybeCompact();
  }

  // ---- applying committed entries --------------------------------------------------------------

  /** Applies committed entries to the table (unless a scan holds them back), then wakes reads waiting for them. */
  advanceApply(): void {
    if (this.holdApply > 0) return;
    // reads waiting for an acknowledged entry this log now holds: it is committed (learnCommit)
    for (const w of this.readWaiters) if (w.term !== undefined) this.learnCommit(w.index, w.term);
    const upTo = this.state.commitIndex;
    while (this.applied < upTo) {
      const e = this.state.entries[this.applied - this.state.snapIndex];
      if (!e || e.index !== this.applied + 1) break; // compacted past (cannot happen: compaction stops at applied)
      this.store.applyOp(this.shard, e.op);
      this.applied = e.index;
    }
    for (const w of this.readWaiters) if (w.index <= this.applied) w.done();
    this.scheduleHint();
  }

  /**
   * The commit position reaches the disk lazily, as a hint (etcd's HardState.Commit): at most every HINT_MS. Each
   * write is a file create and a rename: a journal commit of the file system that every server's fdatasync waits
   * behind, so not more often than that.
   */
  private scheduleHint(): void {
    if (this.hintTimer) return;
    this.hintTimer = setTimeout(() => {
      this.hintTimer = undefined;
      try {
        this.store.logOf(this.shard)?.saveCommitHint(this.applied);
      } catch (e) {
        this.r.log?.warn('cannot write the commit hint', { shard: this.shard, err: String(e) });
      }
    }, HINT_MS);
    this.hintTimer.unref();
  }

  /**
   * Raft's Log Matching: the LB acknowledged the entry at `index` of `term`, so it is committed; a log holding an
   * entry of that index and term is identical to the committed log up to it, so this replica's commit position may
   * move there without waiting for the primary's notice (which a primary that died right after committing never
   * sends). Never on a primary (its own commit rule holds), nor on a log that is resyncing or being replaced.
   */
  private learnCommit(index: number, term: number): void {
    if (this.isPrimary || index <= this.state.commitIndex || this.violation || this.installing || resyncing(this.state)) return;
    if (termAt(this.state, index) !== term) return;
    this.state = { ...this.state, commitIndex: index };
  }

  /**
   * Waits up to `ms` until entries up to `index` are applied; false when they are not. With `term` (the entry the LB
   * acknowledged there), holding that entry is enough to know it committed (learnCommit).
   */
  waitApplied(index: number, ms: number, term?: number): Promise<boolean> {
    if (term !== undefined && this.applied < index) {
      this.learnCommit(index, term);
      this.advanceApply();
    }
    if (this.applied >= index) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = {
        index,
        term,
        done: () => {
          clearTimeout(timer);
          this.readWaiters.delete(w);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.readWaiters.delete(w);
        resolve(this.applied >= index);
      }, ms);
      this.readWaiters.add(w);
    });
  }

  /**
   * readableAt's answer when it needs no waiting: true when those entries are applied now (the common case, kept
   * free of promises on the read path), false when the read must wait or be refused (then call readableAt).
   */
  readableNow(minIndex: number, minTerm?: number): boolean {
    if (this.violation) throw logViolation(this.shard, this.violation);
    if (this.installing || resyncing(this.state)) return false;
    if (minTerm !== undefined && this.applied < minIndex) {
      this.learnCommit(minIndex, minTerm);
      this.advanceApply();
    }
    return this.applied >= minIndex;
  }

  /**
   * A read with minIndex (and minTerm, the term of that entry, when the LB knows it): answered only once those
   * entries are applied (REPLICATION.md, "A read").
   */
  async readableAt(minIndex: number, minTerm?: number): Promise<void> {
    if (this.readableNow(minIndex, minTerm)) return;
    if (this.installing || resyncing(this.state) || !(await this.waitApplied(minIndex, 100, minTerm))) throw behind(this.shard, minIndex, this.applied);
  }

  // ---- replica side ------------------------------------------------------------------------------

  /** /repl/append: Raft's AppendEntries receiver, persisted before the answer. */
  async append(req: AppendRequest<Op>): Promise<{ status: number; body: Record<string, unknown> }> {
    if (this.violation) return { status: 500, body: this.violationBody() };
    if (this.installing) return { status: 503, body: this.busyBody() };
    const wasPrimary = this.isPrimary;
    const had = this.state.entries.length;
    const r = handleAppend(this.state, req, { inPlace: true });
    if (r.violation) {
      this.violation = r.violation;
      this.store.logOf(this.shard)?.saveViolation(r.violation);
      this.r.log?.error('replication call violates a committed entry; the shard resyncs', { shard: this.shard, violation: r.violation });
      return { status: 500, body: this.violationBody(r.reply) };
    }
    this.writeLogOrUndo(r.persist, had);
    this.state = r.state;
    if (wasPrimary && !this.isPrimary) this.stepDown('a newer primary replicates to it');
    this.advanceApply();
    const gen = this.replaced;
    // always: an earlier call's entries may still be in their fsync, and this answer vouches for them too
    await this.sync();
    // the log was replaced meanwhile (/repl/recreate, a copy): this answer would vouch for entries it no longer holds
    if (gen !== this.replaced) return { status: 503, body: { message: `<Error> ${this.shard} on ${this.self} was replaced while this call was in its fsync; send it again`, code: 'NO_REPLICA', status: 'failure', store: this.r.storeId } };
    const reply = { ...r.reply, store: this.r.storeId };
    if (r.reply.reason === 'stale-term') return { status: 409, body: { ...this.refusal(`term ${req.term} is older than ${this.state.currentTerm}`), ...reply } };
    if (r.reply.reason === 'malformed') return { status: 400, body: { ...reply, message: `<Error> ${r.reply.detail}`, code: 'INVALID_FIELD', status: 'failure' } };
    return { status: 200, body: reply };
  }

  /**
   * A replica whose log contradicted a committed entry takes the primary's copy whatever its own commit position
   * says (its log is the broken one; the primary's commit position covers every acknowledged entry): the rows
   * at the copy's position, and an empty log after it.
   */
  private forcedCopy(b: { term: number; leader: string; index: number; indexTerm: number }): ReturnType<typeof installCopy<Op>> {
    const o = observeTerm(this.state, b.term);
    const state: LogState<Op> = { ...o.state, leader: b.leader, snapIndex: b.index, snapTerm: b.indexTerm, entries: [], commitIndex: b.index };
    const { resyncTo: _, ...settled } = state;
    const persist: Persist<Op> = { ...o.persist, snapshot: { index: b.index, term: b.indexTerm }, append: [] };
    if (state.resyncTo && b.index >= state.resyncTo) persist.hard = { term: settled.currentTerm, votedFor: settled.votedFor };
    const next = state.resyncTo && b.index >= state.resyncTo ? settled : state;
    this.r.log?.warn('resynced by a forced copy after a log violation', { shard: this.shard, index: b.index, violation: this.violation });
    return { state: next, persist, install: true, reply: { term: next.currentTerm, ok: true, matchIndex: b.index, lastIndex: b.index, commitIndex: b.index } };
  }

  private busyBody(): Record<string, unknown> {
    return { message: `<Error> ${this.shard} on ${this.self} is installing a copy; retry in a moment`, code: 'NO_REPLICA', status: 'failure', store: this.r.storeId };
  }

  private violationBody(reply?: AppendReply): Record<string, unknown> {
    const e = logViolation(this.shard, this.violation ?? 'violation');
    return { ...(reply ?? { term: this.state.currentTerm, ok: false, matchIndex: 0, lastIndex: lastIndex(this.state), commitIndex: this.state.commitIndex, reason: 'violation' }), message: e.message, code: e.code, status: 'failure', store: this.r.storeId };
  }

  private refusal(detail: string): Record<string, unknown> {
    const e = notPrimary(this.shard, detail, this.state.currentTerm, this.state.leader);
    return { message: e.message, code: e.code, status: 'failure', term: this.state.currentTerm, primary: this.state.leader, store: this.r.storeId };
  }

  /** /repl/copy: one chunk of a full copy; the last one installs it (installCopy) and answers like an append. */
  async copyChunk(b: { term: number; leader: string; index: number; indexTerm: number; part: number; last: boolean; rows: unknown[][]; force?: boolean }): Promise<{ status: number; body: Record<string, unknown> }> {
    if (b.term < this.state.currentTerm) return { status: 409, body: this.refusal(`copy of term ${b.term} is older than ${this.state.currentTerm}`) };
    const cur = this.incoming;
    if (this.installing) return { status: 503, body: this.busyBody() };
    if (b.part === 0) this.incoming = { term: b.term, leader: b.leader, index: b.index, indexTerm: b.indexTerm, next: 0, rows: [], records: [] };
    const inc = this.incoming;
    if (!inc || inc.term !== b.term || inc.leader !== b.leader || inc.index !== b.index || inc.next !== b.part) {
      this.incoming = cur === inc ? undefined : cur;
      return { status: 400, body: { message: `<Error> copy chunk ${b.part} of ${b.leader}'s copy at ${b.index} arrived out of order; send the copy again from part 0`, code: 'INVALID_FIELD', status: 'failure', store: this.r.storeId } };
    }
    for (const row of b.rows) inc.rows.push(row);
    if (b.rows.length) inc.records.push(encodeRecord(JSON.stringify({ rows: b.rows })));
    inc.next++;
    if (!b.last) return { status: 200, body: { ok: true, part: b.part, store: this.r.storeId } };
    this.incoming = undefined;
    const wasPrimary = this.isPrimary;
    const r = b.force && this.violation ? this.forcedCopy(b) : installCopy(this.state, { term: b.term, leader: b.leader, index: b.index, indexTerm: b.indexTerm });
    const log = this.store.logOf(this.shard);
    // a floor the copy reaches is cleared on disk only once the copy is (a crash mid-install must restart resyncing:
    // it holds the old log, not the copy); the term and vote go first as always
    const floor = this.state.resyncTo;
    const clears = r.install && floor !== undefined && r.persist.hard !== undefined && r.persist.hard.resyncTo === undefined;
    if (r.persist.hard) log?.saveHard(clears ? { ...r.persist.hard, resyncTo: floor } : r.persist.hard);
    if (r.install) {
      this.replaced++;
      // the log first (so a crash leaves the old state or the new one), then the table a chunk at a time; reads
      // of the shard and replication calls are refused meanwhile (the state changes only once it is all in)
      this.holdApply++;
      this.installing = true;
      try {
        await log?.installSnapshotAsync(this.store.configuredSchema!.columns, b.index, b.indexTerm, { records: inc.records, count: inc.rows.length }, r.state.entries.map(toWal));
        await this.store.replaceRowsAsync(this.shard, inc.rows);
      } finally {
        this.holdApply--;
        this.installing = false;
      }
      this.applied = b.index;
      this.durable = lastIndex(r.state);
      this.violation = undefined;
      log?.saveViolation(undefined);
      if (clears) log?.saveHard(r.persist.hard!);
    }
    this.state = r.state;
    if (wasPrimary && !this.isPrimary) this.stepDown('a newer primary copies to it');
    this.advanceApply();
    return { status: 200, body: { ...r.reply, store: this.r.storeId } };
  }

  /** /repl/vote: Raft's RequestVote receiver; the vote is on disk before the answer. */
  vote(req: VoteRequest): Record<string, unknown> {
    // mid-install the state is about to be replaced: no answer that would have to be remembered
    if (this.installing) return { term: this.state.currentTerm, granted: false, reason: 'resyncing', detail: 'installing a copy', store: this.r.storeId };
    const wasPrimary = this.isPrimary;
    const r = handleVote(this.state, req, this.self);
    if (this.violation && r.reply.granted) {
      // a replica whose log contradicted a committed entry does not vote until it resynced (it still adopts the term)
      const o = observeTerm(this.state, req.term);
      this.writeLog(o.persist);
      this.state = o.state;
      if (wasPrimary && !this.isPrimary) this.stepDown(`a vote of term ${req.term}`);
      return { term: this.state.currentTerm, granted: false, reason: 'resyncing', detail: this.violation, store: this.r.storeId };
    }
    this.writeLog(r.persist);
    this.state = r.state;
    if (wasPrimary && !this.isPrimary) this.stepDown(`a vote of term ${req.term}`);
    return { ...r.reply, store: this.r.storeId };
  }

  /** /repl/recreate: the shard starts over empty at `term`, resyncing until its commit position reaches `floor`. */
  recreate(term: number, floor: number): void {
    if (this.installing) throw new ApiError('NO_REPLICA', `${this.shard} on ${this.self} is installing a copy; retry in a moment`, 503);
    const wasPrimary = this.isPrimary;
    this.replaced++;
    const r = recreatedLog<Op>(Math.max(term, this.state.currentTerm), floor);
    const log = this.store.logOf(this.shard);
    // the resyncing hard state first: a crash before the log is emptied must not leave an empty log that votes
    if (r.persist.hard) log?.saveHard(r.persist.hard);
    log?.installSnapshot(this.store.configuredSchema!.columns, 0, 0, [], []);
    this.store.replaceRows(this.shard, []);
    this.state = r.state;
    this.applied = 0;
    this.durable = 0;
    this.violation = undefined;
    log?.saveViolation(undefined);
    this.incoming = undefined;
    if (wasPrimary) this.stepDown('recreated');
  }

  // ---- the primary ---------------------------------------------------------------------------------

  /** /repl/promote: take office (the no-op of `term`), then wait until it is committed (primaryReady). */
  async promote(b: { term: number; replicas: string[]; voters: string[]; addresses: Record<string, string>; reported: Record<string, { lastIndex?: number; store?: string }> }, timeoutMs: number): Promise<{ status: number; body: Record<string, unknown> }> {
    if (this.installing) return { status: 503, body: this.busyBody() };
    const r = becomePrimary<Op>(this.state, this.self, b.term, { op: 'noop' });
    if ('error' in r) return { status: 409, body: this.refusal(r.error) };
    this.writeLog(r.persist);
    // its no-op's index, taken now: the log grows in place while this waits
    const noop = lastIndex(r.state);
    const fresh = !this.isPrimary;
    this.state = r.state;
    this.setMembers(b.replicas, b.voters, b.addresses, Object.fromEntries(Object.entries(b.reported ?? {}).map(([k, v]) => [k, v?.store])), b.reported, fresh);
    this.r.log?.info('primary', { shard: this.shard, term: b.term, replicas: this.replicas, voters: this.voters });
    this.pumpAll();
    await this.sync();
    const deadline = Date.now() + timeoutMs;
    while (this.isPrimary && this.state.currentTerm === b.term && !primaryReady(this.state) && Date.now() < deadline) await this.nextChange(deadline);
    const outcome = writeOutcome(this.state, this.self, { index: noop, term: b.term }, Date.now() >= deadline);
    if (primaryReady(this.state) && this.state.currentTerm === b.term) return { status: 200, body: { term: b.term, commitIndex: this.state.commitIndex, index: lastIndex(this.state), store: this.r.storeId } };
    if (!this.isPrimary || this.state.currentTerm !== b.term) return { status: 409, body: { ...this.refusal(`deposed while taking office in term ${b.term}`), outcome } };
    const e = indeterminate(this.shard, noop, b.term, `its no-op did not commit within ${timeoutMs} ms`);
    return { status: 503, body: { message: e.message, code: e.code, status: 'failure', outcome: outcome === 'pending' ? 'indeterminate' : outcome, term: b.term, store: this.r.storeId } };
  }

  /** /repl/members: the replica set and voters the LB recorded; a changed store id is a recreated replica. */
  members(b: { term: number; replicas: string[]; voters: string[]; addresses?: Record<string, string>; stores?: Record<string, string> }): { status: number; body: Record<string, unknown> } {
    if (b.term !== this.state.currentTerm || !this.isPrimary) return { status: 409, body: this.refusal(`this server is not the primary of term ${b.term}`) };
    this.setMembers(b.replicas, b.voters, { ...this.addresses, ...(b.addresses ?? {}) }, b.stores ?? {}, {}, false);
    this.recommit();
    this.pumpAll();
    return { status: 200, body: { term: this.state.currentTerm, commitIndex: this.state.commitIndex, store: this.r.storeId } };
  }

  private setMembers(replicas: string[], voters: string[], addresses: Record<string, string>, stores: Record<string, string | undefined>, reported: Record<string, { lastIndex?: number } | undefined>, fresh: boolean): void {
    this.replicas = [...new Set(replicas)];
    this.voters = [...new Set(voters)];
    this.addresses = { ...addresses };
    const last = lastIndex(this.state);
    const next: Record<string, Progress> = {};
    for (const name of this.replicas) {
      if (name === this.self) continue;
      const had = fresh ? undefined : this.progress[name];
      const store = stores[name];
      if (!had) next[name] = newProgress(last, reported[name]?.lastIndex, store);
      else if (store !== undefined && had.store !== undefined && store !== had.store) next[name] = replicaRecreated(last, store);
      else next[name] = store !== undefined && had.store === undefined ? { ...had, store } : had;
    }
    this.progress = next;
    if (fresh) {
      this.resync.clear();
      this.unreachable.clear();
      this.backoff.clear();
      this.copies = [];
    }
    this.r.retainPeers();
  }

  /**
   * A write with a term (REPLICATION.md, "A write"): refused unless primary of exactly that term; `build` checks
   * keys against the visible rows and the entries not yet applied and returns the entry's op (or throws);
   * refused before logging without a known majority; else logged, replicated and answered by writeOutcome.
   */
  async write(term: number, build: (view: KeyView) => Op | undefined, timeoutMs: number): Promise<{ index: number; term: number; commitIndex: number } | undefined> {
    if (this.violation) throw logViolation(this.shard, this.violation);
    if (!this.isPrimary || this.state.currentTerm !== term) throw notPrimary(this.shard, `this server is not the primary of ${this.shard} in term ${term}`, this.state.currentTerm, this.state.leader);
    const op = build(this.keyView());
    if (op === undefined) return undefined;
    const needed = Math.floor(this.voters.length / 2) + 1;
    const reachable = this.voters.filter((v) => v === this.self || !this.unreachable.has(v)).length;
    if (reachable < needed) throw noMajority(this.shard, reachable, needed);
    const had = this.state.entries.length;
    const a = appendAsPrimary(this.state, this.self, [op], { inPlace: true });
    if ('error' in a) throw notPrimary(this.shard, a.error, this.state.currentTerm, this.state.leader);
    const deadline = Date.now() + timeoutMs;
    this.writeLogOrUndo(a.persist, had);
    this.state = a.state;
    this.pumpAll();
    await this.sync();
    const outcome = await this.outcome({ index: a.last, term, deadline });
    if (outcome === 'committed') return { index: a.last, term, commitIndex: this.state.commitIndex };
    throw indeterminate(this.shard, a.last, term, this.isPrimary && this.state.currentTerm === term ? `was not committed within ${timeoutMs} ms` : 'this primary was deposed before it committed');
  }

  private outcome(w: { index: number; term: number; deadline: number }): Promise<WriteOutcome> {
    const now = writeOutcome(this.state, this.self, w, Date.now() >= w.deadline);
    if (now !== 'pending') return Promise.resolve(now);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        ...w,
        resolve: (o) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(o);
        },
      };
      const timer = setTimeout(() => waiter.resolve(writeOutcome(this.state, this.self, w, true)), Math.max(0, w.deadline - Date.now()));
      this.waiters.add(waiter);
    });
  }

  private settleWaiters(): void {
    for (const w of this.waiters) {
      const o = writeOutcome(this.state, this.self, w, Date.now() >= w.deadline);
      if (o !== 'pending') w.resolve(o);
    }
    for (const f of this.changeListeners.splice(0)) f();
  }

  private changeListeners: (() => void)[] = [];
  private nextChange(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, Math.max(1, Math.min(50, deadline - Date.now())));
      this.changeListeners.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Rows as every logged entry will leave them: the table, overlaid with the entries not applied yet. */
  private keyView(): KeyView {
    const overlay = new Map<number, unknown[] | null>();
    let reset = false;
    const put = (o: BaseOp) => {
      if (o.op === 'write') for (const r of o.rows) overlay.set(r[0] as number, r);
      else if (o.op === 'update') overlay.set(o.key, [o.key, ...o.row]);
      else if (o.op === 'delete') overlay.set(o.key, null);
      else if (o.op === 'rollback') {
        for (const k of o.remove) overlay.set(k, null);
        for (const r of o.restore) overlay.set(r[0] as number, r);
      } else if (o.op === 'reset') {
        overlay.clear();
        reset = true;
      }
    };
    // only the entries not applied yet (the table holds the rest): a walk over the whole log cost O(log length)
    const entries = this.state.entries;
    for (let k = Math.max(0, this.applied - this.state.snapIndex); k < entries.length; k++) {
      const e = entries[k];
      if (e.index <= this.applied) continue;
      if (e.op.op === 'batch') e.op.ops.forEach(put);
      else put(e.op);
    }
    return {
      get: (key) => {
        if (overlay.has(key)) return overlay.get(key) ?? undefined;
        return reset ? undefined : this.store.rowValues(this.shard, key);
      },
      put: (key, row) => void overlay.set(key, row),
    };
  }

  /** Deposed (a newer term in a call or an answer): no more writes; pending ones answered by writeOutcome. */
  private stepDown(why: string): void {
    this.r.log?.warn('no longer primary', { shard: this.shard, term: this.state.currentTerm, why });
    for (const name of [...this.noticeTimers.keys()]) this.cancelNotice(name);
    this.progress = {};
    this.copies = [];
    this.settleWaiters();
  }

  /** The commit position over the voters, counting this server only as far as its log is fsynced. */
  private recommit(): void {
    if (!this.isPrimary) return;
    const match: Record<string, number> = {};
    for (const [name, p] of Object.entries(this.progress)) match[name] = p.match;
    const after = commitAsPrimary(this.state, this.self, match, this.voters, this.durableIndex());
    if (after.commitIndex > this.state.commitIndex) this.committed(after.commitIndex);
  }

  private committed(to: number): void {
    this.state = { ...this.state, commitIndex: to };
    this.advanceApply();
    this.settleWaiters();
    // a commit notice right away: replicas apply (and reads there see) the new entries without waiting for a write
    this.pumpAll();
  }

  /**
   * How far this server's log is on its disk: the primary counts itself toward a commit only that far (a majority
   * of replicas holding an entry commits it without the primary's own fsync, as Raft allows).
   */
  private durableIndex(): number {
    return Math.min(this.durable, lastIndex(this.state));
  }

  pumpAll(heartbeat = false): void {
    if (!this.isPrimary) return;
    for (const name of Object.keys(this.progress)) this.pump(name, heartbeat);
  }

  /** Sends replica `name` what it needs next (entries, a copy, a commit notice), one call in flight. */
  private pump(name: string, heartbeat = false): void {
    const p = this.progress[name];
    const url = this.addresses[name];
    if (!p || !url || !this.isPrimary) return;
    if ((this.backoff.get(name) ?? 0) > Date.now()) return;
    if (this.resync.has(name)) {
      // a forced copy needs the table to be exactly the commit position (no applies held back)
      if (!p.inFlight && p.copying === undefined && this.applied === this.state.commitIndex && this.holdApply === 0) void this.sendCopy(name, url, true);
      return;
    }
    const call = nextCall(this.state, this.self, p, { maxEntries: this.budget(p.next), heartbeat });
    if (call.kind === 'idle') return;
    if (call.kind === 'append' && call.req.entries.length === 0 && !heartbeat && this.r.noticeMs > 0) {
      // a commit notice only: the next append carries it, unless none comes within noticeMs
      if (!this.noticeTimers.has(name)) {
        const t = setTimeout(() => {
          this.noticeTimers.delete(name);
          if (!this.r.closed) this.pump(name, true);
        }, this.r.noticeMs);
        t.unref();
        this.noticeTimers.set(name, t);
      }
      return;
    }
    this.cancelNotice(name);
    if (call.kind === 'copy') {
      void this.sendCopy(name, url);
      return;
    }
    this.progress[name] = markSent(p, call);
    const term = this.state.currentTerm;
    this.r.peers.post(url, '/repl/append', { shard: this.shard, ...call.req }).then(
      (a) => this.onAnswer(name, term, a.status, a.body, call.req.prevIndex, false),
      (e) => this.onFailed(name, term, String(e)),
    );
  }

  private cancelNotice(name: string): void {
    const t = this.noticeTimers.get(name);
    if (t === undefined) return;
    clearTimeout(t);
    this.noticeTimers.delete(name);
  }

  private budget(from: number): number {
    return entriesBudget(this.state, from);
  }

  private onAnswer(name: string, term: number, status: number, body: Record<string, unknown> | undefined, prevIndex: number, copy: boolean): void {
    if (this.state.currentTerm !== term || !this.isPrimary || !this.progress[name]) return;
    if (!body || typeof body.term !== 'number' || (status !== 200 && status !== 409 && status !== 500 && status !== 400)) return this.onFailed(name, term, `answered ${status}`);
    this.unreachable.delete(name);
    const reply: AppendReply = status === 409 ? { term: body.term, ok: false, matchIndex: 0, lastIndex: 0, commitIndex: 0, reason: 'stale-term', store: body.store as string | undefined } : (body as unknown as AppendReply);
    const out: AnswerOutcome<Op> = copy ? onCopyAnswer(this.state, this.self, this.voters, this.progress, name, reply, this.durableIndex()) : onAppendAnswer(this.state, this.self, this.voters, this.progress, name, reply, prevIndex, this.durableIndex());
    // an answer the rules ignore (another term: a shard this server cannot replicate to) still ends the call
    this.progress[name] = { ...out.progress, inFlight: false };
    if (!out.deposed && reply.term !== this.state.currentTerm) this.backoff.set(name, Date.now() + 1000);
    if (out.deposed) {
      this.writeLog(out.persist);
      this.state = { ...this.state, currentTerm: out.state.currentTerm, votedFor: out.state.votedFor, leader: out.state.leader };
      this.stepDown(`${name} answered with term ${reply.term}`);
      return;
    }
    if (!reply.ok && reply.reason !== 'prev-mismatch' && reply.term === this.state.currentTerm) this.backoff.set(name, Date.now() + 100);
    if (status === 500 && reply.reason === 'violation' && !this.resync.has(name)) {
      this.r.log?.warn('replica reports a log violation: sending it a full copy', { shard: this.shard, replica: name, detail: reply.detail });
      this.resync.add(name);
    }
    if (out.state.commitIndex > this.state.commitIndex) this.committed(out.state.commitIndex);
    this.pump(name);
  }

  private onFailed(name: string, term: number, err: string): void {
    if (this.state.currentTerm !== term || !this.progress[name]) return;
    if (!this.unreachable.has(name)) this.r.log?.warn('replica does not answer', { shard: this.shard, replica: name, err });
    this.unreachable.add(name);
    this.progress[name] = onCallFailed(this.progress[name]);
    this.copies = this.copies.filter((c) => c.replica !== name);
    this.backoff.set(name, Date.now() + 100);
  }

  /** A full copy of the visible rows at the applied position, in chunks (REPLICATION.md, "Catch-up"). */
  private async sendCopy(name: string, url: string, force = false): Promise<void> {
    const position = this.applied;
    const indexTerm = termAt(this.state, position);
    const term = this.state.currentTerm;
    if (indexTerm === undefined) return;
    this.progress[name] = markSent(this.progress[name], { kind: 'copy', position, term: indexTerm });
    this.copies.push({ replica: name, position });
    this.r.log?.info('copying to a replica behind the log', { shard: this.shard, replica: name, position });
    let rows: unknown[][];
    this.holdApply++;
    try {
      rows = await this.store.rowArrays(this.shard);
    } finally {
      this.holdApply--;
      this.advanceApply();
    }
    const CHUNK = 5000;
    try {
      for (let part = 0, k = 0; ; part++, k += CHUNK) {
        const last = k + CHUNK >= rows.length;
        const a = await this.r.peers.post(url, '/repl/copy', { shard: this.shard, term, leader: this.self, index: position, indexTerm, part, last, rows: rows.slice(k, k + CHUNK), ...(force ? { force } : {}) }, 10_000);
        if (last || a.status !== 200) {
          this.copies = this.copies.filter((c) => c.replica !== name);
          if (a.status === 200 && force) this.resync.delete(name);
          if (a.status === 200 || a.status === 409) this.onAnswer(name, term, a.status, a.body, position, true);
          else this.onFailed(name, term, `copy answered ${a.status}`);
          return;
        }
      }
    } catch (e) {
      this.onFailed(name, term, String(e));
    }
  }

  // ---- compaction ----------------------------------------------------------------------------------

  /** Snapshots at the applied position once the log is long (on a primary: never past retentionFloor). */
  private maybeCompact(): void {
    const log = this.store.logOf(this.shard);
    if (!log || log.snapshotInProgress || log.bytesSinceSnap < this.store.snapshotThreshold) return;
    void this.compactNow();
  }

  async compactNow(): Promise<boolean> {
    const S = this.applied;
    if (S <= this.state.snapIndex) return false;
    if (this.isPrimary) {
      const match: Record<string, number> = {};
      for (const [name, p] of Object.entries(this.progress)) match[name] = p.match;
      const floor = retentionFloor({ commitIndex: this.state.commitIndex, copies: this.copies, match, keepBehind: this.r.keepBehind });
      if (S > floor - 1) return false;
    }
    const term = termAt(this.state, S)!;
    this.holdApply++;
    let ok = false;
    try {
      ok = await this.store.snapshot(this.shard, { index: S, term });
    } finally {
      this.holdApply--;
    }
    if (ok && termAt(this.state, S) === term) {
      const c = compact(this.state, S);
      if (!('error' in c)) this.state = c;
    }
    this.advanceApply();
    return ok;
  }

  /** GET /state's replication fields. */
  report(): Record<string, unknown> {
    return {
      last_index: lastIndex(this.state),
      last_term: lastTerm(this.state),
      commit_index: this.state.commitIndex,
      applied_index: this.applied,
      durable_index: this.durable,
      term: this.state.currentTerm,
      voted_for: this.state.votedFor,
      role: this.isPrimary ? 'primary' : this.state.leader === null && this.state.currentTerm === 0 ? null : 'replica',
      primary: this.state.leader,
      ready: this.isPrimary && primaryReady(this.state),
      resyncing: resyncing(this.state) || this.violation !== undefined,
      ...(this.violation ? { violation: this.violation } : {}),
      snapshot_index: this.state.snapIndex,
      ...(this.isPrimary ? { voters: this.voters, replicas: this.replicas, progress: Object.fromEntries(Object.entries(this.progress).map(([k, p]) => [k, { match: p.match, next: p.next, reachable: !this.unreachable.has(k) }])) } : {}),
    };
  }

  /** The shard's table and log were dropped (a schema change): stop serving as its primary. */
  dropped(): void {
    if (this.isPrimary) this.state = { ...this.state, leader: null };
    this.stepDown('the shard was dropped');
    if (this.hintTimer) clearTimeout(this.hintTimer);
  }

  /** Every ~100 ms: commit notices to idle replicas, retries after failures. */
  tick(): void {
    if (this.isPrimary) this.pumpAll(true);
    this.settleWaiters();
  }
}

/** Every replicated shard of this server, and the calls between them and the other servers. */
export class Replication {
  readonly store: ShardStore;
  readonly self: string;
  readonly storeId: string;
  readonly log: Logger | undefined;
  readonly peers: Peers;
  readonly keepBehind: number;
  readonly commitTimeoutMs: number;
  readonly promoteTimeoutMs: number;
  readonly noticeMs: number;
  private readonly shards = new Map<string, ShardRepl>();
  private readonly timer: NodeJS.Timeout;
  private restored = false;

  constructor(o: ReplicationOptions) {
    this.store = o.store;
    this.self = o.self;
    this.storeId = o.storeId;
    this.log = o.log;
    this.peers = new Peers(o.callTimeoutMs ?? 1000, o.streams ?? true);
    this.keepBehind = o.keepBehind ?? 1000;
    this.commitTimeoutMs = o.commitTimeoutMs ?? 2000;
    this.promoteTimeoutMs = o.promoteTimeoutMs ?? 3000;
    this.noticeMs = o.noticeMs ?? NOTICE_MS;
    this.timer = setInterval(() => {
      for (const s of this.shards.values()) s.tick();
    }, o.heartbeatMs ?? 100);
    this.timer.unref();
    this.store.onDrop.push((shard) => {
      this.shards.get(shard)?.dropped();
      this.shards.delete(shard);
    });
  }

  /** After replay: every shard with a hard state on disk is replicated; its LogState comes back from its log. */
  restore(): void {
    if (this.restored || this.store.replaying) return;
    this.restored = true;
    for (const shard of this.store.shards()) {
      const log = this.store.logOf(shard);
      if (!log?.hard || log.corrupt) continue;
      const state = restoreLog<Op>({ hard: log.hard, snapIndex: log.snapIndex, snapTerm: log.snapTerm, entries: log.loaded.map(fromWal), commitHint: log.commitHint });
      log.loaded = [];
      const s = new ShardRepl(shard, this, state, state.commitIndex);
      s.violation = log.violation; // remembered across a restart: it still waits for the primary's forced copy
      this.shards.set(shard, s);
    }
  }

  /** The shard's replication state, or undefined while it is written without primaries (assignment 2's mode). */
  get(shard: string): ShardRepl | undefined {
    this.restore();
    const s = this.shards.get(shard);
    if (s && !this.store.has(shard)) {
      // dropped by a /config with another schema: forget it
      this.shards.delete(shard);
      return undefined;
    }
    return s;
  }

  /**
   * The shard's replication state for a replication call; a shard written without primaries enters it only while
   * empty (its rows were never under a term: the LB recreates such a shard first, /repl/recreate).
   */
  enter(shard: string): ShardRepl {
    if (this.store.replaying) throw new ApiError('NO_REPLICA', `Server ${this.self} is replaying its log; retry in a moment`, 503);
    const had = this.get(shard);
    if (had) return had;
    if (!this.store.has(shard)) {
      if (!this.store.configuredSchema) fail('NOT_CONFIGURED', `Server ${this.self} is not configured; POST /config first`);
      fail('UNKNOWN_SHARD', `Shard ${shard} is not on this server`);
    }
    if (this.store.count(shard) > 0) throw notPrimary(shard, `${shard} holds rows written without primaries; POST /repl/recreate first`, 0, null);
    const log = this.store.logOf(shard);
    if (log && log.lastIndex > 0) log.installSnapshot(this.store.configuredSchema!.columns, 0, 0, [], []);
    // the mode is durable from the first call on: a restart must not take term-less writes into this log
    log?.saveHard({ term: 0, votedFor: null });
    const s = new ShardRepl(shard, this, emptyLog<Op>(), 0);
    this.shards.set(shard, s);
    return s;
  }

  /** /repl/recreate on a shard in any mode. */
  recreate(shard: string, term: number, floor: number): ShardRepl {
    if (this.store.replaying) throw new ApiError('NO_REPLICA', `Server ${this.self} is replaying its log; retry in a moment`, 503);
    if (!this.store.has(shard)) return this.enter(shard); // throws: not configured, or not on this server
    // a shard whose log is damaged mid-log, or that holds rows written without primaries, starts over here too
    const legacyRows = this.store.logOf(shard)?.corrupt !== undefined || this.store.count(shard) > 0;
    const s = this.get(shard) ?? (legacyRows ? undefined : this.enter(shard));
    if (s) {
      s.recreate(term, floor);
      return s;
    }
    const fresh = new ShardRepl(shard, this, emptyLog<Op>(), 0);
    fresh.recreate(term, floor);
    this.shards.set(shard, fresh);
    return fresh;
  }

  /** Every replicated shard's /state fields. */
  reports(): Record<string, Record<string, unknown>> {
    this.restore();
    const out: Record<string, Record<string, unknown>> = {};
    for (const [id, s] of this.shards) if (this.store.has(id)) out[id] = s.report();
    return out;
  }

  /** Keeps the connection pools of addresses some primary still replicates to. */
  retainPeers(): void {
    const urls = new Set<string>();
    for (const s of this.shards.values()) if (s.isPrimary) for (const u of Object.values(s.addresses)) urls.add(u);
    this.peers.retain(urls);
  }

  /** set by close(): no more calls to replicas */
  closed = false;

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.peers.close();
  }
}
