/**
 * What the LB's parts share: the collaborators (runtime, client, log, events, clock) and the two state owners,
 * the topology (schema, shard map, one Shard per shard; changed only by membership and resume) and the server
 * table (changed only through ServerTable.apply). Every part gets this object; none keeps its own copy.
 */
import { fail } from '../core/errors.js';
import type { Rand } from '../core/plans.js';
import { ShardMap, type ShardDef } from '../core/shard-map.js';
import type { Schema } from '../core/table.js';
import type { Logger } from '../shared/log.js';
import { Mutex } from '../shared/mutex.js';
import type { ServerRuntime } from '../runtime/runtime.js';
import type { EventLog } from './events.js';
import type { MetaStore, PersistedState } from './metadata.js';
import type { Coalescer } from './coalescer.js';
import { ServerTable } from './servers.js';
import type { Settings } from './settings.js';
import type { Shard } from './shard.js';

export class Topo {
  schema: Schema | undefined;
  map: ShardMap = new ShardMap([]);
  readonly shards = new Map<string, Shard>();
  /** grows with every /init: work started under an older generation stops at its next await */
  generation = 0;
  /** set while /init replaces the cluster or a resume has not finished: data requests get a 503 saying why */
  unavailable: string | undefined;

  requireSchema(): Schema {
    if (this.unavailable) fail('NO_REPLICA', this.unavailable);
    return this.schema ?? fail('NOT_CONFIGURED', 'Database is not configured; POST /init first');
  }

  shard(id: string): Shard | undefined {
    return this.shards.get(id);
  }

  /** The shard a key belongs to, as routed now (a shard being added is not routed until /add finished). */
  shardOf(key: number): Shard | undefined {
    const d = this.map.find(key);
    return d && this.shards.get(d.Shard_id);
  }

  defs(): readonly ShardDef[] {
    return this.map.shards;
  }
}

export interface LbContext {
  readonly s: Settings;
  readonly log: Logger;
  readonly runtime: ServerRuntime;
  /** the one way to reach a server (data calls coalesced) */
  readonly client: Coalescer;
  readonly events: EventLog;
  readonly meta?: MetaStore;
  readonly now: () => number;
  readonly rand: Rand;
  readonly topo: Topo;
  readonly servers: ServerTable;
  /** membership changes and every runtime spawn/stop are serialised by this mutex (lock order: it, then a shard's lock) */
  readonly membership: Mutex;
  /** client data requests in flight (the coalescer's and the executors' linger) */
  inflight: number;
  closed: boolean;
  /** servers of an /add that has not committed: never saved (an LB restart must not make a half-done /add permanent) */
  readonly uncommitted: Set<string>;
}

export function persistedState(c: LbContext): PersistedState | undefined {
  const t = c.topo;
  if (!t.schema) return undefined;
  const servers: Record<string, string[]> = {};
  const listed = c.servers.list().filter((e) => !c.uncommitted.has(e.name));
  const stores: Record<string, string> = {};
  for (const e of listed) {
    servers[e.name] = [...e.shards];
    if (e.storeId) stores[e.name] = e.storeId;
  }
  const primaries: Record<string, string> = {};
  const terms: Record<string, number> = {};
  const written: string[] = [];
  for (const [id, sh] of t.shards) {
    if (sh.lead.primary) primaries[id] = sh.lead.primary;
    terms[id] = sh.lead.term;
    if (sh.lead.written) written.push(id);
  }
  return {
    schema: t.schema,
    shards: t.map.shards.map((s) => ({ ...s, valid_idx: t.shards.get(s.Shard_id)?.validIdx ?? 0 })),
    servers,
    stale: listed.filter((e) => e.status !== 'serving').map((e) => e.name),
    primaries,
    terms,
    stores,
    written,
  };
}

/**
 * Saves the topology after a membership change or an election (never on the request path). `evenIfUnavailable`:
 * an election's term is saved also while /init or a resume runs (a restarted LB must never reuse a term).
 * False when the save failed (logged): a caller whose safety depends on the record refuses instead.
 */
export function persist(c: LbContext, evenIfUnavailable = false): boolean {
  if (!c.meta || (c.topo.unavailable && !evenIfUnavailable)) return true;
  try {
    c.meta.save(persistedState(c));
    return true;
  } catch (e) {
    c.log.error('cannot save metadata', { err: String(e) });
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
