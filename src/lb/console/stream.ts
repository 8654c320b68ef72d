/**
 * The console's live feed: Server-Sent Events on GET /console/stream. Two kinds of message:
 *  - `state`: the cluster (ConsoleState), sent on connect and whenever it changes; checked every 250 ms, so a
 *    fence, a respawn or a copy-back shows within a quarter of a second;
 *  - `metrics`: throughput, latency and heartbeat ages, once a second.
 * The page never polls. The work is shared: however many consoles are open, the state is built at most once
 * per tick and the metrics once per second, and nothing runs while none is open (so the request path and the
 * benchmark pay nothing for the console being available).
 */
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Cluster } from '../cluster.js';
import type { LbMetrics } from '../metrics.js';
import { buildConsoleState, type DetailsView, type LbInfo, type StatusView } from './state.js';

export const STATE_TICK_MS = 250;
export const METRICS_TICK_MS = 1000;

interface Cached {
  at: number;
  /** the state without its clock: equal keys mean nothing changed */
  key: string;
  data: string;
}

export class ConsoleHub {
  private state: Cached | undefined;
  private metrics: Cached | undefined;
  /** consoles connected now */
  clients = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly metricsSrc: LbMetrics,
    private readonly info: () => LbInfo,
    private readonly now: () => number = Date.now,
  ) {}

  private details(): DetailsView {
    return this.cluster.details() as unknown as DetailsView;
  }

  /** The state message (JSON text) and its change key, built at most once per tick. */
  stateMessage(): Cached {
    const now = this.now();
    if (this.state && now - this.state.at < STATE_TICK_MS - 20) return this.state;
    const s = buildConsoleState(now, this.info(), this.cluster.status() as unknown as StatusView, this.details(), this.cluster.events.list(), this.cluster.events.incidents);
    const { now: _now, ...rest } = s;
    const key = JSON.stringify(rest);
    this.state = { at: now, key, data: `{"now":${now},${key.slice(1)}` };
    return this.state;
  }

  /** The metrics message (JSON text), built at most once per second. */
  metricsMessage(): Cached {
    const now = this.now();
    if (this.metrics && now - this.metrics.at < METRICS_TICK_MS - 50) return this.metrics;
    const d = this.details();
    const shards = d.shards.map((s) => s.Shard_id);
    this.metricsSrc.retain(shards);
    const heartbeats: Record<string, number | null> = {};
    for (const s of d.servers) heartbeats[s.name] = s.lastSeen || null;
    const data = JSON.stringify({ now, ...this.metricsSrc.snapshot(shards), heartbeats });
    this.metrics = { at: now, key: data, data };
    return this.metrics;
  }

  /** GET /console/stream */
  handle(c: Context): Response {
    return streamSSE(c, async (stream) => {
      let open = true;
      this.clients++;
      stream.onAbort(() => {
        open = false;
      });
      try {
        // reconnect after 2 s when the LB goes away (EventSource does it by itself)
        await stream.writeSSE({ event: 'hello', data: '{}', retry: 2000 });
        let sentKey = '';
        let sentMetricsAt = 0;
        while (open) {
          const st = this.stateMessage();
          if (st.key !== sentKey) {
            await stream.writeSSE({ event: 'state', data: st.data });
            sentKey = st.key;
          }
          const now = this.now();
          if (now - sentMetricsAt >= METRICS_TICK_MS - 50) {
            await stream.writeSSE({ event: 'metrics', data: this.metricsMessage().data });
            sentMetricsAt = now;
          }
          await stream.sleep(STATE_TICK_MS);
        }
      } finally {
        this.clients--;
      }
    });
  }
}
