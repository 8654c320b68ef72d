/**
 * Micro-benchmark of the hash ring (no cluster needed): lookups per second for the default and the
 * assignment's hash functions, and the time to rebuild a ring when a replica joins or leaves.
 */
import { ASSIGNMENT_HASH, HashRing, MIX_HASH, type RingHash } from '../core/hash-ring.js';

export interface RingBenchResult {
  hash: string;
  replicas: number;
  lookups: number;
  lookupsPerSec: number;
  nsPerLookup: number;
  addRemoveUs: number;
}

export function ringBench(lookups = 5_000_000): RingBenchResult[] {
  const out: RingBenchResult[] = [];
  for (const [name, hash] of [['mix', MIX_HASH], ['assignment', ASSIGNMENT_HASH]] as [string, RingHash][]) {
    for (const replicas of [3, 8]) {
      const r = new HashRing({ hash });
      for (let i = 0; i < replicas; i++) r.add(`Server${i}`);
      let sink = 0;
      for (let i = 0; i < 100_000; i++) sink += r.get(i)!.length; // warm-up
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < lookups; i++) sink += r.get(i & 0x3ffffff)!.length;
      const ns = Number(process.hrtime.bigint() - t0);
      const t1 = process.hrtime.bigint();
      for (let i = 0; i < 1000; i++) {
        r.remove('Server0');
        r.add('Server0');
      }
      const addRemoveUs = Number(process.hrtime.bigint() - t1) / 1000 / 2000;
      if (sink < 0) throw new Error('unreachable');
      out.push({ hash: name, replicas, lookups, lookupsPerSec: Math.round(lookups / (ns / 1e9)), nsPerLookup: Math.round((ns / lookups) * 10) / 10, addRemoveUs: Math.round(addRemoveUs * 10) / 10 });
    }
  }
  return out;
}
