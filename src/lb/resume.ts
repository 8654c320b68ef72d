/**
 * After an LB restart: rebuild the cluster from saved metadata. Servers still running and answering are adopted;
 * the rest are fenced and handed to recovery (a running one is kept and caught up when it answers; an exited one
 * respawned). A crash can leave a write applied on some replicas only (never acknowledged), so the adopted
 * replicas of each shard are compared by digest and the ones outside the largest agreeing group are refilled
 * from it (core/quorum.ts: majorityGroup). Until all that is done, data requests get a 503 saying so; a resume
 * that fails is retried, never served half-built.
 */
import { majorityGroup } from '../core/quorum.js';
import { ShardMap } from '../core/shard-map.js';
import { persist, sleep, type LbContext } from './context.js';
import type { PersistedState } from './metadata.js';
import type { ShardFactory } from './membership.js';
import type { Primaries } from './primaries.js';
import type { Recovery } from './recovery.js';
import type { ServerHandle } from '../runtime/runtime.js';

export class Resume {
  constructor(
    private readonly c: LbContext,
    private readonly recovery: Recovery,
    private readonly newShard: ShardFactory,
    /** set: shards have primaries: each keeps its recorded one (resumeShard) or elects; nothing is compared or refilled */
    private readonly pm?: Primaries,
  ) {}

  /** Resumes, retrying with backoff until it succeeds or the LB stops. Resolves after the first attempt. */
  async run(saved: PersistedState): Promise<void> {
    const gen = this.c.topo.generation;
    const ok = await this.tryOnce(saved, gen);
    if (ok) return;
    void (async () => {
      for (let i = 1; !this.c.closed; i++) {
        await sleep(Math.min(this.c.s.retryMaxMs, this.c.s.retryBaseMs * 2 ** i));
        if (await this.tryOnce(saved, gen)) return;
      }
    })();
  }

  private async tryOnce(saved: PersistedState, gen: number): Promise<boolean> {
    const c = this.c;
    try {
      // an /init since the LB started replaced the saved cluster: nothing left to resume
      await c.membership.run(async () => {
        if (c.topo.generation === gen) await this.resume(saved);
      });
      return true;
    } catch (e) {
      c.topo.unavailable = `The LB is resuming its saved cluster and the last attempt failed (${(e as Error).message}); it retries by itself`;
      c.log.error('resume failed; retrying', { err: String(e) });
      c.events.add({ kind: 'resume-failed', detail: String((e as Error).message) });
      return false;
    }
  }

  private async resume(saved: PersistedState): Promise<void> {
    const c = this.c;
    const t = c.topo;
    t.unavailable = 'The LB is resuming its saved cluster; try again shortly';
    // start from nothing on every attempt: a failed attempt leaves no half-built state behind
    for (const e of c.servers.clear()) c.client.forget(e.name);
    for (const sh of t.shards.values()) sh.close('The LB is resuming');
    t.shards.clear();
    t.schema = saved.schema;
    t.map = new ShardMap(saved.shards.map(({ valid_idx: _v, ...d }) => d));
    for (const d of t.map.shards) {
      const sh = this.newShard(d, saved.schema.columns[0]);
      sh.indexed = false; // until rebuilt from a serving replica below
      sh.lead.term = saved.terms[d.Shard_id] ?? 0;
      sh.lead.primary = saved.primaries[d.Shard_id];
      sh.lead.written = saved.written?.includes(d.Shard_id) ?? true;
      // reads wait for the primary's commit position (adopted or elected): acked is not known until then
      if (this.pm) sh.lead.ackedUnknown = true;
      t.shards.set(d.Shard_id, sh);
    }
    const running = new Map((await c.runtime.list()).map((h) => [h.name, h]));
    const stale = new Set(saved.stale);
    // Saved servers that are not running (after `down`, a graceful stop, a reboot, everything killed at once)
    // start again on their own stored data, which they replay, and are then adopted like running ones: the
    // digests below find any replica that differs. Respawning them empty and copying would find no serving
    // replica to copy from. A stale one (fenced before the restart) is left to recovery, which refills it.
    const toStart = Object.keys(saved.servers).filter((n) => !running.has(n) && !stale.has(n));
    const spawned = new Map<string, ServerHandle>();
    const started = await Promise.all(toStart.map((n) => this.startOnData(n, saved.schema, saved.servers[n], spawned)));
    for (const h of started) if (h) running.set(h.name, h);
    const toRecover: string[] = [];
    const lostStore: string[] = [];
    // every server and replica set first, before any await: an election started meanwhile (a fence) counts the
    // shard's whole voter set, never the part added so far
    for (const [name, shards] of Object.entries(saved.servers)) {
      const e = c.servers.add(name, shards, 'starting');
      for (const s of shards) t.shard(s)?.replicas.push(name);
      e.storeId = saved.stores?.[name];
      const h = running.get(name) ?? spawned.get(name);
      if (h) {
        // addresses too: a primary elected meanwhile gets every replica's address with its promote
        e.url = h.url;
        e.instance = h.id;
      }
    }
    for (const [name, shards] of Object.entries(saved.servers)) {
      const e = c.servers.get(name)!;
      const h = running.get(name) ?? spawned.get(name);
      const hb = h && running.has(name) && !stale.has(name) ? (c.client.setAddress(name, h.url), await c.client.heartbeat(name, 2000)) : undefined;
      // the store it served with before (seeded above): one that answers with another lost its volume meanwhile
      // (it forgot what it acknowledged), so it neither votes nor serves until recovery recreated its shards
      const recorded = e.storeId;
      e.storeId ??= hb?.storeId;
      const lost = hb !== undefined && recorded !== undefined && hb.storeId !== undefined && hb.storeId !== recorded;
      if (lost) {
        lostStore.push(name);
        c.events.add({ kind: 'store-lost', server: name, detail: `${name} answers with store ${hb.storeId}, not ${recorded}: its volume was lost while the LB was down; its shards are recreated from their primaries` });
      }
      if (!hb || lost) {
        toRecover.push(name);
        continue;
      }
      for (const s of shards) t.shard(s)?.addReady(name);
      c.servers.apply(e, 'ready');
    }
    if (this.pm) await this.primaries();
    else await this.reconcile();
    // the key index: from one serving replica per shard (the primary, which has committed everything acknowledged)
    for (const sh of t.shards.values()) {
      const src = this.pm ? sh.lead.primary : [...sh.ready][0];
      if (!src) continue;
      const rows = (await c.client.copy(src, [sh.id]))[sh.id] ?? [];
      for (const r of rows) sh.known.add(r[sh.keyCol] as number);
      sh.validIdx = rows.length;
      sh.indexed = true;
    }
    t.unavailable = undefined;
    c.events.add({ kind: 'resumed', detail: `${c.servers.size - toRecover.length} servers adopted, ${toRecover.length} to recover` });
    for (const name of toRecover) {
      const e = c.servers.get(name)!;
      c.servers.apply(e, 'ready'); // so the fault takes the normal path: fenced, kept, recovered
      this.recovery.fault(name, stale.has(name) ? 'not caught up before the LB restart' : lostStore.includes(name) ? 'its volume was lost while the LB was down' : 'not answering after the LB restart');
    }
    persist(c);
  }

  /** Starts a saved server on its stored data and waits until it answers and holds its configuration; undefined if it would not. */
  private async startOnData(name: string, schema: PersistedState['schema'], shards: string[], spawned: Map<string, ServerHandle>): Promise<ServerHandle | undefined> {
    const c = this.c;
    try {
      const h = await c.runtime.spawn(name);
      spawned.set(name, h); // running from now on: recovery must know where to probe it
      c.client.setAddress(name, h.url);
      const deadline = c.now() + c.s.spawnTimeoutMs;
      while (!(await c.client.heartbeat(name, 1000))) {
        if (c.now() > deadline) throw new Error(`no /heartbeat within ${c.s.spawnTimeoutMs} ms`);
        await sleep(50);
      }
      // answered once the server has replayed its data (it holds every request but /heartbeat and /state until
      // then); the same configuration it replayed, so nothing changes, unless its data was gone
      await c.client.config(name, schema, shards);
      c.events.add({ kind: 'spawned', server: name, detail: `${h.url}, on its stored data` });
      return h;
    } catch (err) {
      c.log.warn('a saved server did not start on its data; recovery takes it over', { server: name, err: String(err) });
      return undefined;
    }
  }

  /**
   * Each shard keeps its recorded primary when it still leads the recorded term and is ready, else elects one at
   * a term above every recorded and reported one (after everything restarted, every shard elects).
   */
  private async primaries(): Promise<void> {
    const pm = this.pm!;
    const shards = [...this.c.topo.shards.values()];
    await Promise.all(shards.map((sh) => sh.run(() => pm.resumeLocked(sh))));
    const none = shards.filter((sh) => !sh.lead.primary);
    if (none.length) this.c.events.add({ kind: 'no-primary', detail: none.map((sh) => `${sh.id}: ${sh.lead.reason}`).join('; ') });
  }

  /** For each shard: the adopted replicas outside the largest agreeing group are refilled from it. */
  private async reconcile(): Promise<void> {
    const c = this.c;
    for (const sh of c.topo.shards.values()) {
      const live = [...sh.ready];
      if (live.length < 2) continue;
      const ds = await Promise.all(live.map((srv) => c.client.digest(srv, [sh.id]).then((d) => ({ server: srv, ...d[sh.id] }), () => ({ server: srv }))));
      const g = majorityGroup(ds);
      if (!g || g.refill.length === 0) continue;
      c.log.warn('replicas differ after a restart; refilling from the majority', { shard: sh.id, keep: g.keep, refill: g.refill });
      c.events.add({ kind: 'reconciled', shard: sh.id, detail: `replicas differed after restart: ${g.refill.join(',')} refilled from ${g.keep.join(',')}` });
      for (const srv of g.refill) sh.removeReady(srv);
      for (const srv of g.refill) {
        const e = c.servers.get(srv)!;
        const token = e.attempt;
        await sh.run(() => this.recovery.copyBack(sh, e, token)).catch((err) => {
          c.log.warn('refill failed', { shard: sh.id, server: srv, err: String(err) });
          this.recovery.fault(srv, `refill after restart failed: ${(err as Error).message}`);
        });
      }
    }
  }
}
