/**
 * The data path: /read, /write, /update, /del and /read/{server}. Reads go to one serving replica per shard,
 * chosen by the shard's ring; changes go through the shard's executor (shard.ts), then to the shard's primary
 * (primary-writes.ts) or, on assignment 2's path (`primaries: false`), to every serving replica (replication.ts).
 * No disk I/O and no docker calls here.
 */
import { ApiError, fail } from '../core/errors.js';
import { groupByShard } from '../core/quorum.js';
import type { Row } from '../core/table.js';
import type { LbContext } from './context.js';
import type { PrimaryWrites } from './primary-writes.js';
import type { Replication } from './replication.js';
import { UpstreamError } from './shard-client.js';
import type { Shard } from './shard.js';

export interface ReadResult {
  shards: string[];
  /** per shard, its rows as JSON array text "[...]" */
  bodies: string[];
}

export class DataPath {
  /** counters for `status --json` and tuning: how well group commit coalesces */
  readonly stats = { writeRequests: 0, readRequests: 0, upstreamReads: 0 };
  private reqId = 0;

  constructor(
    private readonly c: LbContext,
    private readonly repl: Replication,
    private readonly fault: (server: string, reason: string) => void,
    /** set: changes go to each shard's primary and reads carry minIndex (core/REPLICATION.md) */
    private readonly primary?: PrimaryWrites,
  ) {}

  /** The request id the next read takes (GET /explain). */
  get nextRequestId(): number {
    return (this.reqId + 1) & 0x3ffffff;
  }

  keyColumn(): string {
    return this.c.topo.requireSchema().columns[0];
  }

  /** POST /read: one replica per overlapping shard, chosen by the shard's ring; bodies in key order. */
  async read(low: number, high: number): Promise<ReadResult> {
    const keyCol = this.keyColumn();
    const defs = this.c.topo.map.overlapping(low, high);
    this.stats.readRequests++;
    this.stats.upstreamReads += defs.length;
    const id = (this.reqId = (this.reqId + 1) & 0x3ffffff);
    this.c.inflight++;
    try {
      const bodies = await Promise.all(defs.map((d) => this.readShard(this.c.topo.shard(d.Shard_id)!, keyCol, low, high, id)));
      return { shards: defs.map((d) => d.Shard_id), bodies };
    } finally {
      this.c.inflight--;
    }
  }

  private async readShard(sh: Shard, keyCol: string, low: number, high: number, id: number): Promise<string> {
    const lo = Math.max(low, sh.def.Stud_id_low);
    const hi = Math.min(high, sh.def.Stud_id_low + sh.def.Shard_size - 1);
    if (this.primary) return this.primary.read(sh, keyCol, lo, hi, id);
    for (let attempt = 0; attempt < 4; attempt++) {
      const server = sh.ring.get(id);
      if (!server) fail('NO_REPLICA', `Shard ${sh.id} has no serving replica; try again once one is back (shardctl status)`);
      try {
        return await this.c.client.readRaw(server, sh.id, keyCol, lo, hi);
      } catch (e) {
        if (!(e instanceof UpstreamError)) throw e;
        if (sh.closed) fail('NO_REPLICA', `Shard ${sh.id} was replaced while it was read; try again`);
        // a replica that cannot answer is fenced; the ring then points at the next one
        this.fault(server, `read failed: ${e.message}`);
      }
    }
    return fail('NO_REPLICA', `No replica of shard ${sh.id} answered`);
  }

  /** POST /write: validated and reserved synchronously (so duplicates are race-free), then one op per shard. */
  async write(rows: Row[]): Promise<number> {
    const keyCol = this.keyColumn();
    const topo = this.c.topo;
    const groups = groupByShard(rows, keyCol, (k) => topo.shardOf(k), (sh, k) => sh.known.has(k) || sh.pending.has(k));
    // reserve every key before the first await: a concurrent request with the same key is now a duplicate
    for (const g of groups) for (const k of g.keys) g.shard.pending.add(k);
    this.stats.writeRequests++;
    this.c.inflight++;
    try {
      if (this.primary) return await this.writeParts(groups, rows.length);
      // several shards: keys stay reserved (not updatable, not deletable) until every part is acknowledged
      const commit = groups.length === 1;
      const results = await Promise.allSettled(groups.map((g) => g.shard.write(g.rows, g.keys, commit)));
      const failed = results.findIndex((r) => r.status === 'rejected');
      const release = (known: boolean) => {
        if (commit) return;
        groups.forEach((g, i) => {
          if (results[i].status !== 'fulfilled') return;
          for (const k of g.keys) {
            g.shard.pending.delete(k);
            if (known) g.shard.known.add(k);
          }
        });
      };
      if (failed < 0) release(true);
      if (failed >= 0) {
        // all or nothing across shards: undo the groups that did land, so no reader keeps a row we refused
        await Promise.all(
          groups.map((g, i) => (results[i].status === 'fulfilled' ? g.shard.run(() => this.repl.undoInsert(g.shard, g.keys)).catch(() => undefined) : undefined)),
        );
        release(false);
        throw (results[failed] as PromiseRejectedResult).reason;
      }
      return rows.length;
    } finally {
      this.c.inflight--;
    }
  }

  /**
   * A write under primaries: each shard's part commits or fails on its own (a log cannot undo a committed part).
   * All committed: the row count. Otherwise the first failure's code, with every part's outcome in the message.
   */
  private async writeParts(groups: ReturnType<typeof groupByShard<Shard>>, n: number): Promise<number> {
    const results = await Promise.allSettled(groups.map((g) => g.shard.write(g.rows, g.keys)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length === 0) return n;
    if (groups.length === 1) throw failed[0].reason;
    const parts = groups.map((g, i) => {
      const r = results[i];
      if (r.status === 'fulfilled') return `${g.shard.id}: ${g.rows.length} committed`;
      const e = r.reason as Error & { code?: string };
      return `${g.shard.id}: ${e.code === 'INDETERMINATE' ? 'may or may not have committed' : 'not written'} (${e.message.replace(/^<Error> /, '')})`;
    });
    // an indeterminate part makes the whole answer indeterminate: the client must read before retrying
    const worst = failed.find((r) => (r.reason as ApiError).code === 'INDETERMINATE') ?? failed[0];
    const code = worst.reason instanceof ApiError ? worst.reason.code : 'INTERNAL';
    throw new ApiError(code, `the write's parts are per shard: ${parts.join('; ')}`);
  }

  /** PUT /update */
  update(key: number, row: Row): Promise<void> {
    const sh = this.shardFor(key);
    return sh.run(async () => {
      if (!this.mayExist(sh, key)) fail('KEY_NOT_FOUND', `No data entry with ${sh.keyCol}:${key}`);
      if (this.primary) {
        await this.primary.change(sh, 'update', key, row);
        sh.known.add(key); // it existed after all (an indeterminate insert that committed)
        sh.maybe.delete(key);
        return;
      }
      await this.repl.replicate(
        sh,
        (s) => this.c.client.update(s, sh.id, sh.keyCol, key, row),
        (s, r) => (r.old ? this.c.client.rollback(s, sh.id, sh.keyCol, [], [r.old]) : Promise.resolve()),
      );
    });
  }

  /** DELETE /del */
  del(key: number): Promise<void> {
    const sh = this.shardFor(key);
    return sh.run(async () => {
      if (!this.mayExist(sh, key)) fail('KEY_NOT_FOUND', `No data entry with ${sh.keyCol}:${key}`);
      if (this.primary) await this.primary.change(sh, 'del', key);
      else await this.repl.replicate(
        sh,
        (s) => this.c.client.del(s, sh.id, sh.keyCol, key),
        (s, r) => (r.old ? this.c.client.rollback(s, sh.id, sh.keyCol, [], [r.old]) : Promise.resolve()),
      );
      sh.known.delete(key);
      sh.maybe.delete(key);
      sh.validIdx--;
    });
  }

  /**
   * Whether `key` may be stored: it is in the key index, or (under primaries) its insert was indeterminate or the
   * index is not known (after an LB restart): then the primary decides (404 from it when it is not there).
   */
  private mayExist(sh: Shard, key: number): boolean {
    return sh.known.has(key) || (!!this.primary && (sh.maybe.has(key) || !sh.indexed));
  }

  private shardFor(key: number): Shard {
    const keyCol = this.keyColumn();
    return this.c.topo.shardOf(key) ?? fail('KEY_NOT_FOUND', `No data entry with ${keyCol}:${key} (outside every shard)`);
  }

  /** GET /read/{server}: everything that server holds, per shard. */
  async readServer(name: string): Promise<Record<string, Row[]>> {
    this.c.topo.requireSchema();
    const e = this.c.servers.get(name) ?? fail('UNKNOWN_SERVER', `Server ${name} is not in the cluster`);
    if (e.status !== 'serving') fail('NO_REPLICA', `Server ${name} is ${e.status}; try again once it serves (shardctl status)`);
    try {
      // under primaries: as of every change acknowledged so far (a replica applies a commit a moment after the
      // primary answered), so two replicas read this way are comparable
      if (this.primary) await Promise.all(e.shards.map((id) => this.primary!.caughtUp(name, id, 2000)));
      return await this.c.client.copy(name, e.shards);
    } catch (e) {
      if (e instanceof UpstreamError) throw new ApiError('UPSTREAM_FAILED', `Server ${name} did not answer: ${e.message}`);
      throw e;
    }
  }
}
