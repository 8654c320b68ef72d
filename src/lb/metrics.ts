/**
 * Per-shard throughput and latency for the console, kept on the request path, so built to cost next to nothing:
 * per shard one preallocated Uint32Array holding 60 one-second buckets (reads, writes, and a small log-scale
 * latency histogram for each), indexed by the second modulo 60. Recording is a Map lookup, a clock read and a
 * few integer increments: no allocation, no timer. A bucket is zeroed in place when a new second first lands in
 * it; the snapshot (once a second, only while a console is open) sums the last minute.
 *
 * Latency bins: 4 per power of two of microseconds (2 significant bits, as an HDR histogram with 2 bits would),
 * so a reported percentile is within 12.5 % of the true value (the bin's midpoint is reported). Everything at or
 * above 2^27 µs (134 s) lands in the last bin.
 */

/** seconds of history (the console's "last minute") */
export const WINDOW_S = 60;
/** latency bins: values 0..3 µs get one bin each, then 4 bins per power of two up to 2^27 µs */
export const BINS = 108;
const REC = 2 + 2 * BINS; // reads, writes, read histogram, write histogram
const R_HIST = 2;
const W_HIST = 2 + BINS;

/** The bin of a latency in whole microseconds. */
export function binOf(us: number): number {
  if (!(us >= 4)) return us > 0 ? us | 0 : 0; // NaN and negatives count as 0
  const v = us >= 0x7fffffff ? 0x7fffffff : us | 0;
  const e = 31 - Math.clz32(v); // floor(log2 v) >= 2
  const b = 4 * (e - 1) + ((v >>> (e - 2)) & 3);
  return b < BINS ? b : BINS - 1;
}

/** The lowest latency (µs) a bin holds; binLow(BINS) is the end of the last bin. */
export function binLow(b: number): number {
  if (b < 4) return b;
  const e = (b >> 2) + 1;
  return (4 + (b & 3)) * 2 ** (e - 2);
}

/** A representative latency (µs) of a bin: its midpoint. */
export function binMid(b: number): number {
  return b < 4 ? b : (binLow(b) + binLow(b + 1)) / 2;
}

export interface LatencySummary {
  /** requests measured over the window */
  n: number;
  /** milliseconds, or null with no requests */
  p50: number | null;
  p99: number | null;
}

export interface ShardMetrics {
  /** per second, oldest first, WINDOW_S entries; the last is the second now running (partial) */
  reads: number[];
  writes: number[];
  read: LatencySummary;
  write: LatencySummary;
}

export interface MetricsSnapshot {
  /** the metrics clock's current second (the last entry of every series) */
  second: number;
  shards: Record<string, ShardMetrics>;
  total: ShardMetrics;
}

/** Percentile p (0..1) of a histogram held in h[off .. off+BINS), or null when it is empty. */
export function percentile(h: ArrayLike<number>, off: number, n: number, p: number): number | null {
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(p * n));
  let seen = 0;
  for (let b = 0; b < BINS; b++) {
    seen += h[off + b];
    if (seen >= rank) return binMid(b);
  }
  return binMid(BINS - 1);
}

class Meter {
  readonly buf = new Uint32Array(WINDOW_S * REC);
  /** the second each bucket holds; -1: never used */
  readonly stamp = new Float64Array(WINDOW_S).fill(-1);

  at(sec: number): number {
    const i = sec % WINDOW_S;
    const off = i * REC;
    if (this.stamp[i] !== sec) {
      this.buf.fill(0, off, off + REC);
      this.stamp[i] = sec;
    }
    return off;
  }
}

export class LbMetrics {
  private readonly meters = new Map<string, Meter>();
  /** every request once (a read of three shards is one read here, one in each of the three shards) */
  private readonly all = new Meter();
  /**
   * @param nowMs a monotonic clock in ms (performance.now by default): latencies are differences of it, and
   *              its whole seconds index the buckets.
   */
  constructor(readonly nowMs: () => number = () => performance.now()) {}

  /** The clock value to pass back to read()/write() when the request is done. */
  start(): number {
    return this.nowMs();
  }

  private meter(shard: string): Meter {
    let m = this.meters.get(shard);
    if (!m) this.meters.set(shard, (m = new Meter()));
    return m;
  }

  private static record(m: Meter, sec: number, hist: number, bin: number): void {
    const off = m.at(sec);
    m.buf[off + (hist === R_HIST ? 0 : 1)]++;
    m.buf[off + hist + bin]++;
  }

  private recordAll(shards: readonly string[] | string, hist: number, t0: number): void {
    const t1 = this.nowMs();
    const sec = Math.floor(t1 / 1000);
    const bin = binOf((t1 - t0) * 1000);
    LbMetrics.record(this.all, sec, hist, bin);
    if (typeof shards === 'string') LbMetrics.record(this.meter(shards), sec, hist, bin);
    else for (let i = 0; i < shards.length; i++) LbMetrics.record(this.meter(shards[i]), sec, hist, bin);
  }

  /** A read that touched `shards`, started at t0 (from start()). */
  read(shards: readonly string[] | string, t0: number): void {
    this.recordAll(shards, R_HIST, t0);
  }

  /** A write, update or delete that touched `shards` (one id, or several), started at t0. */
  write(shards: readonly string[] | string, t0: number): void {
    this.recordAll(shards, W_HIST, t0);
  }

  /** Forgets shards not in `keep` (after /init or /rm changed the topology). */
  retain(keep: readonly string[]): void {
    for (const k of [...this.meters.keys()]) if (!keep.includes(k)) this.meters.delete(k);
  }

  /** The last minute, per shard (those in `shards`, in that order; a shard never used shows zeros) and in total. */
  snapshot(shards: readonly string[]): MetricsSnapshot {
    const sec = Math.floor(this.nowMs() / 1000);
    const out: Record<string, ShardMetrics> = {};
    for (const id of shards) out[id] = summarise(this.meters.get(id), sec);
    return { second: sec, shards: out, total: summarise(this.all, sec) };
  }
}

function summarise(m: Meter | undefined, sec: number): ShardMetrics {
  const hist = new Float64Array(REC);
  const reads = new Array<number>(WINDOW_S).fill(0);
  const writes = new Array<number>(WINDOW_S).fill(0);
  if (m) {
    for (let k = 0; k < WINDOW_S; k++) {
      const s = sec - (WINDOW_S - 1) + k;
      if (s < 0) continue;
      const i = s % WINDOW_S;
      if (m.stamp[i] !== s) continue;
      const off = i * REC;
      reads[k] = m.buf[off];
      writes[k] = m.buf[off + 1];
      for (let j = 0; j < REC; j++) hist[j] += m.buf[off + j];
    }
  }
  return { reads, writes, read: summary(hist, R_HIST, hist[0]), write: summary(hist, W_HIST, hist[1]) };
}

function summary(h: Float64Array, off: number, n: number): LatencySummary {
  const ms = (v: number | null) => (v === null ? null : Math.round(v) / 1000);
  return { n, p50: ms(percentile(h, off, n, 0.5)), p99: ms(percentile(h, off, n, 0.99)) };
}
