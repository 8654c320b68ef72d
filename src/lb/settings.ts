/**
 * The LB's settings: every default in one place, and how each is read from the environment (which `shardctl up`
 * sets). `readSettings(env)` is pure over the environment it is given.
 */
import type { RingHash } from '../core/hash-ring.js';

export interface Settings {
  ring: { slots?: number; vnodes?: number; hash?: RingHash };
  heartbeat: { intervalMs: number; timeoutMs: number; misses: number };
  /** how long a spawned server may take to answer /heartbeat */
  spawnTimeoutMs: number;
  /** how long /rm waits for the replicas a shard keeps to hold its whole log before it refuses (lb/voter-change.ts) */
  rmCatchUpMs: number;
  /**
   * primaries move to spread again once every server has served and every shard had its primary this long
   * (Primaries.rebalance, one move at a time); 0: never
   */
  rebalanceQuietMs: number;
  /** first and longest wait between respawn attempts (they go on until the server serves or is removed) */
  retryBaseMs: number;
  retryMaxMs: number;
  /** most rows in one coalesced upstream write */
  maxBatchRows: number;
  /** rows per /write when copying a shard back */
  copyChunkRows: number;
  /** coalescing: with this many client requests in flight, upstream calls linger lingerMs to gather more */
  lingerAt: number;
  lingerMs: number;
  /** upstream read / write calls in flight per server at most (the pipes' depths) */
  readDepth: number;
  writeDepth: number;
  /** linger of a read call under load (0: none) */
  readLingerMs: number;
  /** false: a failed server is fenced but not recovered (tests of fencing alone) */
  autoRecover: boolean;
  /**
   * true: a primary per shard (core/REPLICATION.md: writes to the primary with its term, elections by the LB);
   * false: assignment 2's path (every serving replica written by the LB, undone on failure)
   */
  primaries: boolean;
}

export const DEFAULTS: Settings = {
  ring: {},
  heartbeat: { intervalMs: 500, timeoutMs: 500, misses: 3 },
  spawnTimeoutMs: 30_000,
  rmCatchUpMs: 5_000,
  rebalanceQuietMs: 10_000,
  retryBaseMs: 200,
  retryMaxMs: 5_000,
  maxBatchRows: 5000,
  copyChunkRows: 5000,
  lingerAt: 8,
  lingerMs: 1,
  readDepth: 1,
  writeDepth: 1,
  readLingerMs: 0,
  autoRecover: true,
  primaries: true,
};

export type SettingsInput = Partial<Omit<Settings, 'heartbeat'>> & { heartbeat?: Partial<Settings['heartbeat']> };

export function resolveSettings(s: SettingsInput = {}): Settings {
  const out = { ...DEFAULTS };
  for (const [k, v] of Object.entries(s)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  out.heartbeat = { ...DEFAULTS.heartbeat, ...stripUndefined(s.heartbeat ?? {}) };
  return out;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The environment variables the LB reads, with the setting each fills (README "Tuning" lists them). */
export function readSettings(env: NodeJS.ProcessEnv): SettingsInput {
  const num = (k: string): number | undefined => (env[k] !== undefined && env[k] !== '' ? Number(env[k]) : undefined);
  return {
    ring: { slots: num('SHARDCTL_RING_SLOTS'), vnodes: num('SHARDCTL_RING_VNODES') },
    heartbeat: { intervalMs: num('SHARDCTL_HB_INTERVAL_MS'), timeoutMs: num('SHARDCTL_HB_TIMEOUT_MS'), misses: num('SHARDCTL_HB_MISSES') },
    spawnTimeoutMs: num('SHARDCTL_SPAWN_TIMEOUT_MS'),
    rmCatchUpMs: num('SHARDCTL_RM_CATCH_UP_MS'),
    rebalanceQuietMs: num('SHARDCTL_REBALANCE_QUIET_MS'),
    maxBatchRows: num('SHARDCTL_MAX_BATCH_ROWS'),
    lingerAt: num('SHARDCTL_LINGER_AT'),
    lingerMs: num('SHARDCTL_LINGER_MS'),
    readDepth: num('SHARDCTL_READ_DEPTH'),
    writeDepth: num('SHARDCTL_WRITE_DEPTH'),
    readLingerMs: num('SHARDCTL_READ_LINGER_MS'),
    primaries: env.SHARDCTL_PRIMARIES === undefined || env.SHARDCTL_PRIMARIES === '' ? undefined : env.SHARDCTL_PRIMARIES !== '0',
  };
}
