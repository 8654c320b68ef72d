/**
 * The shard manager (the assignment's): per shard its primary, its term and `acked` (Shard.lead), and the
 * elections that change them (core/REPLICATION.md, "Elections"). The servers never elect themselves; they store
 * a term and a vote and apply Raft's vote rule, so an election run twice (a retried call, a restarted LB) can
 * never produce two primaries in one term or a primary missing an acknowledged write.
 *
 * An election runs in the shard's executor (Shard.run), so no write of the shard is sent meanwhile. Its steps:
 * GET /state to the voters, planElection, save the new term (so a restarted LB never reuses it), /repl/vote to
 * the plan's servers, tallyVotes, record the primary, /repl/promote; `acked` becomes the new primary's commit
 * position (its no-op of the new term is committed, so that covers every earlier acknowledgement; Raft §8).
 * A shard that could not elect keeps the reason, which writes get as 503 NO_PRIMARY, and is tried again every
 * heartbeat tick.
 */
import { ApiError, fail } from '../core/errors.js';
import { placePrimaries, planElection, rebalanceMove, resumeShard, type ReplicaReport } from '../core/election.js';
import { tallyVotes } from '../core/replog.js';
import { persist, sleep, type LbContext } from './context.js';
import { UpstreamError, type StateReport } from './shard-client.js';
import type { Lead, Shard } from './shard.js';

/** Deadlines of the election calls (ms); a promote answered 503 INDETERMINATE (~3 s) is asked once more. */
export const ELECTION_TIMEOUTS = { state: 500, vote: 500, promote: 3500 };

export interface ElectOptions {
  /** may vote but must not be chosen (a primary being removed by /rm) */
  exclude?: string[];
  /** elect even when a primary is recorded (an operator's /primary_elect, a 409 from the primary) */
  force?: boolean;
  /** among equally up-to-date replicas, this one (the placePrimaries choice at /init) */
  prefer?: string;
}

export class Primaries {
  constructor(private readonly c: LbContext) {}

  /** shard -> primary, shard -> term (GET /primaries, /status). */
  view(): { primaries: Record<string, string>; terms: Record<string, number> } {
    const primaries: Record<string, string> = {};
    const terms: Record<string, number> = {};
    for (const d of this.c.topo.defs()) {
      const sh = this.c.topo.shard(d.Shard_id);
      if (!sh) continue;
      if (sh.lead.primary) primaries[sh.id] = sh.lead.primary;
      terms[sh.id] = sh.lead.term;
    }
    return { primaries, terms };
  }

  /** Primaries for shards without one, spread over servers (placePrimaries): the preferred candidates of /init. */
  placement(): Record<string, string> {
    const replicasOf: Record<string, string[]> = {};
    for (const sh of this.c.topo.shards.values()) replicasOf[sh.id] = sh.voters();
    return placePrimaries(replicasOf, this.view().primaries);
  }

  /**
   * Among equally up-to-date replicas, the one placePrimaries gives `sh` next to the other shards' primaries and
   * the shards still without one. Elections that run at once (every shard after a restart of the whole cluster)
   * each see no other primary yet; the load tie-break alone then sent every shard to its first voter (five of six
   * shards on Server0 after a chaos run), while this plan is the same for all of them and spreads them.
   */
  private spreadChoice(sh: Shard, others: Record<string, string>, exclude: string[]): string | undefined {
    const replicasOf: Record<string, string[]> = {};
    for (const s of this.c.topo.shards.values()) if (!s.closed) replicasOf[s.id] = s.id === sh.id ? sh.voters().filter((v) => !exclude.includes(v)) : s.voters();
    const choice = placePrimaries(replicasOf, others)[sh.id];
    // a tie-break, never against the load one: not a server leading more shards than another voter that may stand
    const load = (v: string) => Object.values(others).filter((p) => p === v).length;
    const least = Math.min(...(replicasOf[sh.id] ?? []).map(load));
    return choice !== undefined && load(choice) <= least ? choice : undefined;
  }

  /** Runs an election in the shard's executor (queued behind the writes before it). Resolves true when won. */
  elect(sh: Shard, why: string, o: ElectOptions = {}): Promise<boolean> {
    if (sh.lead.electing) return Promise.resolve(false);
    sh.lead.electing = true;
    return sh
      .run(() => (o.force || !sh.lead.primary ? this.electLocked(sh, why, o) : Promise.resolve(true)))
      .catch(() => false)
      .finally(() => (sh.lead.electing = false));
  }

  /**
   * The primary a write goes to (caller holds the shard's lock): the recorded one, or one elected now; none ->
   * 503 NO_PRIMARY with the reason. An election that failed within the last heartbeat interval is not run again
   * by a write (the heartbeat tick retries), so a burst of writes to a shard that cannot elect answers at once.
   */
  async require(sh: Shard): Promise<{ primary: string; term: number }> {
    const fresh = sh.lead.failedAt !== undefined && this.c.now() - sh.lead.failedAt < this.c.s.heartbeat.intervalMs;
    if (!sh.lead.primary && !fresh) await this.electLocked(sh, 'a write found no primary');
    if (sh.closed) throw new ApiError('NO_REPLICA', `Shard ${sh.id} was replaced meanwhile; refused, nothing was logged`);
    if (!sh.lead.primary) throw this.noPrimary(sh);
    return { primary: sh.lead.primary, term: sh.lead.term };
  }

  noPrimary(sh: Shard): ApiError {
    const why = (sh.lead.reason ?? 'not elected yet').replace(`no primary for ${sh.id}: `, '');
    return new ApiError('NO_PRIMARY', `refused: no primary for ${sh.id} (${why}); nothing was logged, retry shortly`);
  }

  /** The primary stopped being one (fenced, refused our term, did not answer): the next write or tick elects. */
  lost(sh: Shard, server: string, why: string): void {
    if (sh.lead.primary !== server) return;
    sh.lead.primary = undefined;
    sh.lead.reason = `${server}, its primary, ${why}; electing another`;
    sh.lead.failedAt = undefined;
    this.c.events.add({ kind: 'primary-lost', shard: sh.id, server, detail: why });
  }

  /** A server was fenced: every shard it led elects another. */
  fenced(server: string, reason: string): void {
    for (const sh of this.c.topo.shards.values()) {
      if (sh.lead.primary !== server) continue;
      this.lost(sh, server, `was fenced (${reason})`);
      void this.elect(sh, `${server} was fenced`);
    }
  }

  /** Every heartbeat tick: shards without a primary try again; a whole, quiet cluster spreads its primaries. */
  tick(): void {
    if (this.c.topo.unavailable || this.c.closed) return;
    for (const sh of this.c.topo.shards.values()) if (!sh.lead.primary && !sh.closed && sh.replicas.length > 0) void this.elect(sh, 'retry');
    this.rebalance();
  }

  /** since when every server serves and every shard has its primary and every replica ready (undefined: not now) */
  private wholeSince: number | undefined;
  private lastMove = 0;

  /**
   * Moves at most one primary (rebalanceMove) once the cluster has been whole for `rebalanceQuietMs` and no move
   * ran within as long: elections after faults pick the most up-to-date log first, so kills and pauses drift the
   * primaries together, and one server then does every shard's primary work. The move is an election in the
   * shard's executor (no write of the shard is in flight meanwhile; those queued go to the new primary), preferring
   * the target once it has applied every acknowledged change; a more up-to-date log still wins (planElection), so
   * the move changes only who leads, never what is committed.
   */
  rebalance(): void {
    const quiet = this.c.s.rebalanceQuietMs;
    if (!(quiet > 0)) return;
    const now = this.c.now();
    const shards = [...this.c.topo.shards.values()].filter((s) => !s.closed);
    // a membership change at work (/rm hands primaries off the servers it removes, /add's replicas join) is not
    // whole either: a move now would fight it, e.g. put a primary back on a server /rm just handed it off
    const whole =
      !this.c.membership.busy &&
      shards.length > 0 &&
      this.c.servers.list().every((e) => e.status === 'serving') &&
      shards.every((s) => s.lead.primary !== undefined && !s.lead.electing && s.replicas.length > 0 && s.replicas.every((r) => s.ready.has(r)));
    if (!whole) {
      this.wholeSince = undefined;
      return;
    }
    this.wholeSince ??= now;
    if (now - this.wholeSince < quiet || now - this.lastMove < quiet) return;
    const eligible: Record<string, string[]> = {};
    for (const s of shards) eligible[s.id] = s.voters().filter((v) => s.ready.has(v));
    const move = rebalanceMove(eligible, this.view().primaries);
    if (!move) return;
    const sh = this.c.topo.shard(move.shard)!;
    // set at once: the cluster is not whole until the move has ended, so no second one starts meanwhile
    sh.lead.electing = true;
    const why = `rebalance: ${move.from} led ${move.shard} among more shards than ${move.to}`;
    // checked before and after the wait: meanwhile a fault may have elected another, or the target left
    const stillWanted = () => !sh.closed && sh.lead.primary === move.from && sh.ready.has(move.to);
    void sh
      .run(async () => {
        if (!stillWanted()) return false;
        // not caught up within the wait: no move (a forced election would depose the primary for another choice)
        if (!(await this.caughtUpWithin(move.to, sh.id, 1000))) return false;
        if (!stillWanted()) return false;
        return this.electLocked(sh, why, { force: true, prefer: move.to });
      })
      .catch(() => false)
      .finally(() => {
        sh.lead.electing = false;
        this.lastMove = this.c.now(); // the next move waits the quiet time from the end of this one
      });
  }

  /** POST /primary_elect: an election now (in each shard's executor); per shard its primary, or why none. */
  async electNow(shards: string[]): Promise<Record<string, { primary?: string; term: number; reason?: string }>> {
    this.c.topo.requireSchema();
    const list = shards.map((id) => this.c.topo.shard(id) ?? fail('UNKNOWN_SHARD', `Shard ${id} is not defined`));
    const out: Record<string, { primary?: string; term: number; reason?: string }> = {};
    await Promise.all(
      list.map(async (sh) => {
        await sh.run(() => this.electLocked(sh, 'an operator asked (/primary_elect)', { force: true }));
        out[sh.id] = { primary: sh.lead.primary, term: sh.lead.term, ...(sh.lead.primary ? {} : { reason: sh.lead.reason }) };
      }),
    );
    return out;
  }

  /**
   * Waits (at most `ms`) until the replica has applied every change the LB acknowledged, so replicas compared by
   * GET /verify are compared at one position (a replica learns a commit a moment after the primary answered).
   */
  async caughtUp(server: string, shard: string, ms: number): Promise<void> {
    await this.caughtUpWithin(server, shard, ms);
  }

  /** caughtUp, saying whether the replica got there within `ms` */
  private async caughtUpWithin(server: string, shard: string, ms: number): Promise<boolean> {
    const sh = this.c.topo.shard(shard);
    const end = this.c.now() + ms;
    // a read naming the acknowledged entry: a replica holding it learns that it committed (learnCommit), though
    // the primary that committed it died before its commit notice
    if (sh && sh.lead.ackedTerm !== undefined) await this.c.client.readRaw(server, shard, sh.keyCol, 0, 0, sh.lead.acked, sh.lead.ackedTerm).catch(() => undefined);
    while (sh && this.c.now() < end) {
      const s = (await this.stateOf(server))?.shards[shard];
      if (s && (s.applied_index ?? s.commit_index) >= sh.lead.acked) return true;
      await sleep(20);
    }
    return false;
  }

  /** Acknowledged up to `index`, an entry of `term` (a 200 of the primary of that term). */
  acked(sh: Shard, index: number | undefined, term: number): void {
    if (index === undefined || index < sh.lead.acked) return;
    if (index > sh.lead.acked || sh.lead.ackedTerm === undefined) sh.lead.ackedTerm = term;
    sh.lead.acked = index;
  }

  /**
   * After an LB restart: keep the recorded primary when it still leads the recorded term and is ready
   * (resumeShard), else elect at a term above every recorded and reported one. Caller holds the shard's lock.
   */
  async resumeLocked(sh: Shard): Promise<boolean> {
    const p = sh.lead.primary;
    for (let i = 0; i < 10 && p; i++) {
      const st = await this.stateOf(p);
      const s = st?.shards[sh.id];
      const d = resumeShard({ primary: p, term: sh.lead.term }, s && { term: s.term, role: s.role === 'primary' ? 'primary' : 'replica', ready: s.ready === true, commitIndex: s.commit_index });
      if (d.action === 'adopt') {
        // ready: the entry at its commit position is of its term
        sh.lead.acked = d.acked;
        sh.lead.ackedTerm = d.term;
        sh.lead.ackedUnknown = undefined;
        sh.lead.reason = undefined;
        this.c.events.add({ kind: 'primary-adopted', shard: sh.id, server: p, detail: `term ${d.term}, committed up to ${d.acked}` });
        return true;
      }
      if (d.action === 'elect') break;
      await sleep(100);
    }
    // not adopted: it is no primary of ours any more (GET /primaries must not name it while none is elected)
    sh.lead.primary = undefined;
    return this.electLocked(sh, p ? `resume: ${p} is not the ready primary of term ${sh.lead.term}` : 'resume: no primary recorded', {});
  }

  /** One election of `sh` (caller holds the shard's lock). Resolves true when a primary was elected and promoted. */
  async electLocked(sh: Shard, why: string, o: ElectOptions = {}): Promise<boolean> {
    const c = this.c;
    // any election, also one that starts and ends between two ticks, starts the rebalance's quiet time over
    this.wholeSince = undefined;
    const voters = sh.voters();
    const states = await Promise.all(voters.map((v) => this.stateOf(v)));
    if (sh.closed) return false;
    const reports: ReplicaReport[] = [];
    const stores: Record<string, string | undefined> = {};
    // a voter that answers with another store than the LB recorded lost its volume: it forgot what it
    // acknowledged, so it neither stands nor counts until recreated (rejoin.ts); unless no client change was ever
    // sent to the shard (an empty key index is not enough: rows written, then deleted, leave it empty)
    const empty = !sh.lead.written;
    voters.forEach((v, i) => {
      const s = states[i]?.shards[sh.id];
      if (!s) return;
      stores[v] = states[i]!.store;
      const recorded = c.servers.get(v)?.storeId;
      const lost = !empty && recorded !== undefined && states[i]!.store !== undefined && states[i]!.store !== recorded;
      reports.push({ server: v, term: s.term, lastTerm: s.last_term, lastIndex: s.last_index, eligible: !s.replaying && !s.resyncing && !s.corrupt && !lost });
    });
    const others = this.view().primaries;
    delete others[sh.id];
    const prefer = o.prefer ?? this.spreadChoice(sh, others, o.exclude ?? []);
    const plan = planElection({ shard: sh.id, voters, reports, knownTerm: sh.lead.term, exclude: o.exclude, primaries: others, prefer });
    if (!plan.ok) return this.failed(sh, plan.reason);
    // the term is on disk before anyone is asked to vote in it: a restarted LB never asks for it again, and never
    // adopts a primary of an older term it deposed (resumeShard trusts the recorded term). Unsaved: no election
    const was = { term: sh.lead.term, primary: sh.lead.primary };
    sh.lead.term = plan.term;
    sh.lead.primary = undefined;
    if (!persist(c, true)) {
      Object.assign(sh.lead, was);
      return this.failed(sh, `the LB could not save term ${plan.term} to its metadata before asking for votes (check the disk of its state dir); nothing was asked`);
    }
    const answers: Record<string, boolean> = {};
    const refusals: string[] = [];
    await Promise.all(
      plan.ask.map(async (v) => {
        try {
          const a = await c.client.vote(v, { shard: sh.id, term: plan.term, candidate: plan.candidate, lastIndex: plan.lastIndex, lastTerm: plan.lastTerm }, ELECTION_TIMEOUTS.vote);
          answers[v] = a.granted === true;
          if (!a.granted) refusals.push(`${v}: ${a.reason ?? 'refused'}`);
          if (a.term > sh.lead.term) sh.lead.term = a.term; // the next attempt goes above it
        } catch (e) {
          refusals.push(`${v}: ${(e as Error).message}`);
        }
      }),
    );
    if (sh.closed) return false;
    const tally = tallyVotes(voters, answers);
    if (tally.outcome !== 'won')
      return this.failed(sh, `the election of term ${plan.term} gave ${plan.candidate} ${tally.granted} of the ${tally.needed} votes it needs (${refusals.join('; ') || 'no answer'})`);
    sh.lead.primary = plan.candidate;
    persist(c, true);
    try {
      const addresses: Record<string, string> = {};
      for (const r of sh.replicas) {
        const u = c.servers.get(r)?.url;
        if (u) addresses[r] = u;
      }
      const reported: Record<string, { lastIndex: number; store?: string }> = {};
      for (const r of reports) reported[r.server] = { lastIndex: r.lastIndex, store: stores[r.server] };
      const body = { shard: sh.id, term: plan.term, replicas: [...sh.replicas], voters, addresses, reported };
      // 503 INDETERMINATE: it holds office but its no-op is not committed yet (a replica slow to answer); asking
      // again at the same term waits on, where a new election would start over one term higher
      const res = await c.client
        .promote(plan.candidate, body, ELECTION_TIMEOUTS.promote)
        .catch((e: unknown) => (e instanceof UpstreamError && e.code === 'INDETERMINATE' && !sh.closed ? c.client.promote(plan.candidate, body, ELECTION_TIMEOUTS.promote) : Promise.reject(e)));
      if (sh.closed || sh.lead.primary !== plan.candidate || sh.lead.term !== plan.term) return false;
      // its no-op of this term is committed, so its commit position covers every earlier acknowledgement
      this.acked(sh, res.commitIndex, plan.term);
      sh.lead.ackedUnknown = undefined;
    } catch (e) {
      if (sh.lead.primary === plan.candidate) sh.lead.primary = undefined;
      return this.failed(sh, `${plan.candidate} won term ${plan.term} but did not take office: ${(e as Error).message}`);
    }
    sh.lead.reason = undefined;
    sh.lead.failedAt = undefined;
    c.log.info('primary elected', { shard: sh.id, primary: plan.candidate, term: plan.term, why });
    c.events.add({ kind: 'elected', shard: sh.id, server: plan.candidate, detail: `term ${plan.term} (${why})` });
    return true;
  }

  private failed(sh: Shard, reason: string): false {
    sh.lead.reason = reason;
    sh.lead.failedAt = this.c.now();
    this.c.log.warn('no primary', { shard: sh.id, reason });
    return false;
  }

  /** A server's GET /state within the election deadline, or undefined. */
  async stateOf(server: string): Promise<StateReport | undefined> {
    const e = this.c.servers.get(server);
    if (!e?.url) return undefined;
    this.c.client.setAddress(server, e.url); // a fenced server's pool was dropped; it may answer all the same
    try {
      return await this.c.client.state(server, ELECTION_TIMEOUTS.state);
    } catch {
      return undefined;
    }
  }
}

export type { Lead };
