/**
 * Shard routing: which shard holds a key, which shards a range overlaps. A shard covers
 * [Stud_id_low, Stud_id_low + Shard_size) (API.md, "The table"). Pure.
 */
import { fail } from './errors.js';

export interface ShardDef {
  Stud_id_low: number;
  Shard_id: string;
  Shard_size: number;
}

export class ShardMap {
  /** sorted by Stud_id_low */
  readonly shards: readonly ShardDef[];
  private readonly lows: Float64Array;
  private readonly byId: Map<string, ShardDef>;

  constructor(shards: readonly ShardDef[]) {
    checkShards(shards);
    this.shards = [...shards].sort((a, b) => a.Stud_id_low - b.Stud_id_low);
    this.lows = Float64Array.from(this.shards.map((s) => s.Stud_id_low));
    this.byId = new Map(this.shards.map((s) => [s.Shard_id, s]));
  }

  get(id: string): ShardDef | undefined {
    return this.byId.get(id);
  }

  /** The shard holding `key`, or undefined when no shard covers it. O(log shards). */
  find(key: number): ShardDef | undefined {
    let lo = 0;
    let hi = this.lows.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.lows[mid] <= key) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0) return undefined;
    const s = this.shards[best];
    return key < s.Stud_id_low + s.Shard_size ? s : undefined;
  }

  /** Shards overlapping [low, high] (both inclusive), in key order. */
  overlapping(low: number, high: number): ShardDef[] {
    const out: ShardDef[] = [];
    for (const s of this.shards) {
      if (s.Stud_id_low > high) break;
      if (s.Stud_id_low + s.Shard_size - 1 >= low) out.push(s);
    }
    return out;
  }
}

/** Rejects repeated shard ids and overlapping key ranges (API.md, /init details). */
export function checkShards(shards: readonly ShardDef[]): void {
  const ids = new Set<string>();
  for (const s of shards) {
    if (ids.has(s.Shard_id)) fail('BAD_CONFIG', `Shard ${s.Shard_id} is defined twice`);
    ids.add(s.Shard_id);
  }
  const sorted = [...shards].sort((a, b) => a.Stud_id_low - b.Stud_id_low);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (prev.Stud_id_low + prev.Shard_size > sorted[i].Stud_id_low)
      fail('BAD_CONFIG', `Shards ${prev.Shard_id} and ${sorted[i].Shard_id} overlap in key range`);
  }
}
