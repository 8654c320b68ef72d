/**
 * Choosing a shard's primary. The LB's shard manager runs the election (issue 11, item 3); the servers
 * only answer with their state and store their term and vote (core/replog.ts `handleVote`). Pure.
 *
 * The winner is the most up-to-date log among a majority of the shard's voters, compared by
 * (last term, last index) as Raft §5.4.1 does: a long log of an older term loses to a shorter one of
 * a newer term (its tail was never committed). Because an entry acknowledged to a client is on a
 * majority, and every two majorities share a replica, the winner holds every acknowledged entry.
 * MongoDB's pv1 elections and Kafka's leader epochs (KIP-101) make the same choice for the same reason.
 */
import { compareLogs } from './replog.js';
import { quorum } from './membership.js';

/** What a replica says about one shard when the shard manager asks (its `GET` state, no side effect). */
export interface ReplicaReport {
  server: string;
  /** its current term */
  term: number;
  lastTerm: number;
  lastIndex: number;
  /**
   * false while it is replaying, resyncing after a corrupt log, or has a log it cannot vouch for:
   * such a replica neither stands nor counts toward the majority (issue 11, item 1). Default true.
   */
  eligible?: boolean;
}

export interface ElectionInput {
  shard: string;
  /** the shard's voters (membership.ts `majoritySet`): majorities are counted over these */
  voters: readonly string[];
  /** the answers that came back before the deadline; reports from non-voters are ignored */
  reports: readonly ReplicaReport[];
  /** the shard's term as the LB last recorded it (its metadata), so a term is never reused */
  knownTerm?: number;
  /** servers that may vote but must not be chosen (a primary being removed by /rm) */
  exclude?: readonly string[];
  /** current primaries of all shards (shard -> server): ties go to the server leading the fewest */
  primaries?: Readonly<Record<string, string>>;
  /** among equally up-to-date replicas, this one first (the placePrimaries choice at /init) */
  prefer?: string;
}

export type ElectionPlan =
  | {
      ok: true;
      candidate: string;
      /** the new term: larger than every term seen, so no replica has voted in it yet */
      term: number;
      /** the candidate's log as reported: sent with every vote request */
      lastTerm: number;
      lastIndex: number;
      /** whom to ask for a vote: the eligible voters that answered, the candidate first */
      ask: string[];
    }
  | { ok: false; reason: string };

/**
 * Plans one election of `shard`'s primary from the replicas' reports. Refuses (with a line saying what
 * is missing and what brings the shard back) when fewer than a majority of its voters answered, since
 * the winner of a minority could lack acknowledged changes.
 */
export function planElection(input: ElectionInput): ElectionPlan {
  const voters = [...new Set(input.voters)];
  const seen = new Map<string, ReplicaReport>();
  for (const r of input.reports) if (voters.includes(r.server) && !seen.has(r.server)) seen.set(r.server, r);
  const answered = voters.filter((v) => seen.has(v) && seen.get(v)!.eligible !== false);
  const need = quorum(voters.length);
  if (voters.length === 0) return { ok: false, reason: `no primary for ${input.shard}: it has no replica that counts toward its majority; add a replica` };
  if (answered.length < need) {
    const missing = voters.filter((v) => !answered.includes(v));
    const unfit = voters.filter((v) => seen.get(v)?.eligible === false);
    return {
      ok: false,
      reason:
        `no primary for ${input.shard}: ${answered.length} of its ${voters.length} replicas answered` +
        (answered.length ? ` (${answered.join(', ')})` : '') +
        `, ${need} are needed; it elects one by itself once ${need - answered.length} more of ${missing.join(', ')} ${need - answered.length === 1 ? 'is' : 'are'} back` +
        (unfit.length ? ` (${unfit.join(', ')} answered but cannot vote yet: replaying, resyncing, or their stored data was lost and is being recreated)` : ''),
    };
  }
  const term = Math.max(input.knownTerm ?? 0, ...[...seen.values()].map((r) => r.term)) + 1;
  const load = new Map<string, number>();
  for (const [shard, server] of Object.entries(input.primaries ?? {})) if (shard !== input.shard) load.set(server, (load.get(server) ?? 0) + 1);
  const standing = answered.filter((v) => !(input.exclude ?? []).includes(v));
  if (standing.length === 0) return { ok: false, reason: `no primary for ${input.shard}: no replica other than ${(input.exclude ?? []).join(', ')} answered; bring another replica back first` };
  const best = [...standing].sort((a, b) => {
    const ra = seen.get(a)!;
    const rb = seen.get(b)!;
    const pref = Number(b === input.prefer) - Number(a === input.prefer);
    return compareLogs(rb, ra) || pref || (load.get(a) ?? 0) - (load.get(b) ?? 0) || voters.indexOf(a) - voters.indexOf(b);
  })[0];
  const r = seen.get(best)!;
  return { ok: true, candidate: best, term, lastTerm: r.lastTerm, lastIndex: r.lastIndex, ask: [best, ...answered.filter((v) => v !== best)] };
}

/**
 * Places the primaries of shards that have none yet (after /init, or /add of new shards) so that no
 * server leads more shards than needed: the smallest possible maximum per server, found by matching
 * shards to their replicas with a per-server capacity raised one at a time (augmenting paths).
 * Deterministic: shards are taken in the given order and each tries its replicas in its own order.
 * A shard with no replica gets no entry. `current` primaries are kept as they are and count as load.
 */
export function placePrimaries(replicasOf: Readonly<Record<string, readonly string[]>>, current: Readonly<Record<string, string>> = {}): Record<string, string> {
  const shards = Object.keys(replicasOf).filter((s) => replicasOf[s].length > 0 && !(current[s] && replicasOf[s].includes(current[s])));
  const fixed: Record<string, string> = {};
  for (const [s, p] of Object.entries(current)) if (replicasOf[s]?.includes(p)) fixed[s] = p;
  const servers = [...new Set(Object.values(replicasOf).flat())];
  const base = new Map<string, number>(servers.map((v) => [v, 0]));
  for (const p of Object.values(fixed)) base.set(p, (base.get(p) ?? 0) + 1);
  const lower = Math.max(Math.ceil((shards.length + Object.keys(fixed).length) / Math.max(1, servers.length)), ...base.values(), 1);
  for (let cap = lower; ; cap++) {
    const owner = new Map<string, string>(); // shard -> server
    const held = new Map<string, string[]>(servers.map((v) => [v, []]));
    const free = (v: string) => cap - (base.get(v) ?? 0) - held.get(v)!.length;
    const augment = (shard: string, visited: Set<string>): boolean => {
      for (const v of replicasOf[shard]) {
        if (visited.has(v)) continue;
        visited.add(v);
        if (free(v) > 0) {
          owner.set(shard, v);
          held.get(v)!.push(shard);
          return true;
        }
        // v is full: move one of its shards to another replica of that shard, then take the freed slot
        for (const other of [...held.get(v)!]) {
          if (augment(other, visited)) {
            const list = held.get(v)!;
            list.splice(list.indexOf(other), 1);
            owner.set(shard, v);
            list.push(shard);
            return true;
          }
        }
      }
      return false;
    };
    if (shards.every((s) => augment(s, new Set()))) {
      const out: Record<string, string> = {};
      for (const s of Object.keys(replicasOf)) {
        const p = fixed[s] ?? owner.get(s);
        if (p) out[s] = p;
      }
      return out;
    }
  }
}

/**
 * One step toward spread primaries after faults moved them together (Kafka's preferred-leader rebalance): a shard
 * whose primary leads at least two shards more than another of its `eligible` replicas moves to the least loaded
 * such replica (the largest gap first; ties by shard order, then replica order). Each move lowers the sum of the
 * squared loads, so repeated moves end. undefined: nothing worth moving.
 */
export function rebalanceMove(
  eligible: Readonly<Record<string, readonly string[]>>,
  primaries: Readonly<Record<string, string>>,
): { shard: string; from: string; to: string } | undefined {
  const load = new Map<string, number>();
  for (const p of Object.values(primaries)) load.set(p, (load.get(p) ?? 0) + 1);
  let best: { shard: string; from: string; to: string; gap: number } | undefined;
  for (const [shard, from] of Object.entries(primaries)) {
    for (const to of eligible[shard] ?? []) {
      if (to === from) continue;
      const gap = (load.get(from) ?? 0) - (load.get(to) ?? 0);
      if (gap >= 2 && (!best || gap > best.gap)) best = { shard, from, to, gap };
    }
  }
  return best && { shard: best.shard, from: best.from, to: best.to };
}

/** What the recorded primary of a shard says about itself (its `/repl/state` answer for the shard). */
export interface PrimaryCheck {
  term: number;
  role: 'primary' | 'replica';
  /** it has committed an entry of its own term (replog `primaryReady`) */
  ready: boolean;
  commitIndex: number;
}

export type ResumeDecision =
  /** keep it: the shard's read position (`acked`) is its commit position */
  | { action: 'adopt'; primary: string; term: number; acked: number }
  /** it is primary of the recorded term but has not committed its no-op yet: ask again, elect past a deadline */
  | { action: 'wait'; why: string }
  | { action: 'elect'; why: string };

/**
 * After an LB restart (or when in doubt), whether a shard keeps its recorded primary: only if that
 * server answers as primary of exactly the recorded term and is ready (§8: only then does its commit
 * position cover every write acknowledged before). Anything else is settled by a new election, whose
 * higher term deposes whoever may still think it leads.
 */
export function resumeShard(recorded: { primary?: string; term: number }, check?: PrimaryCheck): ResumeDecision {
  if (!recorded.primary) return { action: 'elect', why: 'no primary recorded' };
  if (!check) return { action: 'elect', why: `${recorded.primary} did not answer` };
  if (check.role !== 'primary') return { action: 'elect', why: `${recorded.primary} is not primary any more (term ${check.term})` };
  if (check.term !== recorded.term) return { action: 'elect', why: `${recorded.primary} leads term ${check.term}, the LB recorded term ${recorded.term}` };
  if (!check.ready) return { action: 'wait', why: `${recorded.primary} has not committed an entry of term ${check.term} yet` };
  return { action: 'adopt', primary: recorded.primary, term: check.term, acked: check.commitIndex };
}
