/**
 * The LB's cluster, as the app sees it: a thin front over the parts that each own their state (lb/DESIGN.md):
 *  - context.ts: Topo (schema, shard map, shards) and the server table (servers.ts), shared by every part;
 *  - shard.ts: per shard, replicas, the ready set and ring, the key index, the lock and group commit;
 *  - replication.ts: a change to every serving replica, majority, undo;
 *  - health.ts: heartbeats; recovery.ts: fencing (never removal), catch-up, respawn, copy-back;
 *  - membership.ts: /init, /add, /rm; resume.ts: the LB's own restart; data.ts: the request path.
 */

import type { HashRing } from '../core/hash-ring.js';
import type { Rand, Topology } from '../core/plans.js';
import type { ShardDef } from '../core/shard-map.js';
import type { ServerStatus } from '../core/server-status.js';
import type { AddBody, InitBody, RmBody } from '../core/schemas.js';
import type { Row, Schema } from '../core/table.js';
import type { Logger } from '../shared/log.js';
import { Mutex } from '../shared/mutex.js';
import type { ServerRuntime } from '../runtime/runtime.js';
import { Coalescer } from './coalescer.js';
import { Topo, type LbContext } from './context.js';
import { DataPath, type ReadResult } from './data.js';
import { EventLog } from './events.js';
import type { EventFile } from './event-file.js';
import { Health, type Timer } from './health.js';
import { Membership, shardFactory } from './membership.js';
import type { MetaStore, PersistedState } from './metadata.js';
import { Recovery } from './recovery.js';
import { Replication } from './replication.js';
import { Primaries } from './primaries.js';
import { PrimaryWrites } from './primary-writes.js';
import { Resume } from './resume.js';
import { ServerTable } from './servers.js';
import { resolveSettings, type SettingsInput } from './settings.js';
import type { ShardClient, ShardDigest } from './shard-client.js';
import { fail } from '../core/errors.js';

export type { ReadResult };

/** A read-only view of one shard (Cluster.shardView), for the operator tools. */
export interface ShardView {
  def: ShardDef;
  replicas: string[];
  /** the replicas serving reads and writes, in replica order */
  ready: string[];
  ring: HashRing;
  /** rows in the LB's key index */
  rows: number;
  /** false when the key index is not known (after an LB restart with no serving replica): `rows` means nothing */
  indexed: boolean;
  /** its primary, under primaries (writes go to it alone) */
  primary?: string;
}

export interface ClusterOptions extends SettingsInput {
  runtime: ServerRuntime;
  client: ShardClient;
  log: Logger;
  meta?: MetaStore;
  rand?: Rand;
  now?: () => number;
  /** where events and incidents are kept across LB restarts (none: memory only) */
  events?: EventFile;
  /** heartbeat timer (tests drive it by hand) */
  timer?: Timer;
}

export class Cluster {
  private readonly c: LbContext;
  private readonly recovery: Recovery;
  private readonly health: Health;
  private readonly membership: Membership;
  private readonly resumer: Resume;
  private readonly data: DataPath;
  private readonly repl: Replication;
  /** the shard manager: primaries, terms, elections (its state lives in each Shard.lead) */
  private readonly pm: Primaries;
  private readonly writes: PrimaryWrites;
  readonly events: EventLog;

  constructor(opts: ClusterOptions) {
    const { runtime, client, log, meta, events, timer, rand, now, ...settings } = opts;
    const s = resolveSettings(settings);
    const clock = now ?? Date.now;
    this.events = new EventLog(clock, 1000, events);
    const c: LbContext = {
      s,
      log,
      runtime,
      meta,
      now: clock,
      rand: rand ?? ((n) => Math.floor(Math.random() * n)),
      events: this.events,
      topo: new Topo(),
      servers: new ServerTable(clock),
      membership: new Mutex(),
      inflight: 0,
      closed: false,
      uncommitted: new Set(),
      client: undefined as unknown as Coalescer,
    };
    (c as { client: Coalescer }).client = new Coalescer(client, {
      load: () => c.inflight,
      lingerAt: s.lingerAt,
      read: { depth: s.readDepth, lingerMs: s.readLingerMs },
      write: { depth: s.writeDepth, lingerMs: s.lingerMs },
    });
    this.c = c;
    this.pm = new Primaries(c);
    const pm = s.primaries ? this.pm : undefined;
    this.recovery = new Recovery(c, pm);
    this.repl = new Replication(c, this.recovery.fault);
    this.writes = new PrimaryWrites(c, this.pm, this.recovery.fault);
    const newShard = shardFactory(c, s.primaries ? this.writes.applyBatch : this.repl.applyBatch);
    this.health = new Health(c, this.recovery.fault, timer, pm && (() => this.pm.tick()));
    this.membership = new Membership(c, this.recovery, newShard, pm);
    this.resumer = new Resume(c, this.recovery, newShard, pm);
    this.data = new DataPath(c, this.repl, this.recovery.fault, pm && this.writes);
  }

  get configured(): boolean {
    return this.c.topo.schema !== undefined;
  }

  get currentSchema(): Schema | undefined {
    return this.c.topo.schema;
  }

  keyColumn(): string {
    return this.data.keyColumn();
  }

  /** The id of the shard whose range holds `key` (for the console's per-shard counters), if any. */
  shardIdOf(key: number): string | undefined {
    return this.c.topo.map.find(key)?.Shard_id;
  }

  /** GET /status: {N, schema, shards, servers, primaries} as the cluster is now. */
  status(): Record<string, unknown> {
    const t = this.membership.topology();
    if (!t) return { N: 0, schema: null, shards: [], servers: {}, primaries: {} };
    return { N: this.c.servers.size, schema: t.schema, shards: t.shards, servers: t.servers, primaries: this.pm.view().primaries };
  }

  /** GET /primaries: each shard's primary and term (empty on assignment 2's path, `primaries: false`). */
  primaries(): { primaries: Record<string, string>; terms: Record<string, number> } {
    return this.pm.view();
  }

  /** POST /primary_elect: an election now for each listed shard; per shard its new primary, or why none. */
  primaryElect(shards: string[]): Promise<Record<string, { primary?: string; term: number; reason?: string }>> {
    if (!this.c.s.primaries) fail('INVALID_FIELD', 'this LB runs without primaries (SHARDCTL_PRIMARIES=0): there is nothing to elect');
    return this.pm.electNow(shards);
  }

  /** Detail for `shardctl status`/`ps`: health per server and replica, incidents. */
  details(): Record<string, unknown> {
    const c = this.c;
    return {
      configured: this.configured,
      unavailable: c.topo.unavailable,
      servers: c.servers.list().map((e) => ({
        name: e.name,
        status: e.status,
        url: e.url,
        shards: e.shards,
        stale: e.status !== 'serving',
        lastSeen: e.lastSeen,
        failures: e.failures,
        lastError: e.status === 'serving' ? undefined : e.lastError,
      })),
      shards: c.topo.defs().map((d) => {
        const sh = c.topo.shard(d.Shard_id)!;
        return {
          ...d,
          replicas: sh.replicas,
          serving: sh.replicas.filter((r) => sh.ready.has(r)),
          voters: sh.voters(),
          primary: sh.lead.primary ?? null,
          term: sh.lead.term,
          acked: sh.lead.acked,
          ...(sh.lead.primary || !c.s.primaries ? {} : { noPrimary: sh.lead.reason }),
          rows: sh.known.size,
          valid_idx: sh.validIdx,
          orphaned: sh.replicas.length === 0 || sh.ready.size === 0,
        };
      }),
      incidents: this.events.incidents,
      stats: {
        ...this.data.stats,
        writeBatches: this.repl.batches + this.writes.batches,
        upstreamCalls: c.client.calls,
        upstreamOps: c.client.ops,
      },
    };
  }

  // ---------------------------------------------------------------- operator views (lb/verify.ts, lb/explain.ts, lb/dry-run.ts)

  /** The configured topology (schema, shards, placement), or undefined before /init. */
  topology(): Topology | undefined {
    return this.membership.topology();
  }

  /** One shard as the data path sees it now: its replicas, the serving ones, its ring, its key index size. */
  shardView(id: string): ShardView | undefined {
    const sh = this.c.topo.shard(id);
    if (!sh) return undefined;
    return { def: { ...sh.def }, replicas: [...sh.replicas], ready: sh.replicas.filter((r) => sh.ready.has(r)), ring: sh.ring, rows: sh.known.size, indexed: sh.indexed, primary: this.c.s.primaries ? sh.lead.primary : undefined };
  }

  /** One server's state and address. */
  serverView(name: string): { status: ServerStatus; url?: string } | undefined {
    const e = this.c.servers.get(name);
    return e && { status: e.status, url: e.url };
  }

  /** The request id the next read will take (a read picks its replica of each shard by it, on the shard's ring). */
  get nextRequestId(): number {
    return this.data.nextRequestId;
  }

  /** Runs fn in the shard's executor (its lock): after every change queued before it, before every later one. */
  withShardLock<T>(id: string, fn: (view: ShardView) => Promise<T>): Promise<T> {
    const sh = this.c.topo.shard(id) ?? fail('UNKNOWN_SHARD', `Shard ${id} is not defined`);
    return sh.run(() => fn(this.shardView(id)!));
  }

  /** Under primaries: waits (at most `ms`) until the replica applied every acknowledged change (GET /verify). */
  caughtUp(server: string, shard: string, ms: number): Promise<void> {
    return this.c.s.primaries ? this.pm.caughtUp(server, shard, ms) : Promise.resolve();
  }

  /** The servers' /digest (row count and SHA-1 per shard). */
  digest(server: string, shards: string[]): Promise<Record<string, ShardDigest>> {
    return this.c.client.digest(server, shards);
  }

  /** fn runs after every recovery whose server serves again, with that server's shards. */
  onRecovered(fn: (server: string, shards: string[]) => void): void {
    this.recovery.onServing.push(fn);
  }

  init(body: InitBody): Promise<void> {
    return this.membership.init(body);
  }

  add(body: AddBody): Promise<{ N: number; message: string }> {
    return this.membership.add(body);
  }

  rm(body: RmBody): Promise<{ N: number; servers: string[] }> {
    return this.membership.rm(body);
  }

  read(low: number, high: number): Promise<ReadResult> {
    return this.data.read(low, high);
  }

  write(rows: Row[]): Promise<number> {
    return this.data.write(rows);
  }

  update(key: number, row: Row): Promise<void> {
    return this.data.update(key, row);
  }

  del(key: number): Promise<void> {
    return this.data.del(key);
  }

  readServer(name: string): Promise<Record<string, Row[]>> {
    return this.data.readServer(name);
  }

  /** Takes a server out of service (tests, and the data path on a failed call). */
  fence(name: string, reason: string): void {
    this.recovery.fault(name, reason);
  }

  /** After an LB restart: rebuild from saved metadata; a failure is retried in the background, never served half-built. */
  resume(saved: PersistedState): Promise<void> {
    return this.resumer.run(saved);
  }

  startHeartbeats(): void {
    this.health.start();
  }

  stopHeartbeats(): void {
    this.health.halt();
  }

  /** One heartbeat round now (tests). */
  heartbeatTick(): void {
    this.health.tick();
  }

  async shutdown(stopServers: boolean): Promise<void> {
    this.c.closed = true;
    this.health.halt();
    if (stopServers) await this.c.runtime.stopAll();
    await this.c.client.close();
  }
}

