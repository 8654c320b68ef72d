/**
 * The primary's side of replication as pure steps: what it knows about each replica (`Progress`, after
 * etcd-io/raft's tracker.Progress), what to send it next, and what an answer changes. The server's
 * replication loop only does the I/O: for each replica, `nextCall`, send, then `onAppendAnswer` /
 * `onCopyAnswer` / `onCallFailed`. One call in flight per replica; entries that arrive meanwhile go in
 * the next call (the group commit of the wire). REPLICATION.md, "A write".
 */
import { nextIndexAfter, planCatchup } from './catchup.js';
import {
  commitAsPrimary,
  lastIndex,
  observeTerm,
  appendRequestFor,
  termAt,
  type AppendReply,
  type AppendRequest,
  type LogState,
  type Persist,
} from './replog.js';

/** What the primary knows about one replica of its shard. */
export interface Progress {
  /** the next index to send */
  next: number;
  /** the highest index known to be on its disk and to match the primary's log */
  match: number;
  /** its commit position as it last answered (a commit notice is due while it is behind the primary's) */
  commit: number;
  /** a call is out: nothing more is sent until it is answered or fails */
  inFlight: boolean;
  /** the position of a full copy being sent, if any (it holds back compaction: catchup.ts retentionFloor) */
  copying?: number;
  /** the replica's store id this progress is about (named by the LB); answers of any other store are ignored */
  store?: string;
}

/**
 * A replica's progress when a primary takes office: it starts right after the log end the replica
 * reported in the election (the LB passes it with /repl/promote), or after the primary's own end; a
 * wrong guess costs one refused call.
 */
export function newProgress(primaryLastIndex: number, reportedLastIndex?: number, store?: string): Progress {
  return { next: Math.min(reportedLastIndex ?? primaryLastIndex, primaryLastIndex) + 1, match: 0, commit: 0, inFlight: false, ...(store === undefined ? {} : { store }) };
}

/**
 * The LB recreated a replica on a new volume (its old disk is gone): the primary forgets what the old
 * one held, so an answer of the old one can never again count toward a commit. The LB reads the
 * primary's commit position only after this, as the new replica's `recreatedLog` floor.
 */
export function replicaRecreated(primaryLastIndex: number, store: string): Progress {
  return newProgress(primaryLastIndex, 0, store);
}

export type NextCall<Op> =
  | { kind: 'append'; req: AppendRequest<Op> }
  /** send the visible rows at `position` (a term `term` entry) with /repl/copy */
  | { kind: 'copy'; position: number; term: number }
  | { kind: 'idle' };

/**
 * What to send a replica now: entries it lacks (at most `maxEntries`), a full copy when they were
 * compacted, a commit notice (an empty append) when its commit position is behind or `heartbeat` is
 * due, or nothing while a call is out.
 */
export function nextCall<Op>(state: LogState<Op>, self: string, p: Progress, o: { maxEntries?: number; heartbeat?: boolean } = {}): NextCall<Op> {
  if (p.inFlight || p.copying !== undefined) return { kind: 'idle' };
  const plan = planCatchup({ snapIndex: state.snapIndex, lastIndex: lastIndex(state), commitIndex: state.commitIndex }, p.next);
  if (plan.kind === 'copy') return { kind: 'copy', position: plan.position, term: termAt(state, plan.position)! };
  if (plan.kind === 'current' && !o.heartbeat && p.commit >= state.commitIndex) return { kind: 'idle' };
  const req = appendRequestFor(state, self, p.next, o.maxEntries);
  if ('copy' in req) return { kind: 'copy', position: state.commitIndex, term: termAt(state, state.commitIndex)! };
  return { kind: 'append', req };
}

/** Marks a call as sent (or a copy as started at its position). */
export function markSent(p: Progress, call: NextCall<unknown>): Progress {
  if (call.kind === 'append') return { ...p, inFlight: true };
  if (call.kind === 'copy') return { ...p, inFlight: true, copying: call.position };
  return p;
}

/** A call that failed (connection error, timeout, 5xx): send again later from the same place. */
export function onCallFailed(p: Progress): Progress {
  return { ...p, inFlight: false, copying: undefined };
}

export interface AnswerOutcome<Op> {
  state: LogState<Op>;
  progress: Progress;
  /** a newer term was seen: the primary has been deposed; persist it, fail its pending writes as indeterminate */
  deposed: boolean;
  persist: Persist<Op>;
  /** entries newly committed by this answer (apply them, answer their writes), or undefined */
  committed?: { from: number; to: number };
}

/**
 * The primary takes in a replica's answer to an append that started after `prevIndex`: a newer term
 * deposes it; an answer of another term is stale and ignored; otherwise the replica's progress moves
 * and the commit position is recomputed over `voters` (advanceCommit: current-term entries only).
 */
export function onAppendAnswer<Op>(state: LogState<Op>, self: string, voters: readonly string[], progress: Readonly<Record<string, Progress>>, from: string, reply: AppendReply, prevIndex: number, selfMatch = lastIndex(state)): AnswerOutcome<Op> {
  const had = progress[from] ?? newProgress(lastIndex(state));
  if (had.store !== undefined && reply.store !== undefined && reply.store !== had.store) {
    // an answer of another volume than the one the LB named (a lost one, or a new one the primary has
    // not been told of yet): what it says cannot count; the LB's /repl/members brings the new store id
    return { state, progress: had, deposed: false, persist: { append: [] } };
  }
  if (reply.term > state.currentTerm) {
    const o = observeTerm(state, reply.term);
    return { state: o.state, progress: { ...had, inFlight: false }, deposed: true, persist: o.persist };
  }
  // an answer from another term (a late one of an earlier office) says nothing about the call now out
  if (reply.term !== state.currentTerm || state.leader !== self) return { state, progress: had, deposed: false, persist: { append: [] } };
  const p: Progress = { ...had, inFlight: false };
  let next: Progress;
  if (reply.ok) next = { ...p, match: Math.max(p.match, reply.matchIndex), next: Math.max(p.next, nextIndexAfter(reply, prevIndex)), commit: reply.commitIndex };
  else if (reply.reason === 'prev-mismatch') next = { ...p, next: nextIndexAfter(reply, prevIndex), commit: reply.commitIndex };
  else next = p; // malformed / violation: the call is not retried as is; the replica resyncs (REPLICATION.md, Faults)
  const match: Record<string, number> = {};
  for (const [r, q] of Object.entries(progress)) match[r] = q.match;
  match[from] = next.match;
  const after = commitAsPrimary(state, self, match, voters, selfMatch);
  return {
    state: after,
    progress: next,
    deposed: false,
    persist: { append: [] },
    ...(after.commitIndex > state.commitIndex ? { committed: { from: state.commitIndex + 1, to: after.commitIndex } } : {}),
  };
}

/** The answer to the last chunk of a copy: as an append answer, after which the log continues from the copy's position. */
export function onCopyAnswer<Op>(state: LogState<Op>, self: string, voters: readonly string[], progress: Readonly<Record<string, Progress>>, from: string, reply: AppendReply, selfMatch = lastIndex(state)): AnswerOutcome<Op> {
  const p = { ...(progress[from] ?? newProgress(lastIndex(state))), copying: undefined };
  return onAppendAnswer(state, self, voters, { ...progress, [from]: p }, from, reply, reply.ok ? reply.matchIndex : p.next - 1, selfMatch);
}

/** Where a write the primary took stands: its answer to the LB (REPLICATION.md, "A write", step 3). */
export type WriteOutcome =
  /** 200: on a majority under this primary, applied */
  | 'committed'
  /** 503/409 "refused": never logged here, nothing happened */
  | 'refused'
  /** 503 "indeterminate": logged, not known committed, and this primary can no longer tell (deposed, or past the deadline) */
  | 'indeterminate'
  /** keep waiting */
  | 'pending';

/**
 * The outcome of a write logged (or not: `index` undefined) by `self` as entry `index` of term `term`.
 * A deposed primary or a passed deadline cannot say whether a later primary will commit the entry, so
 * the answer is indeterminate, never "failed": the client must check before it retries.
 */
export function writeOutcome(state: LogState<unknown>, self: string, w: { index?: number; term: number }, expired: boolean): WriteOutcome {
  if (w.index === undefined) return 'refused';
  if (w.index <= state.commitIndex) {
    const t = termAt(state, w.index);
    if (t === w.term) return 'committed';
    // compacted: its term is gone, so the entry there is known to be this write's only while this server has led
    // w.term throughout (a deposed one may have had it replaced by a later primary's, then got a copy past it)
    if (t === undefined && state.leader === self && state.currentTerm === w.term) return 'committed';
  }
  if (state.leader !== self || state.currentTerm !== w.term || expired) return 'indeterminate';
  return 'pending';
}
