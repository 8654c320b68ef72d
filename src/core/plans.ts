/**
 * Membership plans for /init, /add and /rm: pure functions from the current topology and a parsed body to the
 * new topology. Randomness comes in as an argument (template names, random removals) so tests can fix it.
 */
import { ApiError, fail } from './errors.js';
import { checkShards, type ShardDef } from './shard-map.js';
import { planPlacement } from './placement.js';
import type { Schema } from './table.js';
import type { AddBody, InitBody, RmBody } from './schemas.js';

export interface Topology {
  schema: Schema;
  shards: ShardDef[];
  /** server name -> the shards it holds */
  servers: Record<string, string[]>;
}

/** A random integer in [0, n). */
export type Rand = (n: number) => number;

export const DEFAULT_REPLICAS = 3;

export function planInit(b: InitBody): Topology {
  checkShards(b.shards);
  const ids = b.shards.map((s) => s.Shard_id);
  const names = Object.keys(b.servers);
  if (names.length > b.N)
    fail('BAD_CONFIG', `servers names ${names.length} servers but N is ${b.N}`);
  for (const n of names) {
    if (/[[\]]/.test(n)) fail('BAD_CONFIG', `server name ${n}: templates like Server[5] are for /add only`);
    checkServerShards(n, b.servers[n], new Set(ids));
  }
  const servers = planPlacement({ shardIds: ids, servers: b.servers, n: b.N, replicas: b.replicas ?? DEFAULT_REPLICAS });
  const topo = { schema: b.schema, shards: b.shards, servers };
  const orphan = ids.find((id) => !Object.values(servers).some((l) => l.includes(id)));
  if (orphan) fail('BAD_CONFIG', `Shard ${orphan} is placed on no server`);
  return topo;
}

function checkServerShards(name: string, list: readonly string[], known: Set<string>): void {
  const seen = new Set<string>();
  for (const s of list) {
    if (!known.has(s)) fail('UNKNOWN_SHARD', `Shard ${s} (on ${name}) is not defined`);
    if (seen.has(s)) fail('BAD_CONFIG', `${name} lists shard ${s} twice`);
    seen.add(s);
  }
}

/** "Server4" -> "Server:4", as the assignment's /add message writes it. */
export function addLabel(name: string): string {
  const m = /^(.*?)(\d+)$/.exec(name);
  return m ? `${m[1]}:${m[2]}` : `Server:${name}`;
}

export function joinAnd(parts: string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

export interface AddPlan {
  /** new server name -> its shards */
  added: Record<string, string[]>;
  newShards: ShardDef[];
  topology: Topology;
  message: string;
}

export function planAdd(cur: Topology, b: AddBody, rand: Rand): AddPlan {
  const names = Object.keys(b.servers);
  if (b.n > names.length) fail('TOO_FEW_NEW_SERVERS', 'Number of new servers (n) is greater than newly added instances');
  if (b.n < names.length)
    fail('INVALID_FIELD', `Number of new servers (n = ${b.n}) is less than the ${names.length} servers listed`);
  const shards = [...cur.shards, ...b.new_shards];
  checkShards(shards);
  const known = new Set(shards.map((s) => s.Shard_id));
  const taken = new Set(Object.keys(cur.servers));
  const added: Record<string, string[]> = {};
  for (const raw of names) {
    let name = raw;
    const tpl = /^(.*)\[(\d*)\]$/.exec(raw);
    if (tpl) {
      // a template: a fresh random id the cluster has not used (API.md, /add)
      let tries = 0;
      do {
        name = `${tpl[1]}${10000 + rand(90000)}`;
        if (++tries > 1000) fail('INTERNAL', 'could not pick a fresh server id');
      } while (taken.has(name));
    } else if (/[[\]]/.test(raw)) {
      fail('INVALID_FIELD', `server name ${raw} is not a name or a template like Server[5]`);
    }
    if (taken.has(name)) fail('SERVER_EXISTS', `Server ${name} already exists`);
    checkServerShards(name, b.servers[raw], known);
    taken.add(name);
    added[name] = [...b.servers[raw]];
  }
  for (const s of b.new_shards)
    if (!Object.values(added).some((l) => l.includes(s.Shard_id)))
      fail('BAD_CONFIG', `New shard ${s.Shard_id} is placed on no server`);
  const topology: Topology = { schema: cur.schema, shards, servers: { ...cur.servers, ...added } };
  return { added, newShards: b.new_shards, topology, message: `Add ${joinAnd(Object.keys(added).map(addLabel))}` };
}

export interface RmPlan {
  removed: string[];
  topology: Topology;
}

/**
 * `serving` (shard -> its serving replicas) is what a removal is judged by: a shard must keep a replica that holds
 * every acknowledged change, not merely a placed one (a fenced or recovering replica is no source). Without it,
 * every placed replica counts as serving.
 */
export function planRm(cur: Topology, b: RmBody, rand: Rand, serving?: Record<string, readonly string[]>): RmPlan {
  if (b.servers.length > b.n) fail('TOO_MANY_TO_REMOVE', 'Length of server list is more than removable instances');
  const all = Object.keys(cur.servers);
  const seen = new Set<string>();
  for (const s of b.servers) {
    if (!(s in cur.servers)) throw new ApiError('UNKNOWN_SERVER', `<Error> Server ${s} is not in the cluster`, 400);
    if (seen.has(s)) fail('INVALID_FIELD', `servers lists ${s} twice`);
    seen.add(s);
  }
  if (b.n > all.length) fail('TOO_MANY_TO_REMOVE', `Cannot remove ${b.n} servers: the cluster has ${all.length}`);
  const left = new Map<string, Set<string>>();
  for (const sh of cur.shards) {
    const placed = Object.keys(cur.servers).filter((n) => cur.servers[n].includes(sh.Shard_id));
    left.set(sh.Shard_id, new Set(serving ? placed.filter((n) => serving[sh.Shard_id]?.includes(n)) : placed));
  }
  const take = (srv: string) => {
    for (const sh of cur.servers[srv]) left.get(sh)?.delete(srv);
  };
  const removed = [...b.servers];
  for (const s of removed) take(s);
  if (!b.force) {
    const lost = [...left].find(([, set]) => set.size === 0);
    if (lost) {
      const why = serving ? 'serving replica' : 'replica';
      fail('LAST_REPLICA', `Removing ${removed.join(', ')} would leave shard ${lost[0]} with no ${why} (its rows would be gone); wait for its other replicas to serve, or pass "force": true`);
    }
  }
  // the rest at random, among servers whose removal leaves every shard a serving replica (unless forced)
  while (removed.length < b.n) {
    const cands = all.filter((s) => !removed.includes(s) && (b.force || cur.servers[s].every((sh) => keepsOne(left.get(sh), s))));
    if (cands.length === 0)
      fail('LAST_REPLICA', `Cannot pick ${b.n - removed.length} more servers without removing the last serving replica of a shard`);
    const pick = cands[rand(cands.length)];
    take(pick);
    removed.push(pick);
  }
  const servers = { ...cur.servers };
  for (const s of removed) delete servers[s];
  return { removed, topology: { ...cur, servers } };
}

/** Does a shard still have a serving replica once `srv` is gone? */
function keepsOne(left: Set<string> | undefined, srv: string): boolean {
  const n = left?.size ?? 0;
  return left?.has(srv) ? n > 1 : n > 0;
}

export function replicaCounts(t: Topology): Map<string, number> {
  const m = new Map<string, number>(t.shards.map((s) => [s.Shard_id, 0]));
  for (const list of Object.values(t.servers)) for (const s of list) m.set(s, (m.get(s) ?? 0) + 1);
  return m;
}
