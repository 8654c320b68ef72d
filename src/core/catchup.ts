/**
 * How a replica that fell behind (restarted, paused, partitioned, newly added) catches up. Pure.
 *
 * From the primary's log whenever the primary still holds the entries after the replica's match point
 * (Raft §5.3: the primary backs `nextIndex` off until the logs agree, then sends what follows); a full
 * copy of the primary's visible rows only when those entries were compacted into a snapshot (Raft §7,
 * InstallSnapshot; MongoDB's "too stale" member needs an initial sync for the same reason). While a
 * copy is in flight the primary keeps its log from the copy's position on, or the replica could not
 * continue from it (`retentionFloor`).
 */
import type { AppendReply } from './replog.js';

/** What the primary knows about its own log. */
export interface PrimaryLogView {
  /** entries at or below it were compacted into the snapshot */
  snapIndex: number;
  lastIndex: number;
  commitIndex: number;
}

export type CatchupPlan =
  /** nothing to send but commit notices */
  | { kind: 'current' }
  /** send entries from..to (in batches) with the usual replication calls */
  | { kind: 'log'; from: number; to: number }
  /** copy the visible rows at `position` (the primary's commit position), then continue from position + 1 */
  | { kind: 'copy'; position: number };

/**
 * The catch-up for a replica whose next needed entry is `nextIndex` (its match point + 1). The entry
 * before it must still be known (its term is checked by the replica), so `nextIndex - 1 >= snapIndex`.
 */
export function planCatchup(p: PrimaryLogView, nextIndex: number): CatchupPlan {
  if (nextIndex > p.lastIndex) return { kind: 'current' };
  if (nextIndex - 1 < p.snapIndex) return { kind: 'copy', position: Math.max(p.commitIndex, p.snapIndex) };
  return { kind: 'log', from: nextIndex, to: p.lastIndex };
}

/**
 * The replica's next index after its answer to a call that started after `prevIndex`: past what it
 * matched on success; on a mismatch back to its hint (or one step, without one), never below 1 and
 * never forward. A refusal for term or a violation leaves it unchanged: the primary steps down or the
 * replica resyncs; retrying from elsewhere would not help.
 */
export function nextIndexAfter(reply: AppendReply, prevIndex: number): number {
  if (reply.ok) return reply.matchIndex + 1;
  if (reply.reason !== 'prev-mismatch') return prevIndex + 1;
  const back = reply.hint !== undefined ? reply.hint + 1 : prevIndex;
  return Math.max(1, Math.min(back, prevIndex));
}

/** A full copy being sent to a replica, made at the primary's commit position `position`. */
export interface CopyInFlight {
  replica: string;
  position: number;
}

/**
 * The lowest log index the primary must keep: it may compact (replog `compact`) up to floor - 1.
 * - never past its commit position (uncommitted entries are never in a snapshot);
 * - never past an in-flight copy's position: the replica continues from position + 1 when the copy lands;
 * - not past a replica's match point while it is at most `keepBehind` entries behind the commit
 *   position, so a short pause catches up from the log; one further behind gets a copy instead.
 * A copy that has finished (or failed) must be removed from `copies` by its owner, or the log grows.
 */
export function retentionFloor(a: { commitIndex: number; copies: readonly CopyInFlight[]; match?: Readonly<Record<string, number>>; keepBehind?: number }): number {
  let floor = a.commitIndex + 1;
  for (const c of a.copies) floor = Math.min(floor, c.position + 1);
  const keep = a.keepBehind ?? 0;
  for (const m of Object.values(a.match ?? {})) if (a.commitIndex - m <= keep) floor = Math.min(floor, m + 1);
  return Math.max(1, floor);
}
