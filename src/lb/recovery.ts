/**
 * Faults and recovery. A server that fails a call or misses heartbeats is FENCED: out of every ring and write
 * set at once, its pools dropped, and KEPT (it may hold the last copy of a shard). Then, until it serves again or
 * an operator removes it, one loop per server:
 *  - its process/container is still running (paused, overloaded, partitioned): never removed or replaced; probed
 *    until it answers, then caught up shard by shard under each shard's lock and re-admitted;
 *  - it exited: respawned under its name, refilled from a serving replica, re-admitted.
 * Failed attempts are retried with backoff and reported (status, events); no server is ever dropped here.
 *
 * Every await is a place where /init, /rm or another fault can run. Each attempt carries a token (entry.attempt)
 * and the entry object itself is the server's identity: after every await the attempt checks both
 * (`stillOwns`), and runtime spawns/stops run under the membership mutex after the same check, so an attempt
 * can neither touch a newer server of the same name nor leak an instance after an /rm.
 */
import { ApiError } from '../core/errors.js';
import { mayResumeWithoutCopy } from '../core/quorum.js';
import type { Row } from '../core/table.js';
import { digestRows } from '../shared/digest.js';
import { writeBody } from '../shared/wire.js';
import { UpstreamError } from './shard-client.js';
import { persist, sleep, type LbContext } from './context.js';
import type { Incident } from './events.js';
import type { ServerEntry } from './servers.js';
import type { Shard } from './shard.js';
import type { Primaries } from './primaries.js';
import { rejoinShard } from './rejoin.js';

export interface BringUpOptions {
  inc?: Incident;
  /** a respawn: refused while the server's old instance is still running */
  respawn?: boolean;
  /** the caller holds the membership mutex (/init, /add) */
  locked?: boolean;
}

const serving = (e: ServerEntry): boolean => e.status === 'serving';

/** Thrown inside an attempt whose server was removed, replaced or faulted again meanwhile. */
class StaleAttempt extends Error {}

export class Recovery {
  /** servers with a recovery loop running */
  private readonly active = new Set<ServerEntry>();
  /** called after every recovery whose server serves again, with its shards (lb/verify.ts records a check) */
  readonly onServing: ((server: string, shards: string[]) => void)[] = [];

  /** `pm`: shards have primaries; a returning replica is caught up by its primary, never copied by the LB */
  constructor(
    private readonly c: LbContext,
    private readonly pm?: Primaries,
  ) {}

  /** Fences a server (idempotent) and starts its recovery. Never removes or stops anything. */
  fault = (name: string, reason: string): void => {
    const c = this.c;
    const e = c.servers.get(name);
    if (!e || c.closed) return;
    const was = e.status;
    if (!c.servers.apply(e, 'fault')) return; // already fenced, or gone
    e.lastError = reason;
    e.attempt++; // a bring-up in flight is void from now on
    for (const id of e.shards) c.topo.shard(id)?.removeReady(name, e.storeId);
    c.client.forget(name);
    c.log.warn('server fenced', { server: name, reason });
    c.events.add({ kind: 'detected', server: name, detail: reason });
    this.pm?.fenced(name, reason);
    persist(c);
    if (c.s.autoRecover && (was === 'serving' || was === 'recovering')) void this.recover(e, reason);
  };

  /** The recovery loop of one server (at most one per server). */
  async recover(e: ServerEntry, reason: string): Promise<void> {
    const c = this.c;
    if (this.active.has(e) || c.closed) return;
    this.active.add(e);
    const inc = c.events.openIncident(e.name, reason, e.lastSeen);
    try {
      while (c.servers.current(e) && !c.closed && !serving(e)) {
        const token = ++e.attempt;
        let wait = c.s.heartbeat.intervalMs;
        try {
          await this.attempt(e, token, inc);
          if (serving(e)) {
            e.failures = 0;
            e.lastError = undefined;
          }
        } catch (err) {
          if (err instanceof StaleAttempt || !c.servers.current(e)) continue;
          e.failures++;
          e.lastError = (err as Error).message;
          c.log.warn('recovery attempt failed', { server: e.name, attempt: e.failures, err: String(err) });
          c.events.add({ kind: 'respawn-failed', server: e.name, detail: `attempt ${e.failures}: ${e.lastError}` });
          if (e.status === 'recovering') c.servers.apply(e, 'fault');
          for (const id of e.shards) c.topo.shard(id)?.removeReady(e.name, e.storeId);
          wait = Math.min(c.s.retryMaxMs, c.s.retryBaseMs * 2 ** Math.min(e.failures - 1, 10));
        }
        if (!serving(e)) await sleep(wait);
      }
      if (serving(e)) {
        c.events.closeIncident(inc, 'serving');
        c.events.add({ kind: 'serving', server: e.name, ms: inc.timeToServingMs, detail: `serving again ${inc.timeToServingMs} ms after detection` });
        persist(c);
        for (const fn of this.onServing) fn(e.name, [...e.shards]);
      } else if (!c.servers.current(e)) c.events.closeIncident(inc, 'dropped');
    } finally {
      this.active.delete(e);
    }
  }

  private stillOwns(e: ServerEntry, token: number): void {
    if (!this.c.servers.current(e) || e.attempt !== token || this.c.closed) throw new StaleAttempt(`attempt ${token} on ${e.name} is stale`);
  }

  /** One attempt: a silent running server is probed; an exited one respawned. Resolves once it serves. */
  private async attempt(e: ServerEntry, token: number, inc: Incident): Promise<void> {
    const c = this.c;
    const state = await c.runtime.state(e.name);
    this.stillOwns(e, token);
    if (state === 'running' && e.url) {
      c.client.setAddress(e.name, e.url);
      const hb = await c.client.heartbeat(e.name, c.s.heartbeat.timeoutMs);
      this.stillOwns(e, token);
      if (!hb) return; // alive but silent (paused?): kept, probed again next round
      if (!c.servers.apply(e, 'returned')) throw new StaleAttempt('not fenced');
      c.events.add({ kind: 'returned', server: e.name, detail: 'answers again; catching up' });
      await this.admit(e, token, hb.storeId, inc);
      return;
    }
    if (!c.servers.apply(e, 'respawn')) throw new StaleAttempt('not fenced');
    await this.bringUp(e, token, new Set(), { inc, respawn: true });
  }

  /**
   * Spawn (under the membership mutex, only while the attempt still owns the server), wait for /heartbeat until a
   * deadline, /config, then make each shard serve: `fresh` shards at once (new and empty), the others by
   * admitShard (copy-back under the shard's lock). Used by /init, /add and respawns.
   */
  async bringUp(e: ServerEntry, token: number, fresh: ReadonlySet<string>, o: BringUpOptions = {}): Promise<void> {
    try {
      await this.bringUpOnce(e, token, fresh, o);
    } catch (err) {
      // a starting server fenced meanwhile: say why, not that the attempt went stale
      if (err instanceof StaleAttempt && this.c.servers.current(e) && e.status === 'fenced')
        throw new ApiError('SPAWN_FAILED', `Server ${e.name} failed while starting: ${e.lastError ?? 'fenced'}`);
      throw err;
    }
  }

  private async bringUpOnce(e: ServerEntry, token: number, fresh: ReadonlySet<string>, o: BringUpOptions): Promise<void> {
    const c = this.c;
    const t0 = c.now();
    // runtime spawns and stops run under the membership mutex (init and add already hold it)
    const locked = <T>(fn: () => Promise<T>): Promise<T> => (o.locked ? fn() : c.membership.run(fn));
    const handle = await locked(async () => {
      this.stillOwns(e, token);
      // never replace a server that is still running: it may hold the last copy of a shard
      if (o.respawn && (await c.runtime.state(e.name)) === 'running') throw new ApiError('INTERNAL', `${e.name} is running again; not replaced`);
      this.stillOwns(e, token);
      try {
        return await c.runtime.spawn(e.name);
      } catch (err) {
        throw new ApiError('SPAWN_FAILED', `Could not start server ${e.name}: ${(err as Error).message}`);
      }
    });
    e.url = handle.url;
    e.instance = handle.id;
    this.stillOwns(e, token);
    c.client.setAddress(e.name, handle.url);
    c.events.add({ kind: 'spawned', server: e.name, detail: handle.url, ms: c.now() - t0 });
    const deadline = c.now() + c.s.spawnTimeoutMs;
    let hb: { storeId?: string } | undefined;
    while (!(hb = await c.client.heartbeat(e.name, 1000))) {
      this.stillOwns(e, token);
      if (c.now() > deadline) {
        // a fresh instance that never answered holds nothing: removing it loses no data
        await locked(() => (c.servers.current(e) ? c.runtime.stop(e.name) : Promise.resolve())).catch(() => undefined);
        throw new ApiError('SPAWN_FAILED', `Server ${e.name} did not answer /heartbeat within ${c.s.spawnTimeoutMs} ms; that instance was removed`);
      }
      await sleep(50);
    }
    this.stillOwns(e, token);
    await c.client.config(e.name, c.topo.schema!, e.shards);
    this.stillOwns(e, token);
    e.misses = 0;
    e.lastSeen = c.now();
    c.events.add({ kind: 'configured', server: e.name, detail: e.shards.join(','), ms: c.now() - t0 });
    await this.admit(e, token, hb.storeId, o.inc, fresh);
  }

  /** Makes every shard of the server serve (fresh ones at once), then marks the server serving. */
  private async admit(e: ServerEntry, token: number, storeId: string | undefined, inc?: Incident, fresh: ReadonlySet<string> = new Set()): Promise<void> {
    const c = this.c;
    const results = await Promise.allSettled(
      e.shards.map((id) => {
        const sh = c.topo.shard(id);
        if (!sh) return Promise.resolve();
        if (fresh.has(id)) {
          sh.addReady(e.name);
          return Promise.resolve();
        }
        if (this.pm) return rejoinShard(c, this.pm, sh, e, storeId, () => this.stillOwns(e, token));
        return sh.run(() => this.admitShard(sh, e, token, storeId, inc));
      }),
    );
    this.stillOwns(e, token);
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
    e.storeId = storeId;
    e.lastSeen = c.now();
    e.misses = 0;
    if (!c.servers.apply(e, 'ready')) throw new StaleAttempt('no longer starting or recovering');
  }

  /**
   * Under the shard's lock: brings one replica up to date and adds it to the ready set. From a serving replica
   * when there is one; with none serving, a replica may resume without a copy only when it is the one that left
   * the ready set last, with the same store (core/quorum.ts, mayResumeWithoutCopy); an empty shard needs nothing.
   */
  private async admitShard(sh: Shard, e: ServerEntry, token: number, storeId: string | undefined, inc?: Incident): Promise<void> {
    const c = this.c;
    this.stillOwns(e, token);
    if (sh.ready.has(e.name)) return;
    if (sh.ready.size === 0) {
      if (mayResumeWithoutCopy(e.name, storeId, sh.lastServing)) {
        c.events.add({ kind: 'resumed-shard', server: e.name, shard: sh.id, detail: `${e.name} left ${sh.id}'s serving set last and kept its store: serving again without a copy` });
        sh.addReady(e.name);
        return;
      }
      if (sh.indexed && sh.known.size === 0 && sh.pending.size === 0) {
        // nothing was ever acknowledged in it: an empty replica holds every acknowledged change
        await c.client.reset(e.name, c.topo.schema!, [sh.id]);
        this.stillOwns(e, token);
        sh.addReady(e.name);
        return;
      }
      const want = sh.lastServing ? ` (waiting for ${sh.lastServing.server}, which holds every acknowledged change)` : '';
      c.events.add({ kind: 'no-replica', shard: sh.id, server: e.name, detail: `no serving replica to copy ${sh.id} from${want}` });
      throw new ApiError('NO_REPLICA', `Shard ${sh.id} has no serving replica to copy from${want}`);
    }
    await this.copyBack(sh, e, token, inc);
  }

  /** Fills a replica of a shard from a serving one, verifies it by digest, then lets it serve. Caller holds the lock. */
  async copyBack(sh: Shard, e: ServerEntry, token: number, inc?: Incident): Promise<void> {
    const c = this.c;
    const t0 = c.now();
    let rows: Row[] | undefined;
    for (const src of [...sh.ready].filter((s) => s !== e.name)) {
      try {
        rows = (await c.client.copy(src, [sh.id]))[sh.id] ?? [];
        break;
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        this.stillOwns(e, token);
        this.fault(src, `copy failed: ${err.message}`);
      }
    }
    this.stillOwns(e, token);
    if (rows === undefined) throw new ApiError('NO_REPLICA', `Shard ${sh.id} has no serving replica to copy from`);
    // a refilled server may hold stale rows of this shard: empty it first
    await c.client.reset(e.name, c.topo.schema!, [sh.id]);
    for (let i = 0; i < rows.length; i += c.s.copyChunkRows) {
      this.stillOwns(e, token);
      await c.client.writeRaw(e.name, writeBody(sh.id, i, JSON.stringify(rows.slice(i, i + c.s.copyChunkRows))));
    }
    const d = (await c.client.digest(e.name, [sh.id]))[sh.id];
    this.stillOwns(e, token);
    if (!d || d.count !== rows.length || d.digest !== digestRows(rows))
      throw new ApiError('INTERNAL', `Copy of ${sh.id} to ${e.name} does not match its source (${d?.count} rows vs ${rows.length})`);
    if (!sh.indexed) {
      // after an LB restart with no serving replica, the first verified copy rebuilds the key index
      for (const r of rows) sh.known.add(r[sh.keyCol] as number);
      sh.validIdx = rows.length;
      sh.indexed = true;
    }
    sh.addReady(e.name);
    const ms = c.now() - t0;
    if (inc) inc.rowsCopied += rows.length;
    c.events.add({ kind: 'copied', server: e.name, shard: sh.id, rows: rows.length, ms, detail: `copied ${rows.length} rows of ${sh.id} in ${ms} ms` });
  }
}
