/**
 * What the console shows, built from the cluster's public views (status(), details(), events): the shard x
 * server grid with each replica's state in the LB's own words (those of `shardctl status`), the servers with
 * uptime (heartbeat ages change every beat, so they travel with the per-second metrics instead), incidents with the events that belong to them, the configuration and the LB itself.
 * Pure: the cluster's views and the clock come in as arguments, so it is tested without a cluster.
 */
import type { ClusterEvent, Incident } from '../events.js';

/** The parts of Cluster.details() the console reads (the same fields `shardctl status` reads). */
export interface DetailsView {
  configured: boolean;
  /** why data requests are refused right now (the LB is re-initialising or resuming) */
  unavailable?: string;
  servers: { name: string; status: string; url?: string; shards: string[]; stale?: boolean; lastSeen?: number; failures?: number; lastError?: string }[];
  shards: { Shard_id: string; Stud_id_low: number; Shard_size: number; replicas: string[]; serving: string[]; rows?: number; orphaned?: boolean; primary?: string }[];
}

/** GET /status as the cluster answers it; `primaries` once primaries exist (API.md: /status gains it). */
export interface StatusView {
  N: number;
  schema: { columns: string[]; dtypes: string[] } | null;
  shards: { Stud_id_low: number; Shard_id: string; Shard_size: number }[];
  servers: Record<string, string[]>;
  primaries?: Record<string, string>;
}

export interface LbInfo {
  version: string;
  runtime: string;
  cluster: string;
  /** epoch ms the LB process started */
  startedAt: number;
  /** the console may kill, add and remove servers (`shardctl up --console-actions`) */
  actions: boolean;
  /** failure detection and ring settings, as shown on the page */
  settings: Record<string, string | number>;
}

/** A replica's state: serving, or why not, in the words of `shardctl status` (its server's ServerStatus). */
export type ReplicaState = string;

export interface ConsoleState {
  /** the LB's clock when this was built (epoch ms): ages and uptimes are computed against it */
  now: number;
  lb: LbInfo;
  configured: boolean;
  N: number;
  schema: StatusView['schema'];
  servers: {
    name: string;
    state: string;
    serving: boolean;
    address: string;
    shards: string[];
    stale: boolean;
    /** failed recovery attempts and the last error, as `shardctl status` shows them */
    note: string;
    /** epoch ms it (or its latest replacement) was spawned, when the event log still has it */
    upSince: number | null;
  }[];
  shards: {
    id: string;
    low: number;
    /** inclusive */
    high: number;
    rows: number | null;
    primary: string | null;
    replicas: { server: string; state: ReplicaState; serving: boolean; primary: boolean }[];
    servingCount: number;
    orphaned: boolean;
  }[];
  incidents: (Incident & { steps: ClusterEvent[] })[];
  /** the newest events, newest last */
  events: ClusterEvent[];
  /** a one-line verdict for the top of the page */
  summary: { level: 'ok' | 'warn' | 'bad' | 'idle'; text: string };
}

/** The replica's state word: `serving` when it is in the shard's serving set, else its server's state. */
export function replicaState(serving: boolean, serverState: string | undefined): ReplicaState {
  if (serving) return 'serving';
  if (serverState === undefined) return 'gone';
  // a serving server whose replica of this shard is not in the ready set yet is being filled (a shard /add placed on it)
  return serverState === 'serving' ? 'recovering' : serverState;
}

const SERVING_WORDS = new Set(['serving']);

export function buildConsoleState(
  now: number,
  lb: LbInfo,
  status: StatusView,
  details: DetailsView,
  events: readonly ClusterEvent[],
  incidents: readonly Incident[],
  opts: { maxEvents?: number; maxIncidents?: number } = {},
): ConsoleState {
  const upSince = new Map<string, number>();
  for (const e of events) if (e.server && (e.kind === 'spawned' || e.kind === 'resumed-server')) upSince.set(e.server, e.t);
  const stateOf = new Map(details.servers.map((s) => [s.name, s.status]));
  const primaries = status.primaries ?? {};
  const servers = details.servers.map((s) => ({
    name: s.name,
    state: s.status,
    serving: SERVING_WORDS.has(s.status),
    address: s.url ?? '',
    shards: s.shards,
    stale: !!s.stale,
    note: s.failures ? `${s.failures} failed attempts: ${s.lastError ?? ''}` : (s.status !== 'serving' && s.lastError) || '',
    upSince: SERVING_WORDS.has(s.status) ? (upSince.get(s.name) ?? null) : null,
  }));
  const shards = details.shards.map((d) => {
    const primary = d.primary ?? primaries[d.Shard_id] ?? null;
    const replicas = d.replicas.map((r) => {
      const serving = d.serving.includes(r);
      return { server: r, state: replicaState(serving, stateOf.get(r)), serving, primary: r === primary };
    });
    return {
      id: d.Shard_id,
      low: d.Stud_id_low,
      high: d.Stud_id_low + d.Shard_size - 1,
      rows: d.rows ?? null,
      primary,
      replicas,
      servingCount: d.serving.length,
      orphaned: d.orphaned ?? d.serving.length === 0,
    };
  });
  const maxInc = opts.maxIncidents ?? 20;
  const recent = incidents.slice(-maxInc);
  const withSteps = recent.map((inc) => ({
    ...inc,
    steps: events.filter((e) => e.server === inc.server && e.t >= inc.detectedAt && (inc.servingAt === undefined || e.t <= inc.servingAt + 1) && e.kind !== 'detected'),
  }));
  return {
    now,
    lb,
    configured: details.configured,
    N: status.N,
    schema: status.schema,
    servers,
    shards,
    incidents: withSteps,
    events: events.slice(-(opts.maxEvents ?? 40)),
    summary: details.unavailable ? { level: 'warn', text: details.unavailable } : summarise(details.configured, servers, shards),
  };
}

/** The verdict at the top of the page: is the cluster whole, degraded, or losing data? */
export function summarise(
  configured: boolean,
  servers: { name: string; state: string; serving: boolean }[],
  shards: { id: string; replicas: unknown[]; servingCount: number; orphaned: boolean }[],
): ConsoleState['summary'] {
  if (!configured) return { level: 'idle', text: 'No database configured yet: run `shardctl init`.' };
  const orphaned = shards.filter((s) => s.orphaned).map((s) => s.id);
  const notServing = servers.filter((s) => !s.serving);
  const degraded = shards.filter((s) => !s.orphaned && s.servingCount < s.replicas.length).map((s) => s.id);
  if (orphaned.length)
    return { level: 'bad', text: `Shard${orphaned.length > 1 ? 's' : ''} ${orphaned.join(', ')} ha${orphaned.length > 1 ? 've' : 's'} no serving replica: their rows are unavailable.` };
  if (notServing.length || degraded.length) {
    const who = notServing.map((s) => `${s.name} (${s.state})`).join(', ');
    return {
      level: 'warn',
      text: `${notServing.length ? `Not serving: ${who}. ` : ''}${degraded.length ? `Shard${degraded.length > 1 ? 's' : ''} ${degraded.join(', ')} run${degraded.length > 1 ? '' : 's'} on fewer replicas than placed.` : ''}`.trim(),
    };
  }
  return { level: 'ok', text: `All ${servers.length} servers and ${shards.length} shards are serving, every replica in place.` };
}
