/**
 * The write path's pure rules: majorities, the majority group after a restart, rows grouped by shard. No I/O.
 */
import { fail } from './errors.js';
import type { Row } from './table.js';

/** True when `acked` of `voters` is a strict majority (voters > 0). */
export function isMajority(acked: number, voters: number): boolean {
  return voters > 0 && acked * 2 > voters;
}

/**
 * The replicas a shard's majority is counted over: its members that have held every acknowledged change at
 * least once (a replica just added is not a voter until its first copy finished), never fewer than the shard's
 * configured members (a replica that fails stays a voter: failures never shrink the majority).
 */
export function voters(members: readonly string[], joining: ReadonlySet<string>): string[] {
  return members.filter((m) => !joining.has(m));
}

/** Before a change: may it be attempted at all with `live` of `voterCount` voters serving? */
export function checkQuorum(shard: string, live: number, voterCount: number): void {
  if (live === 0) fail('NO_REPLICA', `Shard ${shard} has no serving replica; refused, nothing was applied`);
  if (!isMajority(live, voterCount))
    fail('NO_MAJORITY', `Only ${live} of ${voterCount} replicas of shard ${shard} are serving; refused, nothing was applied`);
}

export interface DigestOf {
  server: string;
  /** undefined: it did not answer */
  digest?: string;
  count?: number;
}

/**
 * After a restart, replicas of a shard may differ by a change that was never acknowledged. The group to keep is
 * the largest set of replicas with the same digest (ties: more rows, then the first listed); the others are
 * refilled from it. Returns undefined when no replica answered.
 */
export function majorityGroup(ds: readonly DigestOf[]): { keep: string[]; refill: string[] } | undefined {
  const groups = new Map<string, { members: string[]; count: number; first: number }>();
  ds.forEach((d, i) => {
    if (d.digest === undefined) return;
    const g = groups.get(d.digest) ?? { members: [], count: d.count ?? 0, first: i };
    g.members.push(d.server);
    groups.set(d.digest, g);
  });
  const best = [...groups.values()].sort((a, b) => b.members.length - a.members.length || b.count - a.count || a.first - b.first)[0];
  if (!best) return undefined;
  return { keep: best.members, refill: ds.map((d) => d.server).filter((s) => !best.members.includes(s)) };
}

export interface ShardGroup<S> {
  shard: S;
  rows: Row[];
  keys: number[];
}

/**
 * Groups a write's rows by shard, refusing the whole request (before anything is written) on a key outside every
 * shard, a key twice in the request, or a key already stored or in flight.
 */
export function groupByShard<S>(
  rows: readonly Row[],
  keyCol: string,
  shardOf: (key: number) => S | undefined,
  taken: (shard: S, key: number) => boolean,
): ShardGroup<S>[] {
  const groups = new Map<S, ShardGroup<S>>();
  const seen = new Set<number>();
  for (let i = 0; i < rows.length; i++) {
    const key = rows[i][keyCol] as number;
    const sh = shardOf(key);
    if (sh === undefined) fail('KEY_OUT_OF_RANGE', `data[${i}].${keyCol} ${key} is outside every shard`);
    if (seen.has(key)) fail('DUPLICATE_KEY', `data[${i}].${keyCol} ${key} appears twice in the request`);
    seen.add(key);
    if (taken(sh, key)) fail('DUPLICATE_KEY', `data[${i}].${keyCol} ${key} is already stored`);
    let g = groups.get(sh);
    if (!g) groups.set(sh, (g = { shard: sh, rows: [], keys: [] }));
    g.rows.push(rows[i]);
    g.keys.push(key);
  }
  return [...groups.values()];
}

/**
 * Which replica of a shard with no serving replica may serve again without a copy: the one that left the serving
 * set last holds every acknowledged change (each was applied to every serving replica), provided it is the same
 * store instance (it did not restart empty) and nothing else has served since.
 */
export function mayResumeWithoutCopy(server: string, storeId: string | undefined, last: { server: string; storeId?: string } | undefined): boolean {
  return !!last && last.server === server && !!storeId && last.storeId === storeId;
}
