/**
 * The benchmark's I/O: a closed loop of `concurrency` workers over an undici keep-alive pool, each latency in an
 * HDR histogram (microseconds), errors counted by kind, progress reported as it goes.
 */
import { Pool } from 'undici';
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface PhaseResult {
  name: string;
  concurrency: number;
  ops: number;
  rows: number;
  seconds: number;
  opsPerSec: number;
  rowsPerSec: number;
  /** milliseconds */
  latencyMs: LatencySummary;
  errors: Record<string, number>;
  firstErrors: string[];
}

/** What one operation did: rows moved, or the kind and text of its failure. */
export type Outcome = { rows: number } | { error: string; detail: string };
/**
 * An op's answer, or a check of it to run after the timed loop (parsing and comparing a read's rows is the
 * harness's work, not the system's: it must not count in its latency or throughput).
 */
export type OpOutcome = Outcome | { verify: () => Outcome };

/** Deferred checks held at most; beyond this (long --duration runs) they run inline, in the measured time. */
const MAX_DEFERRED = 200_000;

export interface PhaseSpec {
  name: string;
  concurrency: number;
  /** stop after this many operations ... */
  total: number;
  /** ... or after this long, whichever comes first */
  durationMs?: number;
  op: (i: number) => Promise<OpOutcome>;
  onProgress?: (done: number) => void;
}

export async function runPhase(spec: PhaseSpec): Promise<PhaseResult> {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
  const errors: Record<string, number> = {};
  const firstErrors: string[] = [];
  let next = 0;
  let done = 0;
  let rows = 0;
  const t0 = process.hrtime.bigint();
  const deadline = spec.durationMs ? Date.now() + spec.durationMs : Infinity;
  let lastTick = 0;
  const deferred: (() => Outcome)[] = [];
  const tally = (out: Outcome) => {
    if ('rows' in out) rows += out.rows;
    else {
      errors[out.error] = (errors[out.error] ?? 0) + 1;
      if (firstErrors.length < 5) firstErrors.push(`${out.error}: ${out.detail.slice(0, 200)}`);
    }
  };
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= spec.total || Date.now() > deadline) return;
      const s = process.hrtime.bigint();
      let out: OpOutcome;
      try {
        out = await spec.op(i);
      } catch (e) {
        out = { error: 'network', detail: (e as Error).message };
      }
      h.recordValue(Math.max(1, Number((process.hrtime.bigint() - s) / 1000n)));
      done++;
      if (!('verify' in out)) tally(out);
      else if (deferred.length < MAX_DEFERRED) deferred.push(out.verify);
      else tally(out.verify());
      if (spec.onProgress && done - lastTick >= 50) {
        lastTick = done;
        spec.onProgress(done);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  spec.onProgress?.(done);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const v of deferred) tally(v());
  const ms = (us: number) => Math.round(us) / 1000;
  return {
    name: spec.name,
    concurrency: spec.concurrency,
    ops: done,
    rows,
    seconds: Math.round(seconds * 1000) / 1000,
    opsPerSec: Math.round(done / seconds),
    rowsPerSec: Math.round(rows / seconds),
    latencyMs: {
      p50: ms(h.getValueAtPercentile(50)),
      p95: ms(h.getValueAtPercentile(95)),
      p99: ms(h.getValueAtPercentile(99)),
      p999: ms(h.getValueAtPercentile(99.9)),
      max: ms(h.maxValue),
      mean: ms(h.mean),
    },
    errors,
    firstErrors,
  };
}

/** A keep-alive client to the LB for the benchmark and chaos runs. */
export class LbClient {
  private readonly pool: Pool;
  constructor(base: string, connections: number) {
    this.pool = new Pool(base, { connections, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000, pipelining: 1 });
  }

  async send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: string): Promise<{ status: number; text: string }> {
    const res = await this.pool.request({ method, path, body, headers: body === undefined ? undefined : { 'content-type': 'application/json' } });
    return { status: res.statusCode, text: await res.body.text() };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
