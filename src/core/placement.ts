/**
 * Replica placement for /init and /add when the caller names fewer servers than N: new servers are named
 * Server<k> (smallest free k) and given the shards with the fewest replicas, so replicas spread evenly. Pure.
 */
export interface PlacementInput {
  shardIds: readonly string[];
  /** the placement the caller gave (or the cluster has); not modified */
  servers: Readonly<Record<string, readonly string[]>>;
  /** total servers wanted */
  n: number;
  /** replicas per shard wanted (capped at n) */
  replicas: number;
}

export function planPlacement(input: PlacementInput): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(input.servers)) out[k] = [...v];
  const missing = input.n - Object.keys(out).length;
  if (missing <= 0 || input.shardIds.length === 0) return out;
  const count = new Map<string, number>(input.shardIds.map((s) => [s, 0]));
  for (const list of Object.values(out)) for (const s of list) count.set(s, (count.get(s) ?? 0) + 1);
  const r = Math.max(1, Math.min(input.replicas, input.n));
  let need = 0;
  for (const c of count.values()) need += Math.max(0, r - c);
  const perServer = Math.max(1, Math.ceil(need / missing));
  const used = new Set(Object.keys(out));
  let k = 0;
  for (let m = 0; m < missing; m++) {
    while (used.has(`Server${k}`)) k++;
    const name = `Server${k}`;
    used.add(name);
    // fewest replicas first, ties in the shards' own order: deterministic and even
    const order = [...input.shardIds].sort((a, b) => count.get(a)! - count.get(b)! || input.shardIds.indexOf(a) - input.shardIds.indexOf(b));
    // only shards still short of r replicas; a server that would get none still takes the least replicated one
    let mine = order.filter((s) => count.get(s)! < r).slice(0, perServer);
    if (mine.length === 0) mine = order.slice(0, 1);
    for (const s of mine) count.set(s, count.get(s)! + 1);
    out[name] = input.shardIds.filter((s) => mine.includes(s));
  }
  return out;
}
