/**
 * `/rm` under primaries (core/REPLICATION.md, "Membership"): a shard's voters change one server at a time, and
 * each change is made only once the primary's whole log is held by a majority of the voters that remain
 * (core/membership.ts `heldByMajority`). Then every entry ever committed survives any later election among them,
 * and any majority of the old voters shares a replica with any majority of the new ones (Raft thesis §4.1).
 * Removing several voters of one shard at once broke that: with A (primary), B, C and an acknowledged entry on A
 * and B only, `/rm A B` left C alone to elect itself without it.
 *
 * Every step runs in the shard's executor, so no write of the shard is sent while it is judged and made. A step
 * that cannot be made safely (no primary, the remaining replicas do not catch up within `rmCatchUpMs`, the
 * primary cannot be handed over) throws, with what was removed so far; `force` skips these checks.
 */
import { ApiError } from '../core/errors.js';
import { heldByMajority } from '../core/membership.js';
import { sleep, type LbContext } from './context.js';
import type { Primaries } from './primaries.js';
import { membersBody } from './rejoin.js';
import type { Shard } from './shard.js';

/**
 * Waits (caller holds the shard's lock) until the primary's log as it is now is held by a majority of `keep`.
 * Resolves undefined when it is, else why not (after `ms`).
 */
export async function awaitHeld(c: LbContext, sh: Shard, primary: string, keep: readonly string[], ms: number): Promise<string | undefined> {
  const end = c.now() + ms;
  let goal: number | undefined;
  let why = 'no answer';
  for (;;) {
    const s = await c.client.state(primary, 1000).then(
      (st) => st.shards[sh.id],
      (e: Error) => void (why = `${primary} does not answer (${e.message})`),
    );
    if (s) {
      if (s.role !== 'primary' || s.term !== sh.lead.term) return `${primary} is not the primary of ${sh.id} in term ${sh.lead.term} any more`;
      goal ??= s.last_index;
      const held: Record<string, number> = { [primary]: s.durable_index ?? s.last_index };
      // only serving replicas count: the primary's progress for one fenced because it came back on another store
      // still holds the old store's match (it forgot those entries)
      for (const [v, p] of Object.entries(s.progress ?? {})) if (sh.ready.has(v)) held[v] = p.match;
      const at = heldByMajority(keep, held);
      if (at >= goal) return undefined;
      const short = keep.filter((v) => (held[v] ?? 0) < goal!);
      why = `a majority of the replicas it keeps (${keep.join(', ')}) must hold its log up to entry ${goal}; ${short.join(', ')} ${short.length === 1 ? 'is' : 'are'} behind`;
    }
    if (c.now() >= end) return why;
    await sleep(25);
  }
}

/** The ids of every shard the servers `names` hold, sorted (the order /rm takes shard locks in). */
export function shardIdsOf(c: LbContext, names: readonly string[]): string[] {
  return [...new Set(names.flatMap((n) => c.servers.get(n)?.shards ?? []))].sort();
}

export class VoterChange {
  constructor(
    private readonly c: LbContext,
    private readonly pm: Primaries,
  ) {}

  /**
   * Checks every shard `removed` touches before anything changes: it has a primary not being removed (handed
   * over now if it is) and the voters it keeps hold its whole log. Throws (nothing removed) when one does not.
   */
  async preflight(removed: readonly string[]): Promise<void> {
    for (const sh of this.touched(removed)) {
      await sh.run(async () => {
        const keep = sh.voters().filter((v) => !removed.includes(v));
        if (keep.length === sh.voters().length) return; // only non-voters leave it
        const why = await this.ready(sh, keep, removed);
        if (why) throw why;
      });
    }
  }

  /**
   * Takes `name` out of each of its shards, one shard at a time, each under its lock: judged again there (a fault
   * while /rm waited), the primary handed over if it is `name`, the remaining voters caught up, then the LB's
   * replica set and the primary's changed together. Throws when a step cannot be made; the shards already left
   * are not rejoined here (the caller puts the server back).
   */
  async detach(name: string, removed: readonly string[], force: boolean, done: string[]): Promise<void> {
    const c = this.c;
    for (const id of [...(c.servers.get(name)?.shards ?? [])].sort()) {
      const sh = c.topo.shard(id);
      if (!sh) continue;
      await sh.run(async () => {
        if (!sh.replicas.includes(name)) return;
        if (!force && ![...sh.ready].some((r) => r !== name))
          throw new ApiError('LAST_REPLICA', `removing ${name} would leave shard ${sh.id} with no serving replica (its rows would be gone); wait for its other replicas to serve, or pass "force": true`);
        const voter = sh.voters().includes(name);
        if (voter && !force) {
          const why = await this.ready(sh, sh.voters().filter((v) => v !== name), removed);
          if (why) throw why;
          // judged again after those awaits: a replica fenced meanwhile must not leave the shard none serving
          if (![...sh.ready].some((r) => r !== name))
            throw new ApiError('LAST_REPLICA', `removing ${name} would leave shard ${sh.id} with no serving replica (another one failed meanwhile); retry once it serves, or pass "force": true`);
        } else if (sh.lead.primary === name) {
          // forced: try to hand over, go on either way
          await this.pm.electLocked(sh, `/rm removes ${name}`, { force: true, exclude: [...removed] });
        }
        if (sh.lead.primary === name) this.pm.lost(sh, name, 'was removed by /rm');
        // the LB's two records of placement change in one step: metadata saved meanwhile never lists the
        // server with a shard whose replica set (and primary) no longer has it
        sh.removeReplica(name);
        const e = c.servers.get(name);
        if (e) e.shards = e.shards.filter((x) => x !== sh.id);
        done.push(sh.id);
        const p = sh.lead.primary;
        if (!p) return; // the next election hands the new set to whoever wins
        await c.client.members(p, membersBody(c, sh, sh.lead.term), 2000).catch((e: Error) => {
          // it keeps counting over the old set (one server more: any majority of either shares a replica) until
          // deposed; the next election promotes another with the set the LB recorded
          this.pm.lost(sh, p, `did not confirm its replica set without ${name} (${e.message})`);
        });
      });
    }
  }

  /**
   * Under the shard's lock: a primary that stays (one elected now if there is none or it is being removed), and
   * the voters in `keep` holding its whole log. Undefined when ready, else the error to refuse with.
   */
  private async ready(sh: Shard, keep: readonly string[], removed: readonly string[]): Promise<ApiError | undefined> {
    if (keep.length === 0) return new ApiError('LAST_REPLICA', `removing ${removed.join(', ')} would leave shard ${sh.id} with no replica that votes; add one first, or pass "force": true`);
    const { primary } = await this.pm.require(sh);
    const wait = this.c.s.rmCatchUpMs;
    const why = await awaitHeld(this.c, sh, primary, keep, wait);
    if (why) return new ApiError('REPLICAS_BEHIND', `shard ${sh.id} cannot lose a replica yet: ${why} (waited ${wait} ms); retry once they caught up, or pass "force": true`);
    // a primary being removed hands over first (the others vote; it may not stand)
    if (removed.includes(primary) && !(await this.pm.electLocked(sh, `/rm removes ${primary}`, { force: true, exclude: [...removed] })))
      return new ApiError('NO_PRIMARY', `shard ${sh.id} could not hand its primary ${primary} over before /rm (${sh.lead.reason}); retry shortly, or pass "force": true`);
    return undefined;
  }

  private touched(removed: readonly string[]): Shard[] {
    return shardIdsOf(this.c, removed)
      .map((id) => this.c.topo.shard(id))
      .filter((s): s is Shard => s !== undefined);
  }
}
