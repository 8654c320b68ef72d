/**
 * Seeded benchmark and chaos workloads: which keys are written, which ranges are read, and what each read must
 * return. Pure: the same seed gives the same workload.
 */
import type { ShardDef } from '../core/shard-map.js';

/** mulberry32: a small, fast, seeded PRNG returning [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type BenchRow = {
  Stud_id: number;
  Stud_name: string;
  Stud_marks: number;
};

export function benchRow(id: number, version = 0): BenchRow {
  return { Stud_id: id, Stud_name: version ? `S${id}v${version}` : `S${id}`, Stud_marks: (id + version) % 100 };
}

/** Every key the shards cover, in key order. */
export function keySpace(shards: readonly ShardDef[]): number[] {
  const out: number[] = [];
  for (const s of [...shards].sort((a, b) => a.Stud_id_low - b.Stud_id_low))
    for (let k = s.Stud_id_low; k < s.Stud_id_low + s.Shard_size; k++) out.push(k);
  return out;
}

/**
 * `n` distinct keys spread uniformly over the key space, skipping `taken`, in a seeded random order
 * (a partial Fisher-Yates shuffle). Throws when the space has fewer than `n` free keys.
 */
export function pickKeys(space: readonly number[], n: number, seed: number, taken: ReadonlySet<number> = new Set()): number[] {
  const free = taken.size ? space.filter((k) => !taken.has(k)) : [...space];
  if (n > free.length) throw new RangeError(`the shards cover only ${free.length} free keys; cannot write ${n} distinct ones`);
  const rnd = prng(seed);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rnd() * (free.length - i));
    const t = free[i];
    free[i] = free[j];
    free[j] = t;
  }
  return free.slice(0, n);
}

/** `n` read ranges of `width` keys with a random start inside the key space (they may straddle shards). */
export function pickRanges(space: readonly number[], n: number, width: number, seed: number): { low: number; high: number }[] {
  const rnd = prng(seed ^ 0x9e3779b9);
  const lo = space[0];
  const hi = space[space.length - 1];
  const out = new Array<{ low: number; high: number }>(n);
  for (let i = 0; i < n; i++) {
    const low = lo + Math.floor(rnd() * Math.max(1, hi - lo - width + 2));
    out[i] = { low, high: low + width - 1 };
  }
  return out;
}

/** Sorted keys, for "which keys must a read of [low, high] return". */
export class KeyIndex {
  private sorted: number[];
  constructor(keys: Iterable<number>) {
    this.sorted = [...keys].sort((a, b) => a - b);
  }
  between(low: number, high: number): number[] {
    let a = 0;
    let b = this.sorted.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (this.sorted[m] < low) a = m + 1;
      else b = m;
    }
    const out: number[] = [];
    for (let i = a; i < this.sorted.length && this.sorted[i] <= high; i++) out.push(this.sorted[i]);
    return out;
  }
}

/**
 * Checks a /read answer: exactly the expected keys, in order, each row as written. Returns a reason, or
 * undefined when it is right.
 */
export function checkRead(
  data: readonly Record<string, unknown>[],
  expectKeys: readonly number[],
  rowOf: (id: number) => Record<string, unknown> | undefined,
): string | undefined {
  if (data.length !== expectKeys.length) {
    const got = new Set(data.map((r) => r.Stud_id as number));
    const missing = expectKeys.find((k) => !got.has(k));
    return missing !== undefined ? `missing row ${missing}` : `unexpected rows (${data.length} for ${expectKeys.length})`;
  }
  for (let i = 0; i < data.length; i++) {
    const r = data[i];
    if (r.Stud_id !== expectKeys[i]) return `row ${i} is ${String(r.Stud_id)}, expected ${expectKeys[i]}`;
    const want = rowOf(expectKeys[i]);
    if (want && (r.Stud_name !== want.Stud_name || r.Stud_marks !== want.Stud_marks)) return `row ${expectKeys[i]} has wrong values`;
  }
  return undefined;
}
