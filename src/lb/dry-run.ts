/**
 * `"dry_run": true` on /init, /add and /rm: the plan from core/plans.ts over what the LB knows now (topology,
 * rows per shard from its key index, serving replicas), with nothing changed.
 */
import { planAddChange, planInitChange, planRmChange, type ChangePlan, type ClusterFacts } from '../core/plans.js';
import type { AddBody, InitBody, RmBody } from '../core/schemas.js';
import type { Cluster } from './cluster.js';

export function clusterFacts(cluster: Cluster): ClusterFacts {
  const topology = cluster.topology();
  const rows: Record<string, number> = {};
  const serving: Record<string, string[]> = {};
  for (const s of topology?.shards ?? []) {
    const v = cluster.shardView(s.Shard_id);
    rows[s.Shard_id] = v?.rows ?? 0;
    serving[s.Shard_id] = v?.ready ?? [];
  }
  return { topology, rows, serving };
}

export function dryRunInit(cluster: Cluster, b: InitBody): ChangePlan {
  return planInitChange(clusterFacts(cluster), b);
}
export function dryRunAdd(cluster: Cluster, b: AddBody): ChangePlan {
  return planAddChange(clusterFacts(cluster), b);
}
export function dryRunRm(cluster: Cluster, b: RmBody): ChangePlan {
  return planRmChange(clusterFacts(cluster), b);
}
