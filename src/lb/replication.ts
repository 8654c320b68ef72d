/**
 * Assignment 2's write path: a change of a shard goes to every serving replica under the shard's lock; it is
 * acknowledged when the replicas that applied it are a majority of the shard's voters (core/quorum.ts), and
 * otherwise undone where it landed. Replicas that fail a call are reported to `fault` (fenced, kept).
 * (The primary-per-shard model of issue 11 replaces this file.)
 */
import { ApiError, fail } from '../core/errors.js';
import { checkQuorum, isMajority } from '../core/quorum.js';
import type { Row } from '../core/table.js';
import { writeBody } from '../shared/wire.js';
import type { LbContext } from './context.js';
import type { Shard } from './shard.js';

export type FaultFn = (server: string, reason: string) => void;

export class Replication {
  constructor(
    private readonly c: LbContext,
    private readonly fault: FaultFn,
  ) {}

  /** The shard executor's callback: one group-committed batch to every serving replica. */
  /** group-committed batches sent (status --json: rows per batch shows how well writes coalesce) */
  batches = 0;

  applyBatch = async (sh: Shard, rows: Row[]): Promise<void> => {
    this.batches++;
    const body = writeBody(sh.id, sh.validIdx, JSON.stringify(rows));
    await this.replicate(
      sh,
      (s) => this.c.client.writeRaw(s, body),
      (s) => this.c.client.rollback(s, sh.id, sh.keyCol, rows.map((r) => r[sh.keyCol] as number), []),
    );
  };

  /**
   * Applies one change to every serving replica of the shard (caller holds the shard lock). Replicas that fail are
   * fenced. Succeeds when the replicas that applied it are a majority of the shard's voters; otherwise undoes it
   * where it landed and throws NO_MAJORITY, so no reader sees a change that was refused.
   */
  async replicate<T>(sh: Shard, apply: (s: string) => Promise<T>, undo: (s: string, r: T) => Promise<void>): Promise<T[]> {
    const vs = sh.voters();
    const voters = vs.length;
    const live = [...sh.ready];
    checkQuorum(sh.id, live.filter((s) => vs.includes(s)).length, voters);
    const res = await Promise.allSettled(live.map(apply));
    // torn down meanwhile (/init, a rolled-back /add): its servers' names may already belong to new servers
    if (sh.closed) fail('NO_REPLICA', `Shard ${sh.id} was replaced while the change was in flight; it may or may not have landed on the old replicas`);
    const ok: { s: string; v: T }[] = [];
    const errs: { s: string; e: unknown }[] = [];
    res.forEach((r, i) => (r.status === 'fulfilled' ? ok.push({ s: live[i], v: r.value }) : errs.push({ s: live[i], e: r.reason })));
    if (ok.length === 0 && errs.length > 0 && errs.every((x) => x.e instanceof ApiError)) {
      // every replica refused the same input: nothing was applied anywhere, so this is the caller's error
      throw errs[0].e;
    }
    for (const x of errs) this.fault(x.s, x.e instanceof Error ? x.e.message : String(x.e));
    // acked by serving replicas only: one that applied it and was fenced meanwhile does not count
    const acked = ok.filter((x) => sh.ready.has(x.s) && vs.includes(x.s));
    if (isMajority(acked.length, voters)) return ok.map((x) => x.v);
    await Promise.all(ok.map((x) => undo(x.s, x.v).catch((e) => this.fault(x.s, `rollback failed: ${(e as Error).message}`))));
    return fail('NO_MAJORITY', `Only ${acked.length} of ${voters} replicas of shard ${sh.id} applied the change; it was rolled back (nothing changed)`);
  }

  /** Undoes an acknowledged insert of a multi-shard write whose other part failed (caller holds the shard lock). */
  async undoInsert(sh: Shard, keys: number[]): Promise<void> {
    const live = [...sh.ready];
    const res = await Promise.allSettled(live.map((s) => this.c.client.rollback(s, sh.id, sh.keyCol, keys, [])));
    if (sh.closed) return;
    res.forEach((r, i) => {
      if (r.status === 'rejected') this.fault(live[i], `undo failed: ${String(r.reason)}`);
    });
    for (const k of keys) sh.known.delete(k);
    sh.validIdx -= keys.length;
  }
}
