/**
 * /init, /add and /rm: the only changes of the topology (with resume). Each runs under the membership mutex; the
 * per-shard part of a removal runs in the shard's executor, so no write is half-sent to a server being removed.
 * Only these operator actions remove servers; faults never do (recovery.ts).
 */
import { ApiError, fail } from '../core/errors.js';
import { planAdd, planInit, planRm, type Topology } from '../core/plans.js';
import { ShardMap, type ShardDef } from '../core/shard-map.js';
import type { AddBody, InitBody, RmBody } from '../core/schemas.js';
import { persist, type LbContext } from './context.js';
import type { Primaries } from './primaries.js';
import type { Recovery } from './recovery.js';
import { membersBody, rejoinShard } from './rejoin.js';
import { Shard, type ShardExecOptions } from './shard.js';
import { shardIdsOf, VoterChange } from './voter-change.js';

export type ShardFactory = (def: ShardDef, keyCol: string) => Shard;

export function shardFactory(c: LbContext, applyBatch: ShardExecOptions['applyBatch']): ShardFactory {
  return (def, keyCol) =>
    new Shard(def, keyCol, {
      applyBatch,
      load: () => c.inflight,
      lingerAt: c.s.lingerAt,
      lingerMs: c.s.lingerMs,
      maxBatchRows: c.s.maxBatchRows,
      ring: c.s.ring,
    });
}

export class Membership {
  constructor(
    private readonly c: LbContext,
    private readonly recovery: Recovery,
    private readonly newShard: ShardFactory,
    /** set: shards have primaries (elected at /init, told of membership changes) */
    private readonly pm?: Primaries,
  ) {}

  topology(): Topology | undefined {
    const t = this.c.topo;
    if (!t.schema) return undefined;
    const servers: Record<string, string[]> = {};
    for (const e of this.c.servers.list()) servers[e.name] = [...e.shards];
    return { schema: t.schema, shards: t.map.shards.map((s) => ({ ...s })), servers };
  }

  /** POST /init: replaces the cluster (old servers and their data removed), starts the new one empty. */
  init(body: InitBody): Promise<void> {
    const topo = planInit(body);
    const c = this.c;
    return c.membership.run(async () => {
      c.topo.unavailable = 'The database is being re-initialised; try again shortly';
      try {
        await this.teardown();
        c.topo.schema = topo.schema;
        c.topo.map = new ShardMap(topo.shards);
        for (const d of c.topo.map.shards) c.topo.shards.set(d.Shard_id, this.newShard(d, topo.schema.columns[0]));
        c.events.add({ kind: 'init', detail: `${Object.keys(topo.servers).length} servers, ${topo.shards.length} shards` });
        await this.startServers(topo.servers, new Set(topo.shards.map((s) => s.Shard_id)));
        await this.electNew([...c.topo.shards.values()]);
        c.topo.unavailable = undefined;
        persist(c);
      } catch (e) {
        // a half-built cluster is worse than none: stop what started and report the cause
        await this.teardown().catch(() => undefined);
        c.topo.unavailable = undefined;
        persist(c);
        throw e;
      }
    });
  }

  /** Stops every server (with its data) and forgets the configuration. Caller holds the membership mutex. */
  private async teardown(): Promise<void> {
    const c = this.c;
    c.topo.generation++;
    for (const e of c.servers.clear()) c.client.forget(e.name);
    for (const sh of c.topo.shards.values()) sh.close('The database was re-initialised');
    c.topo.shards.clear();
    c.topo.schema = undefined;
    c.topo.map = new ShardMap([]);
    // /init replaces the database (API.md): the old servers' stored data goes with them
    await c.runtime.stopAll({ removeData: true });
  }

  /** Spawns servers in parallel (caller holds the mutex); `fresh` shards start empty, the others are copied. */
  private async startServers(servers: Record<string, string[]>, fresh: ReadonlySet<string>): Promise<void> {
    const c = this.c;
    const entries = Object.entries(servers).map(([name, shards]) => {
      const e = c.servers.add(name, shards, 'starting');
      for (const id of shards) {
        const sh = c.topo.shard(id)!;
        sh.replicas.push(name);
        // a new replica of a shard that holds data counts toward its majority only once it has the data
        if (!fresh.has(id)) sh.joining.add(name);
      }
      return e;
    });
    // we hold the membership mutex: the bring-ups spawn without taking it again. A server new to the cluster
    // starts with no data: whatever an earlier server of that name left (a volume, a data dir) is removed first.
    const results = await Promise.allSettled(
      entries.map(async (e) => {
        const token = ++e.attempt;
        await c.runtime.stop(e.name, { removeData: true });
        return this.recovery.bringUp(e, token, fresh, { locked: true });
      }),
    );
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
  }

  /** POST /add. New shards are routed only once every added server serves; on a failure nothing was acknowledged in them. */
  add(body: AddBody): Promise<{ N: number; message: string }> {
    const c = this.c;
    return c.membership.run(async () => {
      if (c.topo.unavailable) fail('NO_REPLICA', c.topo.unavailable);
      const cur = this.topology() ?? fail('NOT_CONFIGURED', 'Database is not configured; POST /init first');
      const plan = planAdd(cur, body, c.rand);
      const fresh = new Set(plan.newShards.map((s) => s.Shard_id));
      for (const d of plan.newShards) c.topo.shards.set(d.Shard_id, this.newShard(d, cur.schema.columns[0]));
      for (const name of Object.keys(plan.added)) c.uncommitted.add(name);
      try {
        await this.startServers(plan.added, fresh);
        // new shards take no change before their first primary: one that cannot elect rolls the /add back too
        if (this.pm) await this.electNew(plan.newShards.map((d) => c.topo.shard(d.Shard_id)!));
      } catch (e) {
        c.uncommitted.clear();
        // roll the membership back: the new servers leave (no acknowledged change lives only on them), new shards are forgotten
        for (const name of Object.keys(plan.added)) await this.removeServer(name).catch(() => undefined);
        for (const d of plan.newShards) {
          c.topo.shard(d.Shard_id)?.close(`Shard ${d.Shard_id} was not added`);
          c.topo.shards.delete(d.Shard_id);
        }
        persist(c);
        throw e;
      }
      // committed: the new replicas of existing shards (caught up and serving) vote from now on
      for (const [name, ids] of Object.entries(plan.added)) for (const id of ids) c.topo.shard(id)?.joining.delete(name);
      if (this.pm) await this.tellPrimaries(new Set(Object.values(plan.added).flat().filter((id) => !fresh.has(id))));
      c.topo.map = new ShardMap(plan.topology.shards);
      c.uncommitted.clear();
      c.events.add({ kind: 'added', detail: Object.keys(plan.added).join(',') });
      persist(c);
      return { N: c.servers.size, message: plan.message };
    });
  }

  /** DELETE /rm. A shard must keep a serving replica unless forced; under primaries its voters change one at a time. */
  rm(body: RmBody): Promise<{ N: number; servers: string[] }> {
    const c = this.c;
    return c.membership.run(async () => {
      if (c.topo.unavailable) fail('NO_REPLICA', c.topo.unavailable);
      const cur = this.topology() ?? fail('NOT_CONFIGURED', 'Database is not configured; POST /init first');
      const serving: Record<string, string[]> = {};
      for (const [id, sh] of c.topo.shards) serving[id] = [...sh.ready];
      const primaries = this.pm?.view().primaries ?? {};
      const plan = planRm(cur, body, c.rand, serving, primaries);
      if (this.pm) await this.retire(plan.removed, body.force === true);
      else await this.detachAll(plan.removed, body);
      c.events.add({ kind: 'removed', detail: plan.removed.join(',') });
      persist(c);
      return { N: c.servers.size, servers: plan.removed };
    });
  }

  /**
   * Under primaries: each server leaves its shards one voter change at a time (voter-change.ts), then is stopped
   * with its data. A step that cannot be made safely stops /rm there: the servers already gone stay gone, the one
   * half-detached rejoins the shards it left (caught up by their primaries), and the error names both.
   */
  private async retire(removed: string[], force: boolean): Promise<void> {
    const c = this.c;
    const vc = new VoterChange(c, this.pm!);
    const gone: string[] = [];
    const stopped = (e: unknown, at?: string): ApiError => {
      const err = e instanceof ApiError ? e : new ApiError('INTERNAL', (e as Error).message);
      const done = gone.length ? `/rm removed ${gone.join(', ')} and stopped before ${at}` : '/rm removed nothing';
      return new ApiError(err.code, `${done}: ${err.message.replace(/^<Error> /, '')}`, err.status, err.extra as Record<string, unknown> | undefined);
    };
    if (!force) await vc.preflight(removed).catch((e: unknown) => Promise.reject(stopped(e)));
    for (const name of removed) {
      const left: string[] = [];
      try {
        await vc.detach(name, removed, force, left);
      } catch (e) {
        if (left.length) await this.putBack(name, left);
        if (gone.length) {
          c.events.add({ kind: 'removed', detail: gone.join(',') });
          persist(c);
        }
        throw stopped(e, name);
      }
      await this.removeServer(name);
      gone.push(name);
      persist(c);
    }
  }

  /**
   * A server whose /rm stopped half-way is a replica of the shards it left again (in both records at once), caught
   * up by their primaries (rejoin.ts) in the background; its other shards are not disturbed.
   */
  private async putBack(name: string, shardIds: string[]): Promise<void> {
    const c = this.c;
    const e = c.servers.get(name);
    if (!e) return;
    for (const id of shardIds) {
      const sh = c.topo.shard(id);
      await sh?.run(async () => {
        if (!sh.replicas.includes(name)) sh.replicas.push(name);
        if (!e.shards.includes(id)) e.shards.push(id);
      });
    }
    await this.tellPrimaries(new Set(shardIds));
    c.events.add({ kind: 'rm-stopped', server: name, detail: `${name} stays; it rejoins ${shardIds.join(',')}` });
    persist(c);
    const check = () => {
      if (!c.servers.current(e) || c.closed) throw new Error(`${name} left the cluster`);
    };
    for (const id of shardIds) {
      const sh = c.topo.shard(id);
      if (sh && this.pm)
        void rejoinShard(c, this.pm, sh, e, e.storeId, check).catch((err: Error) => {
          if (c.servers.current(e)) this.recovery.fault(name, `rejoining ${id} after a stopped /rm failed: ${err.message}`);
        });
    }
  }

  /**
   * Assignment 2's path: judged again under the locks of every shard touched, and detached in the same synchronous
   * step (a fence while /rm waited for a lock must not leave a shard with no serving replica), then stopped.
   */
  private async detachAll(removed: string[], body: RmBody): Promise<void> {
    const c = this.c;
    const ids = shardIdsOf(c, removed);
    const locked = (i: number): Promise<void> => {
      const sh = i < ids.length ? c.topo.shard(ids[i]) : undefined;
      if (i < ids.length && !sh) return locked(i + 1);
      if (sh) return sh.run(() => locked(i + 1));
      const now: Record<string, string[]> = {};
      for (const [id, x] of c.topo.shards) now[id] = [...x.ready];
      planRm(this.topology()!, { ...body, n: removed.length, servers: removed }, c.rand, now);
      for (const name of removed) for (const id of c.servers.get(name)?.shards ?? []) c.topo.shard(id)?.removeReplica(name);
      return Promise.resolve();
    };
    await locked(0);
    for (const name of removed) await this.removeServer(name);
  }

  /**
   * Elects the first primary of new shards (empty logs, term 1), spread over servers (placePrimaries), before
   * /init or /add answers. Caller holds the membership mutex.
   */
  private async electNew(shards: Shard[]): Promise<void> {
    if (!this.pm || shards.length === 0) return;
    const pm = this.pm;
    const plan = pm.placement();
    // a busy machine can miss an election's deadlines: a few attempts (each at a higher term) before /init fails
    const won = await Promise.all(
      shards.map((sh) =>
        sh.run(async () => {
          for (let i = 0; i < 5; i++) if (await pm.electLocked(sh, 'new shard', { prefer: plan[sh.id] })) return true;
          return false;
        }),
      ),
    );
    const bad = shards.filter((_, i) => !won[i]);
    if (bad.length) fail('NO_PRIMARY', `no primary for ${bad.map((sh) => `${sh.id} (${sh.lead.reason})`).join(', ')}`);
  }

  /** After a change of replicas or voters: each shard's primary learns the set it replicates to and counts over. */
  private async tellPrimaries(ids: ReadonlySet<string>): Promise<void> {
    const c = this.c;
    for (const id of ids) {
      const sh = c.topo.shard(id);
      if (!sh) continue;
      await sh
        .run(async () => {
          if (!sh.lead.primary) return; // the next election hands it the set
          await c.client.members(sh.lead.primary, membersBody(c, sh, sh.lead.term), 2000);
        })
        .catch((e) => c.log.warn('could not tell the primary its replicas', { shard: id, err: String(e) }));
    }
  }

  /**
   * Takes a server out of every shard (under each shard's lock), then stops it and deletes its stored data (/rm,
   * or an /add rolled back: no acknowledged change lives only on it). Caller holds the mutex.
   */
  private async removeServer(name: string): Promise<void> {
    const c = this.c;
    const e = c.servers.get(name);
    if (!e) return;
    await Promise.all(
      e.shards.map((id) => {
        const sh = c.topo.shard(id);
        return sh?.run(async () => sh.removeReplica(name)).catch(() => sh.removeReplica(name));
      }),
    );
    c.servers.remove(name);
    c.client.forget(name);
    await c.runtime.stop(name, { removeData: true }).catch((err) => c.log.warn('stop failed', { server: name, err: String(err) }));
  }

}
