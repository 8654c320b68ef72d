/**
 * For the LB's unit tests: shard servers as a ShardClient that answers the replication calls of
 * core/REPLICATION.md ("Calls") by core/replog.ts's rules over in-memory logs, instantly and in order. It is the
 * collaborator of the module under test (lb/primaries.ts, the data path), never the thing tested. Servers can be
 * `down` (every call fails at once, as a refused connection) or `paused` (every call fails at its deadline).
 * A primary commits a write when a majority of the voters it was given are up (their logs take the entries).
 */
import { ApiError } from '../core/errors.js';
import { appendAsPrimary, becomePrimary, emptyLog, handleVote, lastIndex, lastTerm, observeTerm, primaryReady, recreatedLog, resyncing, visible, type LogState } from '../core/replog.js';
import type { Row } from '../core/table.js';
import { UpstreamError, type ChangeAnswer, type MembersBody, type PromoteBody, type ShardClient, type ShardDigest, type StateReport, type VoteAnswer, type VoteBody } from './shard-client.js';

type Op = { rows: Row[] } | null;

export class FakeReplServers implements ShardClient {
  readonly logs = new Map<string, Map<string, LogState<Op>>>();
  readonly down = new Set<string>();
  readonly paused = new Set<string>();
  /** every call, in order: "vote Server0 sh1 t2" */
  readonly calls: string[] = [];
  /** per server and shard as primary: the voters it counts over */
  private readonly voters = new Map<string, string[]>();
  stores = new Map<string, string>();
  /** this many promotes answer 503 INDETERMINATE (in office, no-op not committed yet) before they succeed */
  slowPromotes = 0;
  /** runs before each vote is answered (a test checks what the LB saved by then) */
  onVote: (server: string, body: VoteBody) => void = () => undefined;

  log(server: string, shard: string): LogState<Op> {
    let m = this.logs.get(server);
    if (!m) this.logs.set(server, (m = new Map()));
    let l = m.get(shard);
    if (!l) m.set(shard, (l = emptyLog<Op>()));
    return l;
  }

  set(server: string, shard: string, s: LogState<Op>): void {
    this.log(server, shard);
    this.logs.get(server)!.set(shard, s);
  }

  /** Rows visible (committed) on a server's shard. */
  rows(server: string, shard: string): Row[] {
    return visible(this.log(server, shard)).flatMap((e) => e.op?.rows ?? []);
  }

  private async reach(server: string, timeoutMs: number): Promise<void> {
    if (this.down.has(server)) throw new UpstreamError(server, 'connect ECONNREFUSED');
    if (this.paused.has(server)) {
      await new Promise((r) => setTimeout(r, timeoutMs));
      throw new UpstreamError(server, 'Headers Timeout Error');
    }
  }

  setAddress(): void {}
  forget(): void {}
  async heartbeat(server: string): Promise<{ storeId?: string } | undefined> {
    if (this.down.has(server) || this.paused.has(server)) return undefined;
    return { storeId: this.stores.get(server) ?? `store-${server}` };
  }
  async config(server: string, _schema: unknown, shards: string[]): Promise<void> {
    for (const id of shards) this.log(server, id);
  }
  async reset(): Promise<void> {}

  async state(server: string, timeoutMs: number): Promise<StateReport> {
    this.calls.push(`state ${server}`);
    await this.reach(server, timeoutMs);
    const shards: StateReport['shards'] = {};
    for (const [id, s] of this.logs.get(server) ?? []) {
      shards[id] = {
        rows: this.rows(server, id).length,
        last_index: lastIndex(s),
        last_term: lastTerm(s),
        commit_index: s.commitIndex,
        term: s.currentTerm,
        voted_for: s.votedFor,
        role: s.leader === server ? 'primary' : 'replica',
        ready: s.leader === server && primaryReady(s),
        primary: s.leader,
        replaying: false,
        resyncing: resyncing(s),
        corrupt: false,
      };
    }
    return { store: this.stores.get(server) ?? `store-${server}`, shards };
  }

  async vote(server: string, b: VoteBody, timeoutMs: number): Promise<VoteAnswer> {
    this.calls.push(`vote ${server} ${b.shard} t${b.term} for ${b.candidate}`);
    await this.reach(server, timeoutMs);
    this.onVote(server, b);
    const r = handleVote(this.log(server, b.shard), b, server);
    this.set(server, b.shard, r.state);
    return { ...r.reply, store: this.stores.get(server) };
  }

  async promote(server: string, b: PromoteBody, timeoutMs: number): Promise<{ term: number; commitIndex: number; index?: number }> {
    this.calls.push(`promote ${server} ${b.shard} t${b.term}`);
    await this.reach(server, timeoutMs);
    const r = becomePrimary(this.log(server, b.shard), server, b.term, null);
    if ('error' in r) throw new ApiError('NOT_PRIMARY', r.error, 409);
    this.set(server, b.shard, r.state);
    this.voters.set(`${server}/${b.shard}`, b.voters);
    const index = lastIndex(r.state);
    if (this.slowPromotes > 0) {
      this.slowPromotes--;
      throw new UpstreamError(server, 'HTTP 503: the no-op is not committed yet', 'INDETERMINATE');
    }
    if (!this.replicate(server, b.shard)) throw new UpstreamError(server, 'HTTP 503: no majority for the no-op', 'INDETERMINATE');
    return { term: b.term, commitIndex: this.log(server, b.shard).commitIndex, index };
  }

  async members(server: string, b: MembersBody, timeoutMs: number): Promise<void> {
    this.calls.push(`members ${server} ${b.shard} t${b.term} voters ${b.voters.join(',')}`);
    await this.reach(server, timeoutMs);
    const s = this.log(server, b.shard);
    if (b.term !== s.currentTerm || s.leader !== server) throw new ApiError('NOT_PRIMARY', `not the primary of term ${b.term}`, 409);
    this.voters.set(`${server}/${b.shard}`, b.voters);
  }

  async recreate(server: string, b: { shard: string; term: number; floor: number }, timeoutMs: number): Promise<void> {
    this.calls.push(`recreate ${server} ${b.shard} t${b.term} floor ${b.floor}`);
    await this.reach(server, timeoutMs);
    this.set(server, b.shard, recreatedLog<Op>(b.term, b.floor).state);
  }

  /**
   * The primary's log copied to every up replica of its voters that accepts its term; committed when that is a
   * majority (the fake's stand-in for the append calls; their rules are tested in core/).
   */
  private replicate(primary: string, shard: string): boolean {
    const p = this.log(primary, shard);
    const voters = this.voters.get(`${primary}/${shard}`) ?? [primary];
    const holders = [primary];
    for (const v of voters) {
      if (v === primary || this.down.has(v) || this.paused.has(v)) continue;
      const r = this.log(v, shard);
      if (r.currentTerm > p.currentTerm) continue;
      this.set(v, shard, { ...observeTerm(r, p.currentTerm).state, leader: primary, entries: p.entries, snapIndex: p.snapIndex, snapTerm: p.snapTerm });
      holders.push(v);
    }
    if (holders.length < Math.floor(voters.length / 2) + 1) return false;
    const commitIndex = lastIndex(p);
    for (const h of holders) this.set(h, shard, { ...this.log(h, shard), commitIndex, resyncTo: undefined });
    return true;
  }

  async writeRaw(server: string, body: string): Promise<string> {
    const b = JSON.parse(body) as { shard: string; term?: number; data: Row[] };
    this.calls.push(`write ${server} ${b.shard} t${b.term}`);
    await this.reach(server, 1000);
    const s = this.log(server, b.shard);
    if (b.term !== s.currentTerm || s.leader !== server) throw new ApiError('NOT_PRIMARY', `${server} does not lead term ${b.term} of ${b.shard}`, 409);
    const r = appendAsPrimary(s, server, [{ rows: b.data }]);
    if ('error' in r) throw new ApiError('NOT_PRIMARY', r.error, 409);
    this.set(server, b.shard, r.state);
    if (!this.replicate(server, b.shard)) throw new UpstreamError(server, 'HTTP 503: not committed in time', 'INDETERMINATE');
    return `{"index":${r.last},"term":${b.term},"commitIndex":${this.log(server, b.shard).commitIndex}}`;
  }

  async readRaw(server: string, shard: string, _keyCol: string, _low: number, _high: number, minIndex?: number): Promise<string> {
    this.calls.push(`read ${server} ${shard} min${minIndex}`);
    await this.reach(server, 1000);
    if ((minIndex ?? 0) > this.log(server, shard).commitIndex) throw new UpstreamError(server, 'HTTP 503: behind', 'BEHIND');
    return JSON.stringify(this.rows(server, shard));
  }

  async batch(): Promise<(string | ApiError)[]> {
    throw new Error('the fake has no /batch');
  }
  async update(): Promise<ChangeAnswer> {
    throw new Error('the fake has no /update');
  }
  async del(): Promise<ChangeAnswer> {
    throw new Error('the fake has no /del');
  }
  async copy(): Promise<Record<string, Row[]>> {
    return {};
  }
  async digest(): Promise<Record<string, ShardDigest>> {
    return {};
  }
  async rollback(): Promise<void> {}
  async close(): Promise<void> {}
}
