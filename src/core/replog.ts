/**
 * A shard's replicated log as a pure value, and the rules that change it (Raft §5 and Figure 2; the
 * follower side follows etcd-io/raft:log.go `maybeAppend`/`findConflict`/`isUpToDate`/`maybeCommit`).
 * No I/O: every transition returns the new value, the reply, and what the server must make durable
 * (`Persist`) BEFORE it sends the reply. src/core/REPLICATION.md says who calls what.
 *
 * Indexes start at 1; index 0 with term 0 is the empty log. Terms start at 1 (the first primary).
 * Entries up to `commitIndex` are committed: the same on every replica that has them, and the only
 * ones a replica may apply to its table (`visible`). Entries after it may still be cut (a rejoining
 * replica loses them when the primary's log disagrees), which is why they are never visible.
 */

/** One logged change of a shard. `op` is opaque here (rows to insert, an update, a delete, a no-op). */
export interface LogEntry<Op = unknown> {
  index: number;
  term: number;
  op: Op;
}

/** The replicated state of one shard on one server. Treat as immutable. */
export interface LogState<Op = unknown> {
  /** the latest term this replica has seen (durable) */
  currentTerm: number;
  /** whom it voted for in currentTerm, if anyone (durable) */
  votedFor: string | null;
  /** the primary it accepted an append from in currentTerm (volatile: learnt again from the next call) */
  leader: string | null;
  /** the last index covered by the snapshot (0: none); entries at or below it are gone from `entries` */
  snapIndex: number;
  /** the term of the entry at snapIndex (0 when snapIndex is 0) */
  snapTerm: number;
  /** entries snapIndex+1 .. lastIndex, contiguous */
  entries: readonly LogEntry<Op>[];
  /** the highest index known committed; snapIndex <= commitIndex <= lastIndex */
  commitIndex: number;
  /**
   * Set on a server recreated on a new volume (`recreatedLog`): it forgot its log and its votes, so it
   * does not vote until its commit position has reached this one (durable; cleared once reached).
   */
  resyncTo?: number;
}

/** The durable part that must be on disk before a reply that depends on it (Raft Figure 2, "persistent state"). */
export interface HardState {
  term: number;
  votedFor: string | null;
  /** see LogState.resyncTo; absent when not resyncing */
  resyncTo?: number;
}

/** The hard state of `s` as it must be written. */
export function hardOf(s: LogState<unknown>): HardState {
  return s.resyncTo ? { term: s.currentTerm, votedFor: s.votedFor, resyncTo: s.resyncTo } : { term: s.currentTerm, votedFor: s.votedFor };
}

/**
 * What the server writes, in this order, and fsyncs once, before it replies: the hard state; the
 * snapshot position (a copy's rows become the snapshot at that index, entries at or below it are
 * dropped); the log cut (drop every entry >= truncateFrom); the appended entries.
 * An empty Persist (`nothingToPersist`) needs no write at all.
 */
export interface Persist<Op = unknown> {
  hard?: HardState;
  truncateFrom?: number;
  append: LogEntry<Op>[];
  snapshot?: { index: number; term: number };
}

export const nothingToPersist = <Op>(): Persist<Op> => ({ append: [] });

export function emptyLog<Op = unknown>(): LogState<Op> {
  return { currentTerm: 0, votedFor: null, leader: null, snapIndex: 0, snapTerm: 0, entries: [], commitIndex: 0 };
}

/**
 * The state a server rebuilds on start from what it replayed: hard state, snapshot position, the log
 * after it, and the commit position it last wrote (a hint, written lazily as etcd's HardState.Commit;
 * safety never depends on it). The hint is clamped into [snapIndex, lastIndex].
 */
export function restoreLog<Op>(d: { hard: HardState; snapIndex: number; snapTerm: number; entries: readonly LogEntry<Op>[]; commitHint?: number }): LogState<Op> {
  const s: LogState<Op> = { currentTerm: d.hard.term, votedFor: d.hard.votedFor, leader: null, snapIndex: d.snapIndex, snapTerm: d.snapTerm, entries: d.entries, commitIndex: d.snapIndex };
  const last = lastIndex(s);
  return { ...s, commitIndex: Math.max(d.snapIndex, Math.min(d.commitHint ?? 0, last)), ...(d.hard.resyncTo ? { resyncTo: d.hard.resyncTo } : {}) };
}

/**
 * The state of a server recreated on a new volume (its old one is gone). It starts at `term`, the term
 * the LB last recorded for the shard (so it cannot vote in a term it may already have voted in), and
 * votes again only once its commit position reached `floor`: the commit position of the shard's ready
 * primary, read by the LB after telling that primary the server's new store id (primary.ts
 * `replicaRecreated`), so every acknowledged entry is at or below it. Until then an election needs a
 * majority without it, which always includes a real holder of every acknowledged entry (REPLICATION.md).
 * The hard state must be written before the server answers anything.
 */
export function recreatedLog<Op = unknown>(term: number, floor: number): { state: LogState<Op>; persist: Persist<Op> } {
  const state: LogState<Op> = { ...emptyLog<Op>(), currentTerm: term, ...(floor > 0 ? { resyncTo: floor } : {}) };
  return { state, persist: { hard: hardOf(state), append: [] } };
}

/** A replica that has not yet caught up after its volume was recreated does not vote. */
export function resyncing(s: LogState<unknown>): boolean {
  return (s.resyncTo ?? 0) > s.commitIndex;
}

/** Clears resyncTo once reached (to be persisted with the hard state). */
function settleResync<Op>(s: LogState<Op>, persist: Persist<Op>): LogState<Op> {
  if (!s.resyncTo || s.commitIndex < s.resyncTo) return s;
  const { resyncTo: _, ...rest } = s;
  persist.hard = hardOf(rest);
  return rest;
}

export function lastIndex(s: LogState<unknown>): number {
  return s.snapIndex + s.entries.length;
}

export function lastTerm(s: LogState<unknown>): number {
  return s.entries.length ? s.entries[s.entries.length - 1].term : s.snapTerm;
}

/** The term of the entry at `index`; undefined when it is compacted (below snapIndex) or past the end. */
export function termAt(s: LogState<unknown>, index: number): number | undefined {
  if (index === s.snapIndex) return s.snapTerm;
  if (index < s.snapIndex || index > lastIndex(s)) return undefined;
  return s.entries[index - s.snapIndex - 1].term;
}

/**
 * Compares two logs by their last entry (Raft §5.4.1): the later last term wins; with equal last terms
 * the longer log wins. Never by length alone: a long log of an older term is behind a short one of a
 * newer term. Returns >0 when a is more up to date, 0 when equal, <0 when b is.
 */
export function compareLogs(a: { lastTerm: number; lastIndex: number }, b: { lastTerm: number; lastIndex: number }): number {
  return a.lastTerm !== b.lastTerm ? a.lastTerm - b.lastTerm : a.lastIndex - b.lastIndex;
}

/** A replica that sees a newer term adopts it and forgets its vote and leader (Raft Figure 2, "all servers"). */
export function observeTerm<Op>(s: LogState<Op>, term: number): { state: LogState<Op>; persist: Persist<Op> } {
  if (term <= s.currentTerm) return { state: s, persist: nothingToPersist() };
  const state: LogState<Op> = { ...s, currentTerm: term, votedFor: null, leader: null };
  return { state, persist: { hard: hardOf(state), append: [] } };
}

// ---- append (primary -> replica) --------------------------------------------------------------

/** The replication call. `entries` follow prevIndex without a gap; an empty list is a heartbeat / commit notice. */
export interface AppendRequest<Op = unknown> {
  term: number;
  leader: string;
  prevIndex: number;
  prevTerm: number;
  entries: readonly LogEntry<Op>[];
  leaderCommit: number;
}

export type AppendRefusal = 'malformed' | 'stale-term' | 'prev-mismatch' | 'violation';

export interface AppendReply {
  /** the replica's term after the call: a primary that sees a larger one has been deposed */
  term: number;
  ok: boolean;
  /** on ok: the highest index known to match the primary's log (prevIndex + entries.length) */
  matchIndex: number;
  /** the replica's last index after the call */
  lastIndex: number;
  /** the replica's commit position after the call */
  commitIndex: number;
  reason?: AppendRefusal;
  /** on prev-mismatch: the primary may retry with prevIndex = hint (etcd's findConflictByTerm) */
  hint?: number;
  /** a human line for logs and the 409/503 body */
  detail?: string;
  /**
   * The replica's store id (its volume's, made once when the volume is created; the server sets it, not
   * these rules): a server recreated on a new volume answers with another one, and the primary counts
   * answers of the store the LB named only (primary.ts).
   */
  store?: string;
}

export interface AppendResult<Op> {
  state: LogState<Op>;
  reply: AppendReply;
  persist: Persist<Op>;
  /**
   * Set when the call would change a committed entry, or two primaries claim one term. That cannot
   * happen unless a log or the protocol is broken: nothing is changed, and the server must stop
   * serving and voting for the shard until it has resynced from the primary (issue 11, item 1).
   */
  violation?: string;
}

const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * Checks the shape of a replication call (a torn or partial message that still parsed as JSON, a gap
 * in the indexes, terms out of order). Returns the reason it is unusable, or undefined when it is well formed.
 */
export function checkAppend(req: unknown): string | undefined {
  if (typeof req !== 'object' || req === null) return 'not an object';
  const r = req as Record<string, unknown>;
  for (const f of ['term', 'prevIndex', 'prevTerm', 'leaderCommit'] as const) if (!isNat(r[f])) return `${f} must be a non-negative integer`;
  const term = r.term as number;
  const prevIndex = r.prevIndex as number;
  const prevTerm = r.prevTerm as number;
  if (term < 1) return 'term must be at least 1';
  if (typeof r.leader !== 'string' || r.leader === '') return 'leader must name the primary';
  if (prevTerm > term) return `prevTerm ${prevTerm} is after the call's term ${term}`;
  if ((prevIndex === 0) !== (prevTerm === 0)) return 'prevIndex and prevTerm must both be 0 or both be positive';
  if (!Array.isArray(r.entries)) return 'entries must be a list';
  let t = prevTerm;
  for (let i = 0; i < r.entries.length; i++) {
    const e = r.entries[i] as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null || !isNat(e.index) || !isNat(e.term) || !('op' in e)) return `entries[${i}] must have index, term and op`;
    if (e.index !== prevIndex + 1 + i) return `entries[${i}] has index ${e.index}, expected ${prevIndex + 1 + i} (a gap or a torn batch)`;
    if (e.term < t || e.term > term || e.term < 1) return `entries[${i}] has term ${e.term}, outside ${t}..${term}`;
    t = e.term;
  }
  return undefined;
}

/** The largest index <= index whose term is <= term, not below `floor` (etcd-io/raft:log.go findConflictByTerm). */
function conflictHint(s: LogState<unknown>, index: number, term: number, floor: number): number {
  let i = Math.min(index, lastIndex(s));
  while (i > floor) {
    const t = termAt(s, i);
    if (t === undefined || t <= term) return i;
    i--;
  }
  return floor;
}

/**
 * A replica handles a replication call (Raft Figure 2, AppendEntries receiver):
 * 1. an older term is refused with the current term (the caller is a deposed primary);
 * 2. a newer term is adopted (and must be persisted);
 * 3. the entry before the batch must match (prevIndex, prevTerm), or the call is refused with a hint;
 * 4. entries already present with the same term are kept (a late duplicate never cuts newer entries);
 *    at the first entry whose term differs the uncommitted suffix is cut and the rest appended;
 * 5. the commit position moves to min(leaderCommit, the last index this call vouched for).
 * Anything that would cut or contradict an entry at or below commitIndex is a violation, not a truncation.
 */
export function handleAppend<Op>(state: LogState<Op>, req: AppendRequest<Op>, o: Grow = {}): AppendResult<Op> {
  const refuse = (s: LogState<Op>, persist: Persist<Op>, reason: AppendRefusal, detail: string, hint?: number): AppendResult<Op> => ({
    state: s,
    persist,
    reply: { term: s.currentTerm, ok: false, matchIndex: 0, lastIndex: lastIndex(s), commitIndex: s.commitIndex, reason, detail, ...(hint === undefined ? {} : { hint }) },
  });
  const malformed = checkAppend(req);
  if (malformed) return refuse(state, nothingToPersist(), 'malformed', `malformed replication call: ${malformed}`);
  if (req.term < state.currentTerm) {
    return refuse(state, nothingToPersist(), 'stale-term', `term ${req.term} is older than this replica's term ${state.currentTerm}`);
  }
  if (req.term === state.currentTerm && state.leader !== null && state.leader !== req.leader) {
    const violation = `two primaries in term ${req.term}: ${state.leader} and ${req.leader}`;
    return { ...refuse(state, nothingToPersist(), 'violation', violation), violation };
  }
  const adopted = observeTerm(state, req.term);
  const s: LogState<Op> = { ...adopted.state, leader: req.leader };
  const persist: Persist<Op> = adopted.persist;

  const lastNew = req.prevIndex + req.entries.length;
  // Entries at or below commitIndex are committed: the primary holds the same ones (Leader Completeness,
  // §5.4.3). Check those we still have, then continue from the commit position.
  let prevIndex = req.prevIndex;
  let prevTerm = req.prevTerm;
  let entries = req.entries;
  if (prevIndex < s.commitIndex) {
    const mine = termAt(s, prevIndex);
    if (mine !== undefined && mine !== prevTerm) {
      const violation = `entry ${prevIndex} is committed with term ${mine} but the primary ${req.leader} has term ${prevTerm}`;
      return { ...refuse(s, persist, 'violation', violation), violation };
    }
    const skip = Math.min(entries.length, s.commitIndex - prevIndex);
    for (const e of entries.slice(0, skip)) {
      const t = termAt(s, e.index);
      if (t !== undefined && t !== e.term) {
        const violation = `entry ${e.index} is committed with term ${t} but the primary ${req.leader} sends term ${e.term}`;
        return { ...refuse(s, persist, 'violation', violation), violation };
      }
    }
    entries = entries.slice(skip);
    if (skip > 0) {
      prevIndex += skip;
      prevTerm = req.entries[skip - 1].term;
    }
  }
  if (prevIndex >= s.commitIndex) {
    const mine = termAt(s, prevIndex);
    if (mine === undefined) {
      return refuse(s, persist, 'prev-mismatch', `no entry ${prevIndex} here (last is ${lastIndex(s)})`, lastIndex(s));
    }
    if (mine !== prevTerm) {
      if (prevIndex === s.commitIndex) {
        const violation = `entry ${prevIndex} is committed with term ${mine} but the primary ${req.leader} has term ${prevTerm}`;
        return { ...refuse(s, persist, 'violation', violation), violation };
      }
      return refuse(s, persist, 'prev-mismatch', `entry ${prevIndex} has term ${mine}, the primary's has ${prevTerm}`, conflictHint(s, prevIndex - 1, prevTerm, s.commitIndex));
    }
  }

  // find the first entry that is new or differs (etcd findConflict)
  let kept = s.entries;
  let fresh: LogEntry<Op>[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const t = termAt(s, e.index);
    if (t === e.term) continue;
    fresh = entries.slice(i);
    if (t !== undefined) {
      // e.index > commitIndex here: the committed prefix was checked above
      persist.truncateFrom = e.index;
      kept = s.entries.slice(0, e.index - s.snapIndex - 1);
    }
    break;
  }
  persist.append = fresh;
  const next: LogState<Op> = { ...s, entries: kept !== s.entries ? [...kept, ...fresh] : fresh.length ? extend(kept, fresh, o.inPlace) : s.entries };
  next.commitIndex = Math.max(s.commitIndex, Math.min(req.leaderCommit, lastNew));
  const settled = settleResync(next, persist);
  return {
    state: settled,
    persist,
    reply: { term: settled.currentTerm, ok: true, matchIndex: lastNew, lastIndex: lastIndex(settled), commitIndex: settled.commitIndex },
  };
}

// ---- votes (the LB's shard manager -> every replica) ------------------------------------------------

export interface VoteRequest {
  term: number;
  candidate: string;
  /** the candidate's log as it reported it */
  lastIndex: number;
  lastTerm: number;
}

export type VoteRefusal = 'malformed' | 'stale-term' | 'already-voted' | 'log-behind' | 'log-changed' | 'resyncing';

export interface VoteReply {
  term: number;
  granted: boolean;
  reason?: VoteRefusal;
  detail?: string;
}

/**
 * A replica answers a vote request (Raft §5.2, §5.4.1). It grants only if
 * - the term is not older than its own (a newer one is adopted first),
 * - it has not voted for another candidate in that term (at most one vote per term), and
 * - the candidate's log is at least as up to date as its own by (last term, last index).
 * The candidate's own vote (candidate === self) needs its log to be exactly what it reported: its log
 * is what the others compared theirs with, and from its vote on no older primary can change it.
 * `persist.hard` must be on disk before the reply leaves (a restarted server must not vote twice).
 */
export function handleVote<Op>(state: LogState<Op>, req: VoteRequest, self: string): { state: LogState<Op>; reply: VoteReply; persist: Persist<Op> } {
  if (!isNat(req?.term) || req.term < 1 || typeof req.candidate !== 'string' || req.candidate === '' || !isNat(req.lastIndex) || !isNat(req.lastTerm)) {
    return { state, persist: nothingToPersist(), reply: { term: state.currentTerm, granted: false, reason: 'malformed', detail: 'a vote request needs term, candidate, lastIndex and lastTerm' } };
  }
  if (req.term < state.currentTerm) {
    return { state, persist: nothingToPersist(), reply: { term: state.currentTerm, granted: false, reason: 'stale-term', detail: `term ${req.term} is older than ${state.currentTerm}` } };
  }
  const { state: s, persist } = observeTerm(state, req.term);
  const no = (reason: VoteRefusal, detail: string) => ({ state: s, persist, reply: { term: s.currentTerm, granted: false, reason, detail } });
  if (resyncing(s)) return no('resyncing', `this replica was recreated and has committed ${s.commitIndex} of the ${s.resyncTo} it needs before it votes`);
  if (s.votedFor !== null && s.votedFor !== req.candidate) return no('already-voted', `already voted for ${s.votedFor} in term ${s.currentTerm}`);
  const mine = { lastTerm: lastTerm(s), lastIndex: lastIndex(s) };
  const cmp = compareLogs(req, mine);
  if (req.candidate === self && cmp !== 0) return no('log-changed', `this log is now (${mine.lastTerm}, ${mine.lastIndex}), not the reported (${req.lastTerm}, ${req.lastIndex})`);
  if (cmp < 0) return no('log-behind', `candidate's log (${req.lastTerm}, ${req.lastIndex}) is behind this one (${mine.lastTerm}, ${mine.lastIndex})`);
  if (s.votedFor === req.candidate) return { state: s, persist, reply: { term: s.currentTerm, granted: true } };
  return {
    state: { ...s, votedFor: req.candidate },
    persist: { ...persist, hard: hardOf({ ...s, votedFor: req.candidate }) },
    reply: { term: s.currentTerm, granted: true },
  };
}

/** Counts vote answers over the shard's voters (the candidate included): won, lost (a majority can no longer grant), or pending. */
export function tallyVotes(voters: readonly string[], answers: Readonly<Record<string, boolean>>): { outcome: 'won' | 'lost' | 'pending'; granted: number; needed: number } {
  const needed = Math.floor(voters.length / 2) + 1;
  let granted = 0;
  let refused = 0;
  for (const v of new Set(voters)) {
    if (answers[v] === true) granted++;
    else if (answers[v] === false) refused++;
  }
  const outcome = voters.length > 0 && granted >= needed ? 'won' : voters.length - refused < needed ? 'lost' : 'pending';
  return { outcome, granted, needed };
}

// ---- the primary ------------------------------------------------------------------------------

/**
 * The winner of an election takes office: it must be at `term` having voted for itself. It appends
 * `noop` as the first entry of its term, so that committing it commits everything before (§5.4.2, §8).
 */
export function becomePrimary<Op>(state: LogState<Op>, self: string, term: number, noop: Op): { state: LogState<Op>; persist: Persist<Op> } | { error: string } {
  if (state.currentTerm !== term || state.votedFor !== self) return { error: `${self} is not the elected primary of term ${term} (it is at term ${state.currentTerm}, voted for ${state.votedFor ?? 'nobody'})` };
  if (state.leader === self) return { state, persist: nothingToPersist() };
  const entry: LogEntry<Op> = { index: lastIndex(state) + 1, term, op: noop };
  return { state: { ...state, leader: self, entries: [...state.entries, entry] }, persist: { append: [entry] } };
}

/** The primary appends new changes at its term (to be persisted, then sent with the next replication call). */
export function appendAsPrimary<Op>(state: LogState<Op>, self: string, ops: readonly Op[], o: Grow = {}): { state: LogState<Op>; persist: Persist<Op>; first: number; last: number } | { error: string } {
  if (state.leader !== self) return { error: `${self} is not the primary (term ${state.currentTerm}, primary ${state.leader ?? 'unknown'})` };
  const first = lastIndex(state) + 1;
  const added = ops.map((op, i) => ({ index: first + i, term: state.currentTerm, op }));
  return { state: { ...state, entries: extend(state.entries, added, o.inPlace) }, persist: { append: added }, first, last: first + added.length - 1 };
}

/**
 * `inPlace`: the caller keeps no other state sharing `state.entries` (a server replaces its one state at once), so
 * new entries are pushed onto that array instead of copying it: a copy per write cost O(log length), a fifth of
 * a primary's CPU once a shard's log held tens of thousands of entries.
 */
export interface Grow {
  inPlace?: boolean;
}

/** `entries` followed by `added`: a new array, or with `inPlace` the same one grown. */
function extend<T>(entries: readonly T[], added: readonly T[], inPlace = false): readonly T[] {
  if (!inPlace) return [...entries, ...added];
  const out = entries as T[];
  for (const e of added) out.push(e);
  return out;
}

/** The replication call a primary sends to a replica whose next needed index is `nextIndex` (at most `max` entries). */
export function appendRequestFor<Op>(state: LogState<Op>, self: string, nextIndex: number, max = Infinity): AppendRequest<Op> | { copy: true } {
  const prevIndex = Math.max(0, Math.min(nextIndex, lastIndex(state) + 1) - 1);
  const prevTerm = termAt(state, prevIndex);
  if (prevTerm === undefined) return { copy: true };
  const from = prevIndex - state.snapIndex;
  const entries = state.entries.slice(from, from + Math.max(0, max));
  return { term: state.currentTerm, leader: self, prevIndex, prevTerm, entries, leaderCommit: state.commitIndex };
}

/**
 * The primary's commit position after replicas answered (Raft §5.3, §5.4.2; etcd-io/raft maybeCommit):
 * the highest index stored on a majority of `voters` (the primary's own durable last index included in
 * `match`), but only if that entry is of the current term. Older entries commit only indirectly, with
 * the first current-term entry above them (the Figure 8 scenario). Never moves backwards.
 */
export function advanceCommit(a: {
  match: Readonly<Record<string, number>>;
  voters: readonly string[];
  currentTerm: number;
  commitIndex: number;
  termAt: (index: number) => number | undefined;
}): number {
  const voters = [...new Set(a.voters)];
  if (voters.length === 0) return a.commitIndex;
  const sorted = voters.map((v) => a.match[v] ?? 0).sort((x, y) => y - x);
  const n = sorted[Math.floor(voters.length / 2)]; // held by at least a majority
  if (n > a.commitIndex && a.termAt(n) === a.currentTerm) return n;
  return a.commitIndex;
}

/**
 * The commit position of the primary's own state after the replicas' match indexes; the primary's own is
 * `selfMatch` (how far its log is on its disk; its lastIndex by default).
 */
export function commitAsPrimary<Op>(state: LogState<Op>, self: string, match: Readonly<Record<string, number>>, voters: readonly string[], selfMatch = lastIndex(state)): LogState<Op> {
  const commitIndex = advanceCommit({ match: { ...match, [self]: selfMatch }, voters, currentTerm: state.currentTerm, commitIndex: state.commitIndex, termAt: (i) => termAt(state, i) });
  return commitIndex === state.commitIndex ? state : { ...state, commitIndex };
}

/**
 * True once the primary has committed an entry of its own term: only then is its commitIndex at least
 * every position acknowledged under earlier terms, so the LB may learn the shard's read position from it
 * (after an LB restart or an election; Raft §8, read-only queries).
 */
export function primaryReady(state: LogState<unknown>): boolean {
  return state.leader !== null && termAt(state, state.commitIndex) === state.currentTerm;
}

// ---- reads, compaction, copies ---------------------------------------------------------------------

/** The entries a replica may apply and show: those up to commitIndex that are still in the log. */
export function visible<Op>(state: LogState<Op>): readonly LogEntry<Op>[] {
  return state.entries.slice(0, state.commitIndex - state.snapIndex);
}

/** A replica may answer a read that must see every change the LB acknowledged up to `position`. */
export function readable(state: LogState<unknown>, position: number): boolean {
  return state.commitIndex >= position;
}

/** Drops entries up to `upTo` after a snapshot at that position was made durable. Only committed entries may go. */
export function compact<Op>(state: LogState<Op>, upTo: number): LogState<Op> | { error: string } {
  if (upTo > state.commitIndex) return { error: `cannot compact up to ${upTo}: only ${state.commitIndex} is committed` };
  if (upTo <= state.snapIndex) return state;
  return { ...state, snapIndex: upTo, snapTerm: termAt(state, upTo)!, entries: state.entries.slice(upTo - state.snapIndex) };
}

/** A full copy of the primary's visible rows at (index, term), sent when the entries a replica needs were compacted. */
export interface CopyRequest {
  term: number;
  leader: string;
  index: number;
  indexTerm: number;
}

/**
 * A replica installs a full copy (Raft §7, InstallSnapshot receiver): an older term is refused; a copy
 * at or below its commit position changes nothing; otherwise the rows replace its table, and its log
 * keeps the entries after the copy's position only if it holds the copy's last entry (same index and
 * term), else it is emptied. The copy is committed by construction (a primary copies visible rows only).
 */
export function installCopy<Op>(state: LogState<Op>, req: CopyRequest): { state: LogState<Op>; reply: AppendReply; persist: Persist<Op>; install: boolean } {
  if (req.term < state.currentTerm) {
    return { state, persist: nothingToPersist(), install: false, reply: { term: state.currentTerm, ok: false, matchIndex: 0, lastIndex: lastIndex(state), commitIndex: state.commitIndex, reason: 'stale-term' } };
  }
  const adopted = observeTerm(state, req.term);
  const s: LogState<Op> = { ...adopted.state, leader: req.leader };
  if (req.index <= s.commitIndex) {
    return { state: s, persist: adopted.persist, install: false, reply: { term: s.currentTerm, ok: true, matchIndex: s.commitIndex, lastIndex: lastIndex(s), commitIndex: s.commitIndex } };
  }
  const matches = termAt(s, req.index) === req.indexTerm;
  const keep = matches ? s.entries.slice(req.index - s.snapIndex) : [];
  const cut = !matches && lastIndex(s) > req.index ? { truncateFrom: req.index + 1 } : {};
  const persist: Persist<Op> = { ...adopted.persist, snapshot: { index: req.index, term: req.indexTerm }, ...cut, append: [] };
  const next = settleResync({ ...s, snapIndex: req.index, snapTerm: req.indexTerm, entries: keep, commitIndex: req.index }, persist);
  return {
    state: next,
    install: true,
    persist,
    reply: { term: next.currentTerm, ok: true, matchIndex: req.index, lastIndex: lastIndex(next), commitIndex: next.commitIndex },
  };
}
