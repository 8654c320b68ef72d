/**
 * Membership of a shard's replica set under primaries (issue 11, item 4). Pure.
 *
 * A replica added by /add counts toward the shard's majority (it is a voter) only once it has caught
 * up. Adding an empty voter is safe by itself (one server at a time, below), but it makes every commit
 * wait for the replica that holds nothing, so a shard of 3 + 1 new would stall on any second failure
 * (Raft thesis §4.2.1, "catching up new servers"; etcd learners; MongoDB's STARTUP2 members that cannot
 * vote). A voter whose volume was lost is a different case, one of safety: replog.ts `recreatedLog`.
 * Voter status is sticky: a voter that is down still counts (a dead replica must not shrink the
 * majority, or two halves could both have one). It is recorded in the LB's metadata with the placement.
 *
 * The voter set changes one server at a time (Raft thesis §4.1, single-server changes): any majority
 * of the old set and any majority of the new one then share a replica, so no two primaries can be
 * elected and no acknowledged change can be missed across the change.
 *
 * core/quorum.ts holds the same voter rule for assignment 2's write path (`voters(members, joining)`);
 * `majoritySet` is it seen from the caught-up side, so both paths count the same replicas.
 */
import { isMajority, voters } from './quorum.js';

/** The size of a majority of n voters. */
export function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** The shard's voters: its replicas (in the shard's order) that have caught up at least once. */
export function majoritySet(replicas: readonly string[], caughtUp: ReadonlySet<string> | readonly string[]): string[] {
  const done = caughtUp instanceof Set ? caughtUp : new Set(caughtUp as readonly string[]);
  const members = [...new Set(replicas)];
  return voters(members, new Set(members.filter((r) => !done.has(r))));
}

/** True when `holders` include a majority of `voters` (holders outside the voters do not count). */
export function hasMajority(voterSet: readonly string[], holders: Iterable<string>): boolean {
  const set = new Set(voterSet);
  let n = 0;
  for (const h of new Set(holders)) if (set.has(h)) n++;
  return isMajority(n, set.size);
}

/**
 * A replica being added has caught up once it holds everything the primary had committed when it
 * asked (its match index reached that commit position). From then on the replication calls keep it current.
 */
export function isCaughtUp(matchIndex: number, primaryCommit: number): boolean {
  return matchIndex >= primaryCommit;
}

/**
 * The highest log position held by a majority of `voters` (`held[v]`: how far v's log is known to match the
 * primary's, the primary's own as far as it is on disk; absent: 0). A voter change may be made once the primary's
 * whole log is held so by the voters that remain: every committed entry then survives any election among them.
 */
export function heldByMajority(voterSet: readonly string[], held: Readonly<Record<string, number>>): number {
  const at = [...new Set(voterSet)].map((v) => held[v] ?? 0).sort((a, b) => b - a);
  return at.length === 0 ? 0 : at[quorum(at.length) - 1];
}

export type MembershipStep =
  | { op: 'add'; server: string }
  /** `handoff`: the server is the primary, so another must be elected first (the /rm rule) */
  | { op: 'remove'; server: string; handoff: boolean };

/**
 * The next single change taking the replica set from `current` to `target`, or null when they are
 * equal. Additions come first (the shard never has fewer copies than either end), in target order;
 * then removals in current order, the primary last. The caller applies one step, waits until it took
 * effect (an added replica caught up and became a voter; a removed one left), then asks again.
 */
export function nextMembershipStep(current: readonly string[], target: readonly string[], primary?: string | null): MembershipStep | null {
  const add = target.find((s) => !current.includes(s));
  if (add !== undefined) return { op: 'add', server: add };
  const gone = current.filter((s) => !target.includes(s));
  if (gone.length === 0) return null;
  const pick = gone.find((s) => s !== primary) ?? gone[0];
  return { op: 'remove', server: pick, handoff: pick === primary };
}

/**
 * The extra servers a `/rm` removes at random when the caller named fewer than n: primaries only when
 * there are not enough other servers (each removed primary costs an election). `random(k)` returns an
 * integer in [0, k); the order among equals is a seeded shuffle, so a test can fix it.
 */
export function pickRemovals(candidates: readonly string[], n: number, primaries: Readonly<Record<string, string>>, random: (k: number) => number): string[] {
  const leading = new Set(Object.values(primaries));
  const pool = [...new Set(candidates)];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const ordered = [...pool.filter((s) => !leading.has(s)), ...pool.filter((s) => leading.has(s))];
  return ordered.slice(0, Math.max(0, n));
}
