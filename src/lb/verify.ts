/**
 * `GET /verify`: are a shard's replicas identical? For every shard, each replica's row count and digest (SHA-1
 * over its rows in key order, the servers' /digest) is taken inside the shard's executor, so every replica is
 * read at the same position of the shard's order: no write is half-applied while they are compared, and the
 * answer does not flap under load. The comparison itself is pure (compareReplicas) and table-tested.
 */
import type { ShardDigest } from './shard-client.js';
import type { Cluster } from './cluster.js';

/** agree: in the reference group; differs: another digest; unreachable: /digest failed; not-serving: fenced, starting or recovering (not compared). */
export type ReplicaVerdict = 'agree' | 'differs' | 'unreachable' | 'not-serving';

export interface ReplicaCheck {
  server: string;
  verdict: ReplicaVerdict;
  rows?: number;
  digest?: string;
  error?: string;
}

export interface ShardCheck {
  shard: string;
  /** the LB's key index: the rows every serving replica should hold (null when the LB does not know it yet) */
  lb_rows: number | null;
  /** true when every serving replica agrees (with each other and with lb_rows) */
  ok: boolean;
  /** one line when not ok: what differs and where */
  problem?: string;
  replicas: ReplicaCheck[];
}

export interface VerifyReport {
  ok: boolean;
  shards: ShardCheck[];
  /** the servers of every shard that is not ok, for scripts */
  bad: { shard: string; servers: string[] }[];
}

export interface ReplicaProbe {
  server: string;
  serving: boolean;
  /** undefined with an error: the replica did not answer */
  digest?: ShardDigest;
  error?: string;
}

/**
 * Pure: the verdict for one shard. The reference is the largest group of serving replicas with one digest; a tie
 * is broken by the group whose row count matches the LB's key index (then by that group's first replica, in
 * replica order). Every serving replica outside the reference differs; one that did not answer is unreachable.
 * The shard is ok when at least one replica serves, every serving one answered and agrees, and the count equals
 * the LB's index.
 */
export function compareReplicas(shard: string, lbRows: number | null, probes: readonly ReplicaProbe[]): ShardCheck {
  const groups = new Map<string, { members: string[]; rows: number }>();
  for (const p of probes) {
    if (!p.serving || !p.digest) continue;
    const g = groups.get(p.digest.digest) ?? { members: [], rows: p.digest.count };
    g.members.push(p.server);
    groups.set(p.digest.digest, g);
  }
  const ordered = [...groups.entries()].sort(
    ([, a], [, b]) => b.members.length - a.members.length || Number(b.rows === lbRows) - Number(a.rows === lbRows),
  );
  const ref = ordered[0];
  const replicas: ReplicaCheck[] = probes.map((p) => {
    if (!p.serving) return { server: p.server, verdict: 'not-serving' };
    if (!p.digest) return { server: p.server, verdict: 'unreachable', error: p.error };
    const verdict = p.digest.digest === ref?.[0] ? 'agree' : 'differs';
    return { server: p.server, verdict, rows: p.digest.count, digest: p.digest.digest };
  });
  const serving = replicas.filter((r) => r.verdict !== 'not-serving');
  const differs = replicas.filter((r) => r.verdict === 'differs').map((r) => r.server);
  const unreachable = replicas.filter((r) => r.verdict === 'unreachable').map((r) => r.server);
  let problem: string | undefined;
  if (serving.length === 0) problem = `shard ${shard} has no serving replica`;
  else if (differs.length) problem = `shard ${shard}: ${differs.join(', ')} ${differs.length > 1 ? 'differ' : 'differs'} from ${ref![1].members.join(', ')}`;
  else if (unreachable.length) problem = `shard ${shard}: ${unreachable.join(', ')} did not answer`;
  else if (ref && lbRows !== null && ref[1].rows !== lbRows) problem = `shard ${shard}: every replica holds ${ref[1].rows} rows but the LB's key index has ${lbRows}`;
  return { shard, lb_rows: lbRows, ok: problem === undefined, ...(problem ? { problem } : {}), replicas };
}

/** Pure: the report from the per-shard checks. */
export function summarise(shards: ShardCheck[]): VerifyReport {
  const bad = shards
    .filter((s) => !s.ok)
    .map((s) => {
      const named = s.replicas.filter((r) => r.verdict === 'differs' || r.verdict === 'unreachable').map((r) => r.server);
      return { shard: s.shard, servers: named.length ? named : s.replicas.map((r) => r.server) };
    });
  return { ok: bad.length === 0, shards, bad };
}

/**
 * Checks the given shards (all by default), in parallel across shards, each inside its own executor. Does not
 * fence or repair anything: it only reports.
 */
export async function verifyCluster(cluster: Cluster, shards?: string[], timeoutMs = 5_000): Promise<VerifyReport> {
  cluster.keyColumn(); // NOT_CONFIGURED first
  const ids = shards ?? (cluster.topology()?.shards.map((s) => s.Shard_id) ?? []);
  const checks = await Promise.all(
    ids.map((id) =>
      cluster.withShardLock(id, async (view) => {
        const probes = await Promise.all(
          view.replicas.map(async (server): Promise<ReplicaProbe> => {
            const serving = view.ready.includes(server);
            if (!serving) return { server, serving };
            try {
              // a replica learns a commit a moment after the primary answered: compare at the acknowledged position
              await cluster.caughtUp(server, id, 1000);
              const d = (await withTimeout(cluster.digest(server, [id]), timeoutMs))[id];
              return d ? { server, serving, digest: d } : { server, serving, error: 'no such shard on the server' };
            } catch (e) {
              return { server, serving, error: e instanceof Error ? e.message : String(e) };
            }
          }),
        );
        return compareReplicas(id, view.indexed ? view.rows : null, probes);
      }),
    ),
  );
  return summarise(checks);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** After every completed recovery: verify the recovered server's shards and record the outcome as an event. */
export function verifyAfterRecovery(cluster: Cluster): void {
  cluster.onRecovered((server, shards) => {
    void verifyCluster(cluster, shards.filter((s) => cluster.shardView(s)))
      .then((r) =>
        cluster.events.add({
          kind: r.ok ? 'verified' : 'verify-failed',
          server,
          detail: r.ok ? `replicas of ${shards.join(',')} agree` : r.shards.filter((s) => !s.ok).map((s) => s.problem).join('; '),
        }),
      )
      .catch((e) => cluster.events.add({ kind: 'verify-failed', server, detail: `verify could not run: ${(e as Error).message}` }));
  });
}
