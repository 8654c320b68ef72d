/**
 * Membership plans for /init, /add and /rm: pure functions from the current topology and a parsed body to the
 * new topology. Randomness comes in as an argument (template names, random removals) so tests can fix it.
 */
import { pickRemovals } from './membership.js';
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
export function planRm(cur: Topology, b: RmBody, rand: Rand, serving?: Record<string, readonly string[]>, primaries: Readonly<Record<string, string>> = {}): RmPlan {
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
    // a primary only when no other server can go (each removed primary costs an election; membership.ts pickRemovals)
    const pick = Object.keys(primaries).length > 0 ? pickRemovals(cands, 1, primaries, rand)[0] : cands[rand(cands.length)];
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

// ---------------------------------------------------------------- dry runs (`--dry-run`, "dry_run": true)

/** What the LB knows now, for a dry run: its topology, rows per shard (its key index), serving replicas per shard. */
export interface ClusterFacts {
  topology?: Topology;
  rows: Record<string, number>;
  serving: Record<string, string[]>;
}

export interface ReplicaChange {
  /** configured replicas before and after */
  before: number;
  after: number;
  /** replicas serving reads and writes before, and once the change is done (a copy serves once it is filled) */
  serving_before: number;
  serving_after: number;
  /** with random removals: the fewest serving replicas the random picks can leave */
  serving_after_min?: number;
}

/**
 * What `/init`, `/add` or `/rm` would do, without doing it. Choices the real command makes at random are shown
 * as such: a template name (`Server[5]`) keeps its template with `random: true`, and `rm`'s random picks are
 * `random_stop` (how many, among which servers) rather than names.
 */
export interface ChangePlan {
  action: 'init' | 'add' | 'rm';
  dry_run: true;
  /** servers to start, with their shards */
  spawn: { server: string; random: boolean; shards: string[] }[];
  /** servers to stop (named ones; random picks are in random_stop) */
  stop: string[];
  random_stop: { count: number; among: string[] } | null;
  /** shards created empty */
  create: string[];
  /** shard copies to fill from a serving replica before they serve */
  copy: { shard: string; to: string; rows: number; from: string[] }[];
  /** shard copies that go away with their rows */
  drop: { shard: string; server: string; rows: number }[];
  /** rows copied to new replicas */
  rows_copied: number;
  /** rows deleted for good (init replaces the database; a forced rm of a last replica) */
  rows_lost: number;
  replicas: Record<string, ReplicaChange>;
  /** shards that would be left with no serving replica: their rows unreadable */
  unavailable: string[];
  N_before: number;
  N_after: number;
  /** the topology afterwards (template names as given) */
  topology: Topology;
  notes: string[];
}

function emptyPlan(action: ChangePlan['action'], facts: ClusterFacts, topology: Topology): ChangePlan {
  return {
    action,
    dry_run: true,
    spawn: [],
    stop: [],
    random_stop: null,
    create: [],
    copy: [],
    drop: [],
    rows_copied: 0,
    rows_lost: 0,
    replicas: {},
    unavailable: [],
    N_before: facts.topology ? Object.keys(facts.topology.servers).length : 0,
    N_after: Object.keys(topology.servers).length,
    topology,
    notes: [],
  };
}

const servingOf = (facts: ClusterFacts, shard: string) => facts.serving[shard] ?? [];

/** The plan of POST /init: the old cluster goes (every server stopped, every row dropped), the new one starts empty. */
export function planInitChange(facts: ClusterFacts, b: InitBody): ChangePlan {
  const topo = planInit(b);
  const p = emptyPlan('init', facts, topo);
  const old = facts.topology;
  if (old) {
    p.stop = Object.keys(old.servers);
    for (const [server, list] of Object.entries(old.servers))
      for (const shard of list) p.drop.push({ shard, server, rows: servingOf(facts, shard).includes(server) ? facts.rows[shard] ?? 0 : 0 });
    p.rows_lost = old.shards.reduce((n, s) => n + (facts.rows[s.Shard_id] ?? 0), 0);
    if (p.rows_lost > 0) p.notes.push(`init replaces the database: its ${p.rows_lost} rows are deleted`);
  }
  p.spawn = Object.entries(topo.servers).map(([server, shards]) => ({ server, random: false, shards: [...shards] }));
  p.create = topo.shards.map((s) => s.Shard_id);
  const counts = replicaCounts(topo);
  for (const s of topo.shards) {
    const id = s.Shard_id;
    const before = old?.shards.some((o) => o.Shard_id === id) ? replicaCounts(old).get(id) ?? 0 : 0;
    const servingBefore = before ? servingOf(facts, id).length : 0;
    p.replicas[id] = { before, after: counts.get(id)!, serving_before: servingBefore, serving_after: counts.get(id)! };
  }
  p.unavailable = topo.shards.filter((s) => counts.get(s.Shard_id) === 0).map((s) => s.Shard_id);
  return p;
}

/** The plan of POST /add: new servers started, new shards created on them, existing shards copied to them. */
export function planAddChange(facts: ClusterFacts, b: AddBody): ChangePlan {
  const cur = facts.topology ?? fail('NOT_CONFIGURED', 'Database is not configured; POST /init first');
  // the real ids of templates are random: plan with a fixed sequence for the checks, then show the templates
  let k = 0;
  const plan = planAdd(cur, b, (n) => k++ % n);
  const raws = Object.keys(b.servers);
  const shown = Object.keys(plan.added).map((name, i) => ({ name, raw: raws[i], random: /\[\d*\]$/.test(raws[i]) }));
  const servers = { ...cur.servers };
  for (const s of shown) servers[s.random ? s.raw : s.name] = [...plan.added[s.name]];
  const topology: Topology = { schema: cur.schema, shards: plan.topology.shards, servers };
  const p = emptyPlan('add', facts, topology);
  const fresh = new Set(plan.newShards.map((s) => s.Shard_id));
  p.create = [...fresh];
  for (const s of shown) {
    const server = s.random ? s.raw : s.name;
    p.spawn.push({ server, random: s.random, shards: [...plan.added[s.name]] });
    for (const shard of plan.added[s.name]) {
      if (fresh.has(shard)) continue;
      const rows = facts.rows[shard] ?? 0;
      p.copy.push({ shard, to: server, rows, from: servingOf(facts, shard) });
      p.rows_copied += rows;
    }
  }
  if (shown.some((s) => s.random)) p.notes.push('a template name like Server[5] becomes a fresh random id (Server<5 digits>) when the change is made');
  const before = replicaCounts(cur);
  const after = replicaCounts(plan.topology);
  for (const s of plan.topology.shards) {
    const id = s.Shard_id;
    const sb = fresh.has(id) ? 0 : servingOf(facts, id).length;
    const copies = (after.get(id) ?? 0) - (before.get(id) ?? 0);
    const copyable = fresh.has(id) || sb > 0 || (facts.rows[id] ?? 0) === 0;
    p.replicas[id] = { before: before.get(id) ?? 0, after: after.get(id)!, serving_before: sb, serving_after: sb + (copyable ? copies : 0) };
    if (!copyable && copies > 0) p.notes.push(`shard ${id} has no serving replica to copy from: its new copies cannot be filled and the add would fail`);
  }
  p.unavailable = Object.entries(p.replicas).filter(([, r]) => r.serving_after === 0).map(([id]) => id);
  return p;
}

/** The plan of DELETE /rm: the named servers stopped, and n minus that many picked at random when it runs. */
export function planRmChange(facts: ClusterFacts, b: RmBody): ChangePlan {
  const cur = facts.topology ?? fail('NOT_CONFIGURED', 'Database is not configured; POST /init first');
  // the same checks the real command makes (the random part too: it fails if no pick is possible)
  let k = 0;
  planRm(cur, b, (n) => k++ % n, facts.serving);
  const named = [...b.servers];
  const servers = { ...cur.servers };
  for (const s of named) delete servers[s];
  const p = emptyPlan('rm', facts, { ...cur, servers });
  p.stop = named;
  p.N_after = Object.keys(cur.servers).length - b.n;
  const randomCount = b.n - named.length;
  const left = replicaCounts({ ...cur, servers });
  if (randomCount > 0) {
    // the candidates planRm picks from: servers whose removal leaves every shard a serving replica (unless forced)
    const servingLeft = new Map(cur.shards.map((s) => [s.Shard_id, new Set(servingOf(facts, s.Shard_id).filter((x) => !named.includes(x)))]));
    const keeps = (srv: string, sh: string) => {
      const l = servingLeft.get(sh)!;
      return l.has(srv) ? l.size > 1 : l.size > 0;
    };
    const among = Object.keys(servers).filter((s) => b.force || servers[s].every((sh) => keeps(s, sh)));
    p.random_stop = { count: randomCount, among };
    p.notes.push(`${randomCount} more server${randomCount > 1 ? 's are' : ' is'} picked at random when the change is made, among ${among.join(', ')}`);
  }
  const before = replicaCounts(cur);
  for (const s of cur.shards) {
    const id = s.Shard_id;
    const serving = servingOf(facts, id);
    const servingAfter = serving.filter((x) => !named.includes(x)).length;
    const r: ReplicaChange = { before: before.get(id)!, after: left.get(id)!, serving_before: serving.length, serving_after: servingAfter };
    if (p.random_stop) {
      // the worst the random picks can do: every candidate holding this shard, as many as are picked
      const holders = p.random_stop.among.filter((x) => servers[x].includes(id) && serving.includes(x)).length;
      r.serving_after_min = Math.max(0, servingAfter - Math.min(randomCount, holders));
    }
    p.replicas[id] = r;
  }
  for (const server of named)
    for (const shard of cur.servers[server]) p.drop.push({ shard, server, rows: servingOf(facts, shard).includes(server) ? facts.rows[shard] ?? 0 : 0 });
  for (const [id, r] of Object.entries(p.replicas)) {
    if (r.after === 0) p.rows_lost += facts.rows[id] ?? 0;
    if (r.serving_after === 0 || r.serving_after_min === 0) p.unavailable.push(id);
  }
  if (p.rows_lost > 0) p.notes.push(`forced: ${p.rows_lost} rows lose their last replica and are deleted`);
  return p;
}
