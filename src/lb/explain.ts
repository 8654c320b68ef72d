/**
 * `GET /explain`: where a request for a key (or a key range) goes. A read of a shard goes to one serving
 * replica, the owner of the request id's slot on that shard's ring (core/hash-ring.ts); a write, update or
 * delete goes to every serving replica under the shard's lock. The share of slots is each replica's chance of
 * a read, since request ids land evenly on the ring.
 */
import { fail } from '../core/errors.js';
import type { HashRing } from '../core/hash-ring.js';
import type { Cluster } from './cluster.js';

export interface ReplicaShare {
  server: string;
  /** the server's state (core/server-status.ts: starting, serving, fenced, recovering, gone) */
  state: string;
  serving: boolean;
  /** slots of the ring that route to it (0 when not serving), and that as a fraction of the ring */
  slots: number;
  share: number;
}

export interface KeyExplanation {
  key: number;
  shard: string;
  /** the shard's keys: [low, high] inclusive */
  range: { low: number; high: number };
  ring: { slots: number; vnodes: number };
  /** where a read of the key can go, with each replica's share of the ring */
  replicas: ReplicaShare[];
  /** where a write, update or delete of the key goes: every serving replica */
  writes_to: string[];
  /** the shard's primary (the only server writes go to); null when it has none, or without primaries (every serving replica takes writes) */
  primary: string | null;
  /** the request id the LB's next read will take */
  next_request_id: number;
  /** with a request id: its slot on the shard's ring and the replica it goes to */
  request?: { id: number; slot: number; server: string | null };
}

export interface RangeExplanation {
  low: number;
  high: number;
  /** the request id used (the LB's next one unless given) */
  request_id: number;
  shards: { shard: string; range: { low: number; high: number }; slot: number; server: string | null; serving: string[] }[];
}

/** Pure: slots of the ring per member (each slot routes to the next member slot clockwise). */
export function slotShares(ring: HashRing): Map<string, number> {
  const out = new Map<string, number>();
  for (let s = 0; s < ring.slots; s++) {
    const owner = ring.ownerOfSlot(s);
    if (owner !== undefined) out.set(owner, (out.get(owner) ?? 0) + 1);
  }
  return out;
}

export function explainKey(cluster: Cluster, key: number, requestId?: number): KeyExplanation {
  cluster.keyColumn(); // NOT_CONFIGURED first
  const def = cluster.topology()!.shards.find((s) => key >= s.Stud_id_low && key < s.Stud_id_low + s.Shard_size);
  if (!def) fail('KEY_OUT_OF_RANGE', `${cluster.keyColumn()} ${key} is outside every shard (shardctl status lists their key ranges)`);
  const view = cluster.shardView(def.Shard_id)!;
  const shares = slotShares(view.ring);
  const replicas = view.replicas.map((server) => {
    const slots = shares.get(server) ?? 0;
    return {
      server,
      state: cluster.serverView(server)?.status ?? 'gone',
      serving: view.ready.includes(server),
      slots,
      share: Math.round((slots / view.ring.slots) * 10_000) / 10_000,
    };
  });
  const out: KeyExplanation = {
    key,
    shard: def.Shard_id,
    range: { low: def.Stud_id_low, high: def.Stud_id_low + def.Shard_size - 1 },
    ring: { slots: view.ring.slots, vnodes: view.ring.vnodes },
    replicas,
    writes_to: view.primary ? [view.primary] : view.ready,
    primary: view.primary ?? null,
    next_request_id: cluster.nextRequestId,
  };
  if (requestId !== undefined) out.request = { id: requestId, slot: view.ring.slotOf(requestId), server: view.ring.get(requestId) ?? null };
  return out;
}

export function explainRange(cluster: Cluster, low: number, high: number, requestId?: number): RangeExplanation {
  cluster.keyColumn();
  if (low > high) fail('RANGE_INVERTED', `low (${low}) is greater than high (${high})`);
  const id = requestId ?? cluster.nextRequestId;
  const shards = cluster
    .topology()!
    .shards.filter((s) => s.Stud_id_low <= high && s.Stud_id_low + s.Shard_size - 1 >= low)
    .sort((a, b) => a.Stud_id_low - b.Stud_id_low)
    .map((s) => {
      const view = cluster.shardView(s.Shard_id)!;
      return {
        shard: s.Shard_id,
        range: { low: Math.max(low, s.Stud_id_low), high: Math.min(high, s.Stud_id_low + s.Shard_size - 1) },
        slot: view.ring.slotOf(id),
        server: view.ring.get(id) ?? null,
        serving: view.ready,
      };
    });
  return { low, high, request_id: id, shards };
}
