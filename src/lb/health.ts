/**
 * Heartbeats: every interval each serving server gets GET /heartbeat on a pool of its own; an answer still
 * outstanding at the next tick, or a failed one, is a miss; `misses` in a row report a fault (fenced and kept,
 * recovery.ts). The clock and the timer are injected so the rule is tested without sleeps.
 */
import type { LbContext } from './context.js';
import type { ServerEntry } from './servers.js';

export interface Timer {
  every(ms: number, fn: () => void): () => void;
}

export const realTimer: Timer = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

export class Health {
  private stop: (() => void) | undefined;

  constructor(
    private readonly c: LbContext,
    private readonly fault: (server: string, reason: string) => void,
    private readonly timer: Timer = realTimer,
    /** runs every tick too: the shard manager retries the elections of shards without a primary */
    private readonly onTick?: () => void,
  ) {}

  start(): void {
    if (!this.stop) this.stop = this.timer.every(this.c.s.heartbeat.intervalMs, () => this.tick());
  }

  halt(): void {
    this.stop?.();
    this.stop = undefined;
  }

  /** One round: a heartbeat to every serving server; one still unanswered from the last round is a miss. */
  tick(): void {
    this.onTick?.();
    for (const e of this.c.servers.list()) {
      if (e.status !== 'serving') continue;
      if (e.hbInFlight) {
        this.miss(e, 'heartbeat unanswered');
        continue;
      }
      e.hbInFlight = true;
      void this.c.client.heartbeat(e.name, this.c.s.heartbeat.timeoutMs).then((hb) => {
        e.hbInFlight = false;
        if (!this.c.servers.current(e) || e.status !== 'serving') return; // removed, replaced or fenced meanwhile
        if (hb && hb.storeId !== undefined && e.storeId !== undefined && hb.storeId !== e.storeId) {
          // it answers, but it is another store (restarted empty behind our back): its rows are not the ones we think
          this.fault(e.name, 'restarted with another store');
        } else if (hb) {
          e.misses = 0;
          e.lastSeen = this.c.now();
        } else this.miss(e, 'heartbeat failed');
      });
    }
  }

  private miss(e: ServerEntry, why: string): void {
    if (e.status !== 'serving' || !this.c.servers.current(e)) return;
    if (++e.misses >= this.c.s.heartbeat.misses) this.fault(e.name, `${why} ${e.misses} times`);
  }
}
