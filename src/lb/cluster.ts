/**
 * The LB's cluster: topology, one consistent-hash ring and one serial executor (the shard lock) per shard,
 * server health, fencing, respawn and copy-back. lb/DESIGN.md explains the locking and recovery rules; the
 * short version:
 *  - every write, update, delete and copy-back of a shard runs in that shard's executor, one at a time
 *    (writes queued behind the lock are coalesced into one upstream batch per replica: group commit);
 *  - a replica that fails a write, or misses heartbeats, is fenced at once: out of every ring and every
 *    write set, its pool destroyed; it comes back only after a copy-back under the shard lock;
 *  - a write is acknowledged when every live replica applied it and they are a majority of the shard's
 *    replicas; otherwise it is rolled back on the replicas that applied it and answered 503.
 */
import { ApiError, fail } from '../core/errors.js';
import { HashRing, type RingHash } from '../core/hash-ring.js';
import { planAdd, planInit, planRm, type Rand, type Topology } from '../core/plans.js';
import { ShardMap, type ShardDef } from '../core/shard-map.js';
import type { Row, Schema } from '../core/table.js';
import type { AddBody, InitBody, RmBody } from '../core/schemas.js';
import { digestRows } from '../shared/digest.js';
import type { Logger } from '../shared/log.js';
import { Mutex } from '../shared/mutex.js';
import type { ServerRuntime } from '../runtime/runtime.js';
import { EventLog, type Incident } from './events.js';
import type { EventFile } from './event-file.js';
import type { MetaStore, PersistedState } from './metadata.js';
import { UpstreamError, type ShardClient } from './shard-client.js';
import { Coalescer } from './coalescer.js';

export interface ClusterOptions {
  runtime: ServerRuntime;
  client: ShardClient;
  log: Logger;
  meta?: MetaStore;
  ring?: { slots?: number; vnodes?: number; hash?: RingHash };
  heartbeat?: { intervalMs?: number; timeoutMs?: number; misses?: number };
  /** how long a spawned server may take to answer /heartbeat */
  spawnTimeoutMs?: number;
  /** respawn attempts before a dead server is dropped */
  respawnTries?: number;
  /** most rows in one coalesced upstream write */
  maxBatchRows?: number;
  /** rows per /write when copying a shard back */
  copyChunkRows?: number;
  rand?: Rand;
  now?: () => number;
  /** coalescing: with this many client requests in flight, upstream calls linger lingerMs to gather more */
  lingerAt?: number;
  lingerMs?: number;
  /** upstream read / write calls in flight per server at most (the coalescer's pipe depths) */
  readDepth?: number;
  writeDepth?: number;
  /** where events and incidents are kept across LB restarts (none: memory only) */
  events?: EventFile;
  /** linger of a read call under load (0: none; reads then go out at once, batched only behind a call in flight) */
  readLingerMs?: number;
  /** false: a dead server is fenced but not respawned (tests of fencing alone) */
  autoRecover?: boolean;
}

type ServerStatus = 'starting' | 'up' | 'down' | 'recovering';

interface ServerState {
  name: string;
  shards: string[];
  status: ServerStatus;
  url?: string;
  lastSeen: number;
  misses: number;
  hbInFlight: boolean;
  /** true once fenced until refilled: its rows must not be trusted */
  stale: boolean;
  /** a failure seen while it was starting or being refilled */
  fencedDuringBringUp?: boolean;
}

interface WriteOp {
  kind: 'write';
  rows: Row[];
  keys: number[];
  resolve: () => void;
  reject: (e: unknown) => void;
}
interface TaskOp {
  kind: 'task';
  fn: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}
type Op = WriteOp | TaskOp;

interface ShardState {
  def: ShardDef;
  /** every server the topology places this shard on, serving or not (the majority is counted over these) */
  replicas: string[];
  /** replicas holding every acknowledged write: the only ones reads and writes go to */
  ready: Set<string>;
  ring: HashRing;
  /** keys stored (acknowledged) and keys of writes in flight: duplicates are caught before anything is written */
  known: Set<number>;
  pending: Set<number>;
  validIdx: number;
  queue: Op[];
  running: boolean;
}

export interface ReadResult {
  shards: string[];
  /** per shard, its rows as JSON array text "[...]" */
  bodies: string[];
}

export class Cluster {
  private schema: Schema | undefined;
  private map: ShardMap = new ShardMap([]);
  private shards = new Map<string, ShardState>();
  private servers = new Map<string, ServerState>();
  /** server names in the order they joined, for /status */
  private order: string[] = [];
  private readonly membership = new Mutex();
  private reconfiguring = false;
  private closed = false;
  /** true while resume() rebuilds state (the key index is not loaded yet) */
  private resuming = false;
  private generation = 0;
  private reqId = 0;
  private hbTimer: NodeJS.Timeout | undefined;
  private readonly recovering = new Set<string>();
  readonly events: EventLog;
  /** counters for `status --json` and tuning: how well group commit coalesces */
  readonly stats = { writeRequests: 0, writeBatches: 0, readRequests: 0, upstreamReads: 0, upstreamCalls: 0, upstreamOps: 0 };
  private readonly pipe: Coalescer;
  /** client data requests in flight (read/write/update/del), for the coalescer's linger */
  inflight = 0;
  private readonly lingerAt: number;
  private readonly lingerMs: number;
  private readonly o: Required<Omit<ClusterOptions, 'meta' | 'ring' | 'heartbeat' | 'lingerAt' | 'lingerMs' | 'readDepth' | 'writeDepth' | 'readLingerMs' | 'events'>> & {
    ring: NonNullable<ClusterOptions['ring']>;
    hb: Required<NonNullable<ClusterOptions['heartbeat']>>;
    meta?: MetaStore;
  };

  constructor(opts: ClusterOptions) {
    this.o = {
      runtime: opts.runtime,
      client: opts.client,
      log: opts.log,
      meta: opts.meta,
      ring: opts.ring ?? {},
      hb: { intervalMs: 500, timeoutMs: 500, misses: 3, ...opts.heartbeat },
      spawnTimeoutMs: opts.spawnTimeoutMs ?? 30_000,
      respawnTries: opts.respawnTries ?? 3,
      maxBatchRows: opts.maxBatchRows ?? 5000,
      copyChunkRows: opts.copyChunkRows ?? 5000,
      rand: opts.rand ?? ((n) => Math.floor(Math.random() * n)),
      now: opts.now ?? Date.now,
      autoRecover: opts.autoRecover ?? true,
    };
    this.events = new EventLog(this.o.now, 1000, opts.events);
    this.lingerAt = opts.lingerAt ?? 8;
    this.lingerMs = opts.lingerMs ?? 1;
    this.pipe = new Coalescer(this.o.client, {
      load: () => this.inflight,
      lingerAt: this.lingerAt,
      read: { depth: opts.readDepth, lingerMs: opts.readLingerMs },
      write: { depth: opts.writeDepth, lingerMs: this.lingerMs },
    });
  }

  get configured(): boolean {
    return this.schema !== undefined;
  }

  // ---------------------------------------------------------------- topology views

  topology(): Topology | undefined {
    if (!this.schema) return undefined;
    const servers: Record<string, string[]> = {};
    for (const n of this.order) servers[n] = [...this.servers.get(n)!.shards];
    return { schema: this.schema, shards: this.map.shards.map((s) => ({ ...s })), servers };
  }

  /** GET /status: {N, schema, shards, servers} as the cluster is now. */
  status(): Record<string, unknown> {
    const t = this.topology();
    if (!t) return { N: 0, schema: null, shards: [], servers: {} };
    return { N: this.order.length, schema: t.schema, shards: t.shards, servers: t.servers };
  }

  /** Detail for `shardctl status`/`ps`: health per server and replica, incidents. */
  details(): Record<string, unknown> {
    return {
      configured: this.configured,
      servers: this.order.map((n) => {
        const s = this.servers.get(n)!;
        return { name: n, status: s.status, url: s.url, shards: s.shards, stale: s.stale, lastSeen: s.lastSeen };
      }),
      shards: this.map.shards.map((d) => {
        const sh = this.shards.get(d.Shard_id)!;
        return {
          ...d,
          replicas: sh.replicas,
          serving: sh.replicas.filter((r) => sh.ready.has(r)),
          rows: sh.known.size,
          valid_idx: sh.validIdx,
          orphaned: sh.replicas.length === 0 || sh.ready.size === 0,
        };
      }),
      incidents: this.events.incidents,
      stats: { ...this.stats, upstreamCalls: this.pipe.calls, upstreamOps: this.pipe.ops },
    };
  }

  private requireConfigured(): Schema {
    if (this.reconfiguring) fail('NO_REPLICA', 'The database is being re-initialised; try again shortly');
    return this.schema ?? fail('NOT_CONFIGURED', 'Database is not configured; POST /init first');
  }

  /** The id of the shard whose range holds `key` (for the console's per-shard counters), if any. */
  shardIdOf(key: number): string | undefined {
    return this.map.find(key)?.Shard_id;
  }

  keyColumn(): string {
    return this.requireConfigured().columns[0];
  }

  get currentSchema(): Schema | undefined {
    return this.schema;
  }

  private newShardState(def: ShardDef): ShardState {
    return {
      def,
      replicas: [],
      ready: new Set(),
      ring: new HashRing(this.o.ring),
      known: new Set(),
      pending: new Set(),
      validIdx: 0,
      queue: [],
      running: false,
    };
  }

  private persist(): void {
    if (!this.o.meta) return;
    try {
      this.o.meta.save(this.persistedState());
    } catch (e) {
      this.o.log.error('cannot save metadata', { err: String(e) });
    }
  }

  private persistedState(): PersistedState | undefined {
    const t = this.topology();
    if (!t) return undefined;
    return {
      schema: t.schema,
      shards: t.shards.map((s) => ({ ...s, valid_idx: this.shards.get(s.Shard_id)?.validIdx ?? 0 })),
      servers: t.servers,
      stale: this.order.filter((n) => this.servers.get(n)!.stale),
    };
  }

  // ---------------------------------------------------------------- membership

  /** POST /init: replaces the cluster (old servers stopped and removed), starts the new one empty. */
  init(body: InitBody): Promise<void> {
    const topo = planInit(body);
    return this.membership.run(async () => {
      this.reconfiguring = true;
      this.generation++;
      try {
        await this.teardown();
        this.schema = topo.schema;
        this.map = new ShardMap(topo.shards);
        for (const d of this.map.shards) this.shards.set(d.Shard_id, this.newShardState(d));
        this.events.add({ kind: 'init', detail: `${Object.keys(topo.servers).length} servers, ${topo.shards.length} shards` });
        await this.startServers(topo.servers, new Set(topo.shards.map((s) => s.Shard_id)));
        this.persist();
      } catch (e) {
        // a half-built cluster is worse than none: stop what started and report the cause
        await this.teardown().catch(() => undefined);
        this.persist();
        throw e;
      } finally {
        this.reconfiguring = false;
      }
    });
  }

  /** Stops every server and forgets the configuration. */
  private async teardown(): Promise<void> {
    this.stopHeartbeats();
    const names = [...this.servers.keys()];
    for (const n of names) this.o.client.forget(n);
    this.servers.clear();
    this.order = [];
    for (const sh of this.shards.values()) for (const op of sh.queue.splice(0)) op.reject(new ApiError('NO_REPLICA', 'The database was re-initialised'));
    this.shards.clear();
    this.schema = undefined;
    this.map = new ShardMap([]);
    await this.o.runtime.stopAll();
    this.startHeartbeats();
  }

  /** Spawns servers in parallel; `fresh` shards start empty, the others are copied from live replicas. */
  private async startServers(servers: Record<string, string[]>, fresh: Set<string>): Promise<void> {
    for (const [name, shards] of Object.entries(servers)) {
      this.servers.set(name, { name, shards: [...shards], status: 'starting', lastSeen: this.o.now(), misses: 0, hbInFlight: false, stale: false });
      this.order.push(name);
      for (const s of shards) this.shards.get(s)!.replicas.push(name);
    }
    const results = await Promise.allSettled(Object.entries(servers).map(([name, shards]) => this.bringUp(name, shards, fresh)));
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
  }

  /**
   * Spawn, wait for /heartbeat, /config, then make each shard serve: at once when it is new, else after a
   * copy-back under the shard's lock.
   */
  private async bringUp(name: string, shards: string[], fresh: Set<string>, inc?: Incident): Promise<void> {
    const st = this.servers.get(name)!;
    const gen = this.generation;
    const t0 = this.o.now();
    let handle;
    try {
      handle = await this.o.runtime.spawn(name);
    } catch (e) {
      throw new ApiError('SPAWN_FAILED', `Could not start server ${name}: ${(e as Error).message}`);
    }
    st.url = handle.url;
    this.o.client.setAddress(name, handle.url);
    this.events.add({ kind: 'spawned', server: name, detail: handle.url, ms: this.o.now() - t0 });
    const deadline = this.o.now() + this.o.spawnTimeoutMs;
    while (!(await this.o.client.heartbeat(name, 1000))) {
      if (this.o.now() > deadline) {
        await this.o.runtime.stop(name).catch(() => undefined);
        throw new ApiError('SPAWN_FAILED', `Server ${name} did not answer /heartbeat within ${this.o.spawnTimeoutMs} ms; it was removed`);
      }
      await sleep(50);
    }
    await this.o.client.config(name, this.schema!, shards);
    // it stays 'starting'/'recovering' (no heartbeats, fence() only unreadies it) until every shard serves
    st.misses = 0;
    st.lastSeen = this.o.now();
    st.fencedDuringBringUp = false;
    this.events.add({ kind: 'configured', server: name, detail: shards.join(','), ms: this.o.now() - t0 });
    await Promise.all(
      shards.map((id) => {
        const sh = this.shards.get(id)!;
        if (fresh.has(id)) {
          this.markReady(sh, name);
          return undefined;
        }
        return this.runExclusive(sh, () => this.copyBack(sh, name, gen, inc));
      }),
    );
    // a replica fenced while its siblings were still copying is not serving: the bring-up failed
    const missing = shards.filter((id) => !this.shards.get(id)?.ready.has(name));
    if (missing.length || st.fencedDuringBringUp) {
      for (const id of shards) this.unready(id, name);
      throw new ApiError('SPAWN_FAILED', `Server ${name} failed while its shards were refilled (${missing.join(',') || 'fenced'})`);
    }
    st.status = 'up';
    st.stale = false;
  }

  private markReady(sh: ShardState, name: string): void {
    const st = this.servers.get(name);
    if (!st || st.status === 'down' || st.fencedDuringBringUp) return;
    sh.ready.add(name);
    sh.ring.add(name);
  }

  private unready(shard: string, name: string): void {
    this.shards.get(shard)?.ready.delete(name);
    this.shards.get(shard)?.ring.remove(name);
  }

  /** Fills `target`'s copy of a shard from a live replica, verifies it, and only then lets it serve. */
  private async copyBack(sh: ShardState, target: string, gen: number, inc?: Incident): Promise<void> {
    if (gen !== this.generation) throw new ApiError('NO_REPLICA', 'The database was re-initialised');
    const id = sh.def.Shard_id;
    const t0 = this.o.now();
    const sources = [...sh.ready].filter((s) => s !== target && this.servers.get(s)?.status === 'up');
    let rows: Row[] | undefined;
    for (const src of sources) {
      try {
        rows = (await this.o.client.copy(src, [id]))[id] ?? [];
        break;
      } catch (e) {
        if (e instanceof UpstreamError) this.fence(src, `copy failed: ${e.message}`);
        else throw e;
      }
    }
    if (rows === undefined) {
      if (sh.known.size === 0 && sh.pending.size === 0) rows = [];
      else {
        this.o.log.error('shard has no live replica to copy from', { shard: id, target });
        this.events.add({ kind: 'no-replica', shard: id, server: target, detail: 'no live replica holds this shard; its rows are unavailable' });
        throw new ApiError('NO_REPLICA', `Shard ${id} has no live replica to copy from`);
      }
    }
    // a refilled server may hold stale rows of this shard (an adopted one after an LB restart): empty it first
    await this.o.client.reset(target, this.schema!, [id]);
    for (let i = 0; i < rows.length; i += this.o.copyChunkRows) {
      const chunk = rows.slice(i, i + this.o.copyChunkRows);
      await this.o.client.writeRaw(target, JSON.stringify({ shard: id, curr_idx: i, data: chunk }));
    }
    const d = (await this.o.client.digest(target, [id]))[id];
    const want = digestRows(rows);
    if (!d || d.count !== rows.length || d.digest !== want)
      throw new ApiError('INTERNAL', `Copy of ${id} to ${target} does not match its source (${d?.count} rows vs ${rows.length})`);
    if (rows.length !== sh.known.size && !this.resuming)
      this.o.log.warn('copied row count differs from the LB index', { shard: id, rows: rows.length, index: sh.known.size });
    this.markReady(sh, target);
    const ms = this.o.now() - t0;
    if (inc) inc.rowsCopied += rows.length;
    this.events.add({ kind: 'copied', server: target, shard: id, rows: rows.length, ms, detail: `copied ${rows.length} rows of ${id} in ${ms} ms` });
  }

  /** POST /add */
  add(body: AddBody): Promise<{ N: number; message: string }> {
    return this.membership.run(async () => {
      const cur = this.topology() ?? fail('NOT_CONFIGURED', 'Database is not configured; POST /init first');
      const plan = planAdd(cur, body, this.o.rand);
      const fresh = new Set(plan.newShards.map((s) => s.Shard_id));
      this.map = new ShardMap(plan.topology.shards);
      for (const d of plan.newShards) this.shards.set(d.Shard_id, this.newShardState(d));
      try {
        await this.startServers(plan.added, fresh);
      } catch (e) {
        // roll the membership back: the new servers leave, new shards are forgotten
        for (const name of Object.keys(plan.added)) await this.removeServer(name).catch(() => undefined);
        for (const d of plan.newShards) this.shards.delete(d.Shard_id);
        this.map = new ShardMap(cur.shards);
        this.persist();
        throw e;
      }
      this.events.add({ kind: 'added', detail: Object.keys(plan.added).join(',') });
      this.persist();
      return { N: this.order.length, message: plan.message };
    });
  }

  /** DELETE /rm */
  rm(body: RmBody): Promise<{ N: number; servers: string[] }> {
    return this.membership.run(async () => {
      const cur = this.topology() ?? fail('NOT_CONFIGURED', 'Database is not configured; POST /init first');
      const plan = planRm(cur, body, this.o.rand);
      for (const name of plan.removed) await this.removeServer(name);
      this.events.add({ kind: 'removed', detail: plan.removed.join(',') });
      this.persist();
      return { N: this.order.length, servers: plan.removed };
    });
  }

  /** Takes a server out of every shard (under each shard's lock, so no write is half-sent to it), then stops it. */
  private async removeServer(name: string): Promise<void> {
    const st = this.servers.get(name);
    if (!st) return;
    await Promise.all(
      st.shards.map((id) => {
        const sh = this.shards.get(id);
        if (!sh) return undefined;
        return this.runExclusive(sh, async () => {
          this.unready(id, name);
          sh.replicas = sh.replicas.filter((r) => r !== name);
        });
      }),
    );
    this.servers.delete(name);
    this.order = this.order.filter((n) => n !== name);
    this.o.client.forget(name);
    await this.o.runtime.stop(name).catch((e) => this.o.log.warn('stop failed', { server: name, err: String(e) }));
  }

  // ---------------------------------------------------------------- data path

  /** POST /read: one replica per overlapping shard, chosen by the shard's ring; bodies in key order. */
  async read(low: number, high: number): Promise<ReadResult> {
    const keyCol = this.keyColumn();
    const defs = this.map.overlapping(low, high);
    this.stats.readRequests++;
    this.inflight++;
    try {
      return await this.readShards(defs, keyCol, low, high);
    } finally {
      this.inflight--;
    }
  }

  private async readShards(defs: ShardDef[], keyCol: string, low: number, high: number): Promise<ReadResult> {
    this.stats.upstreamReads += defs.length;
    const id = (this.reqId = (this.reqId + 1) & 0x3ffffff);
    const bodies = await Promise.all(defs.map((d) => this.readShard(this.shards.get(d.Shard_id)!, keyCol, low, high, id)));
    return { shards: defs.map((d) => d.Shard_id), bodies };
  }

  private async readShard(sh: ShardState, keyCol: string, low: number, high: number, id: number): Promise<string> {
    const lo = Math.max(low, sh.def.Stud_id_low);
    const hi = Math.min(high, sh.def.Stud_id_low + sh.def.Shard_size - 1);
    for (let attempt = 0; attempt < 4; attempt++) {
      const server = sh.ring.get(id);
      if (!server) fail('NO_REPLICA', `Shard ${sh.def.Shard_id} has no live replica`);
      try {
        return await this.pipe.submit(server, { kind: 'read', shard: sh.def.Shard_id, keyCol, low: lo, high: hi });
      } catch (e) {
        if (!(e instanceof UpstreamError)) throw e;
        // a replica that cannot answer is fenced; the ring then points at the next one
        this.fence(server, `read failed: ${e.message}`);
      }
    }
    return fail('NO_REPLICA', `No replica of shard ${sh.def.Shard_id} answered`);
  }

  /** POST /write: validated and reserved synchronously (so duplicates race-free), then one op per shard. */
  async write(rows: Row[]): Promise<number> {
    const keyCol = this.keyColumn();
    const groups = new Map<ShardState, { rows: Row[]; keys: number[] }>();
    const seen = new Set<number>();
    for (let i = 0; i < rows.length; i++) {
      const key = rows[i][keyCol] as number;
      const def = this.map.find(key) ?? fail('KEY_OUT_OF_RANGE', `data[${i}].${keyCol} ${key} is outside every shard`);
      if (seen.has(key)) fail('DUPLICATE_KEY', `data[${i}].${keyCol} ${key} appears twice in the request`);
      seen.add(key);
      const sh = this.shards.get(def.Shard_id)!;
      if (sh.known.has(key) || sh.pending.has(key)) fail('DUPLICATE_KEY', `data[${i}].${keyCol} ${key} is already stored`);
      let g = groups.get(sh);
      if (!g) groups.set(sh, (g = { rows: [], keys: [] }));
      g.rows.push(rows[i]);
      g.keys.push(key);
    }
    // reserve every key before the first await: a concurrent request with the same key is now a duplicate
    for (const [sh, g] of groups) for (const k of g.keys) sh.pending.add(k);
    this.inflight++;
    try {
      return await this.applyGroups(groups, rows.length);
    } finally {
      this.inflight--;
    }
  }

  private async applyGroups(groups: Map<ShardState, { rows: Row[]; keys: number[] }>, n: number): Promise<number> {
    const entries = [...groups];
    const results = await Promise.allSettled(
      entries.map(
        ([sh, g]) =>
          new Promise<void>((resolve, reject) => {
            sh.queue.push({ kind: 'write', rows: g.rows, keys: g.keys, resolve, reject });
            void this.drain(sh);
          }),
      ),
    );
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      // all or nothing across shards: undo the groups that did land, so no reader keeps a row we refused
      await Promise.all(
        entries.map(([sh, g], i) => (results[i].status === 'fulfilled' ? this.runExclusive(sh, () => this.undoInsert(sh, g.keys)).catch(() => undefined) : undefined)),
      );
      throw (results[failed] as PromiseRejectedResult).reason;
    }
    return n;
  }

  private async undoInsert(sh: ShardState, keys: number[]): Promise<void> {
    const keyCol = this.schema!.columns[0];
    await this.fanOut(sh, (s) => this.o.client.rollback(s, sh.def.Shard_id, keyCol, keys, []), 'undo');
    for (const k of keys) sh.known.delete(k);
    sh.validIdx -= keys.length;
  }

  /** PUT /update */
  update(key: number, row: Row): Promise<void> {
    const keyCol = this.keyColumn();
    const sh = this.shardFor(key);
    return this.runExclusive(sh, async () => {
      if (!sh.known.has(key)) fail('KEY_NOT_FOUND', `No data entry with ${keyCol}:${key}`);
      await this.replicated(sh, (s) => this.o.client.update(s, sh.def.Shard_id, keyCol, key, row), (s, old) =>
        old ? this.o.client.rollback(s, sh.def.Shard_id, keyCol, [], [old]) : Promise.resolve(),
      );
    });
  }

  /** DELETE /del */
  del(key: number): Promise<void> {
    const keyCol = this.keyColumn();
    const sh = this.shardFor(key);
    return this.runExclusive(sh, async () => {
      if (!sh.known.has(key)) fail('KEY_NOT_FOUND', `No data entry with ${keyCol}:${key}`);
      await this.replicated(sh, (s) => this.o.client.del(s, sh.def.Shard_id, keyCol, key), (s, old) =>
        old ? this.o.client.rollback(s, sh.def.Shard_id, keyCol, [], [old]) : Promise.resolve(),
      );
      sh.known.delete(key);
      sh.validIdx--;
    });
  }

  private shardFor(key: number): ShardState {
    const def = this.map.find(key) ?? fail('KEY_NOT_FOUND', `No data entry with ${this.schema!.columns[0]}:${key} (outside every shard)`);
    return this.shards.get(def.Shard_id)!;
  }

  /** GET /read/{server}: everything that server holds, per shard. */
  async readServer(name: string): Promise<Record<string, Row[]>> {
    this.requireConfigured();
    const st = this.servers.get(name) ?? fail('UNKNOWN_SERVER', `Server ${name} is not in the cluster`);
    if (st.status !== 'up') fail('NO_REPLICA', `Server ${name} is ${st.status}`);
    try {
      return await this.o.client.copy(name, st.shards);
    } catch (e) {
      if (e instanceof UpstreamError) throw new ApiError('UPSTREAM_FAILED', `Server ${name} did not answer: ${e.message}`);
      throw e;
    }
  }

  // ---------------------------------------------------------------- shard executor (the shard lock)

  /** Runs fn alone on the shard: after every op queued before it, before every op queued after. */
  runExclusive<T>(sh: ShardState, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      sh.queue.push({ kind: 'task', fn, resolve: resolve as (v: unknown) => void, reject });
      void this.drain(sh);
    });
  }

  private async drain(sh: ShardState): Promise<void> {
    if (sh.running) return;
    sh.running = true;
    // under load, start a moment later so the writes that arrive meanwhile join the first batch;
    // otherwise at once (an extra event-loop turn costs a lone client more than it saves)
    if (this.inflight >= this.lingerAt) await new Promise<void>((r) => setTimeout(r, this.lingerMs));
    try {
      while (sh.queue.length > 0) {
        const head = sh.queue[0];
        if (head.kind === 'write' && this.inflight >= this.lingerAt && sh.queue.length < this.inflight / 2) {
          // under load a short wait fills the batch: fewer, larger upstream writes for the same rows
          await new Promise<void>((r) => setTimeout(r, this.lingerMs));
        }
        if (head.kind === 'write') {
          // group commit: every write queued behind the lock goes out as one batch per replica
          const batch: WriteOp[] = [];
          let n = 0;
          while (sh.queue.length > 0 && sh.queue[0].kind === 'write' && (batch.length === 0 || n + (sh.queue[0] as WriteOp).rows.length <= this.o.maxBatchRows)) {
            const op = sh.queue.shift() as WriteOp;
            batch.push(op);
            n += op.rows.length;
          }
          await this.applyWrites(sh, batch);
        } else {
          sh.queue.shift();
          try {
            head.resolve(await head.fn());
          } catch (e) {
            head.reject(e);
          }
        }
      }
    } finally {
      sh.running = false;
    }
  }

  private async applyWrites(sh: ShardState, batch: WriteOp[]): Promise<void> {
    this.stats.writeBatches++;
    this.stats.writeRequests += batch.length;
    const rows = batch.length === 1 ? batch[0].rows : batch.flatMap((op) => op.rows);
    const id = sh.def.Shard_id;
    const body = JSON.stringify({ shard: id, curr_idx: sh.validIdx, data: rows });
    const keyCol = this.schema!.columns[0];
    try {
      await this.replicated(
        sh,
        (s) => this.pipe.submit(s, { kind: 'write', body }),
        (s) => this.o.client.rollback(s, id, keyCol, rows.map((r) => r[keyCol] as number), []),
      );
      sh.validIdx += rows.length;
      for (const op of batch) {
        for (const k of op.keys) {
          sh.pending.delete(k);
          sh.known.add(k);
        }
        op.resolve();
      }
    } catch (e) {
      for (const op of batch) {
        for (const k of op.keys) sh.pending.delete(k);
        op.reject(e);
      }
    }
  }

  /**
   * Applies one change to every live replica of the shard (caller holds the shard lock). Replicas that fail
   * are fenced. Succeeds when the replicas that applied it are a majority of the shard's replicas; otherwise
   * undoes it where it landed and throws NO_MAJORITY, so no reader sees a change that was refused.
   */
  private async replicated<T>(sh: ShardState, apply: (s: string) => Promise<T>, undo: (s: string, r: T) => Promise<void>): Promise<T[]> {
    const total = sh.replicas.length;
    const live = [...sh.ready];
    if (live.length === 0) fail('NO_REPLICA', `Shard ${sh.def.Shard_id} has no live replica`);
    if (live.length * 2 <= total)
      fail('NO_MAJORITY', `Only ${live.length} of ${total} replicas of shard ${sh.def.Shard_id} are live; the change was not applied`);
    const res = await Promise.allSettled(live.map(apply));
    const ok: { s: string; v: T }[] = [];
    const errs: { s: string; e: unknown }[] = [];
    res.forEach((r, i) => (r.status === 'fulfilled' ? ok.push({ s: live[i], v: r.value }) : errs.push({ s: live[i], e: r.reason })));
    if (ok.length === 0 && errs.length > 0 && errs.every((x) => x.e instanceof ApiError)) {
      // every replica refused the same input: nothing was applied anywhere, so this is the caller's error
      throw errs[0].e;
    }
    for (const x of errs) this.fence(x.s, `${x.e instanceof Error ? x.e.message : String(x.e)}`);
    if (ok.length * 2 > total) return ok.map((x) => x.v);
    await Promise.all(
      ok.map((x) =>
        undo(x.s, x.v).catch((e) => this.fence(x.s, `rollback failed: ${(e as Error).message}`)),
      ),
    );
    return fail('NO_MAJORITY', `Only ${ok.length} of ${total} replicas of shard ${sh.def.Shard_id} applied the change; it was rolled back`);
  }

  private async fanOut(sh: ShardState, apply: (s: string) => Promise<unknown>, what: string): Promise<void> {
    const live = [...sh.ready];
    const res = await Promise.allSettled(live.map(apply));
    res.forEach((r, i) => {
      if (r.status === 'rejected') this.fence(live[i], `${what} failed: ${String(r.reason)}`);
    });
  }

  // ---------------------------------------------------------------- health, fencing, recovery

  /**
   * Takes a server out of service at once: out of every ring and write set, its connections dropped. Its
   * copies are stale from now on; it serves again only after a copy-back. Idempotent.
   */
  fence(name: string, reason: string): void {
    const st = this.servers.get(name);
    if (!st || st.status === 'down' || this.closed) return;
    if (st.status !== 'up') {
      // starting or recovering: its own bring-up sees the flag and fails, to be retried
      st.fencedDuringBringUp = true;
      for (const id of st.shards) this.unready(id, name);
      return;
    }
    st.status = 'down';
    st.stale = true;
    for (const id of st.shards) this.unready(id, name);
    this.o.client.forget(name);
    this.pipe.forget(name);
    this.o.log.warn('server fenced', { server: name, reason });
    this.events.add({ kind: 'detected', server: name, detail: reason });
    this.persist();
    if (this.o.autoRecover) void this.recover(name, reason, st.lastSeen);
  }

  /** Respawns a dead server under the same name, refills its shards, or drops it after respawnTries. */
  private async recover(name: string, reason: string, lastSeen: number): Promise<void> {
    if (this.recovering.has(name) || this.closed) return;
    this.recovering.add(name);
    const gen = this.generation;
    const inc = this.events.openIncident(name, reason, lastSeen);
    try {
      for (let attempt = 1; attempt <= this.o.respawnTries; attempt++) {
        const st = this.servers.get(name);
        if (!st || gen !== this.generation) return; // removed or re-initialised meanwhile
        st.status = 'recovering';
        try {
          await this.o.runtime.stop(name).catch(() => undefined);
          await this.bringUp(name, st.shards, new Set(), inc);
          this.events.closeIncident(inc, 'serving');
          this.events.add({ kind: 'serving', server: name, ms: inc.timeToServingMs, detail: `serving again ${inc.timeToServingMs} ms after detection` });
          this.persist();
          return;
        } catch (e) {
          this.o.log.warn('respawn failed', { server: name, attempt, err: String(e) });
          this.events.add({ kind: 'respawn-failed', server: name, detail: `attempt ${attempt}: ${(e as Error).message}` });
          const cur = this.servers.get(name);
          if (cur) {
            cur.status = 'down';
            for (const id of cur.shards) this.unready(id, name);
          }
          await sleep(200 * attempt);
        }
      }
      if (gen !== this.generation) return;
      // give up: drop it, and say loudly which shards are left with no replica
      await this.membership.run(() => this.removeServer(name));
      this.events.closeIncident(inc, 'dropped');
      this.events.add({ kind: 'dropped', server: name, detail: `dropped after ${this.o.respawnTries} failed respawns` });
      for (const sh of this.shards.values()) {
        if (sh.ready.size === 0) {
          this.o.log.error('SHARD HAS NO REPLICA', { shard: sh.def.Shard_id });
          this.events.add({ kind: 'no-replica', shard: sh.def.Shard_id, detail: 'no replica left: its rows are unavailable' });
        }
      }
      this.persist();
    } finally {
      this.recovering.delete(name);
    }
  }

  startHeartbeats(): void {
    if (this.hbTimer) return;
    this.hbTimer = setInterval(() => this.heartbeatTick(), this.o.hb.intervalMs);
    this.hbTimer.unref();
  }

  stopHeartbeats(): void {
    if (this.hbTimer) clearInterval(this.hbTimer);
    this.hbTimer = undefined;
  }

  /** One round: a heartbeat to every up server; an answer still outstanding from the last round is a miss. */
  private heartbeatTick(): void {
    for (const st of this.servers.values()) {
      if (st.status !== 'up') continue;
      if (st.hbInFlight) {
        this.miss(st, 'heartbeat unanswered');
        continue;
      }
      st.hbInFlight = true;
      void this.o.client.heartbeat(st.name, this.o.hb.timeoutMs).then((ok) => {
        st.hbInFlight = false;
        if (ok) {
          st.misses = 0;
          st.lastSeen = this.o.now();
        } else this.miss(st, 'heartbeat failed');
      });
    }
  }

  private miss(st: ServerState, why: string): void {
    if (st.status !== 'up' || this.servers.get(st.name) !== st) return;
    if (++st.misses >= this.o.hb.misses) this.fence(st.name, `${why} ${st.misses} times`);
  }

  /**
   * After an LB restart: rebuild from saved metadata. Servers still running are adopted (their key index read
   * back); missing or stale ones are respawned and refilled like any failure.
   */
  async resume(saved: PersistedState): Promise<void> {
    await this.membership.run(async () => {
      this.schema = saved.schema;
      this.map = new ShardMap(saved.shards.map(({ valid_idx: _v, ...d }) => d));
      for (const d of this.map.shards) this.shards.set(d.Shard_id, this.newShardState(d));
      const running = new Map((await this.o.runtime.list()).map((h) => [h.name, h]));
      const stale = new Set(saved.stale);
      const toRecover: string[] = [];
      for (const [name, shards] of Object.entries(saved.servers)) {
        const h = running.get(name);
        const st: ServerState = { name, shards: [...shards], status: 'down', lastSeen: this.o.now(), misses: 0, hbInFlight: false, stale: stale.has(name) };
        this.servers.set(name, st);
        this.order.push(name);
        for (const s of shards) this.shards.get(s)?.replicas.push(name);
        if (h && !st.stale) {
          this.o.client.setAddress(name, h.url);
          st.url = h.url;
          if (await this.o.client.heartbeat(name, 2000)) {
            st.status = 'up';
            for (const s of shards) this.markReady(this.shards.get(s)!, name);
            continue;
          }
        }
        toRecover.push(name);
      }
      // A crash can leave a write applied on some replicas and not others (never acknowledged): make each
      // shard's adopted replicas identical before serving, by refilling the odd ones from the majority.
      this.resuming = true;
      await this.reconcile().finally(() => (this.resuming = false));
      // the key index: from one live replica per shard
      for (const sh of this.shards.values()) {
        const src = [...sh.ready][0];
        if (!src) continue;
        try {
          const rows = (await this.o.client.copy(src, [sh.def.Shard_id]))[sh.def.Shard_id] ?? [];
          for (const r of rows) sh.known.add(r[this.schema!.columns[0]] as number);
          sh.validIdx = rows.length;
        } catch (e) {
          this.o.log.warn('cannot read key index', { shard: sh.def.Shard_id, err: String(e) });
        }
      }
      this.events.add({ kind: 'resumed', detail: `${this.order.length - toRecover.length} servers adopted, ${toRecover.length} to respawn` });
      for (const name of toRecover) {
        const st = this.servers.get(name)!;
        st.status = 'up'; // so fence() runs the normal path
        this.fence(name, 'not running after LB restart');
      }
    });
  }

  /** For each shard: compare its ready replicas' digests; refill the ones outside the largest agreeing group. */
  private async reconcile(): Promise<void> {
    const gen = this.generation;
    for (const sh of this.shards.values()) {
      const live = [...sh.ready];
      if (live.length < 2) continue;
      const id = sh.def.Shard_id;
      const digests = await Promise.all(
        live.map((srv) => this.o.client.digest(srv, [id]).then((d) => d[id], () => undefined)),
      );
      const groups = new Map<string, { members: string[]; count: number }>();
      live.forEach((srv, i) => {
        const d = digests[i];
        if (!d) return;
        const g = groups.get(d.digest) ?? { members: [], count: d.count };
        g.members.push(srv);
        groups.set(d.digest, g);
      });
      if (groups.size <= 1 && digests.every(Boolean)) continue;
      const best = [...groups.values()].sort((a, b) => b.members.length - a.members.length || b.count - a.count)[0];
      const odd = live.filter((srv) => !best?.members.includes(srv));
      this.o.log.warn('replicas differ after a restart; refilling from the majority', { shard: id, keep: best?.members, refill: odd });
      this.events.add({ kind: 'reconciled', shard: id, detail: `replicas differed after restart: ${odd.join(',')} refilled from ${best?.members.join(',')}` });
      for (const srv of odd) this.unready(id, srv);
      for (const srv of odd) {
        try {
          await this.runExclusive(sh, () => this.copyBack(sh, srv, gen));
        } catch (e) {
          this.o.log.warn('refill failed', { shard: id, server: srv, err: String(e) });
          this.fence(srv, `refill after restart failed: ${(e as Error).message}`);
        }
      }
    }
  }

  async shutdown(stopServers: boolean): Promise<void> {
    this.closed = true;
    this.stopHeartbeats();
    if (stopServers) await this.o.runtime.stopAll();
    await this.o.client.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
