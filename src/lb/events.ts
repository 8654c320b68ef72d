/**
 * Recovery and membership events with timestamps, and incidents (one per server failure) with time-to-detect
 * and time-to-serving. Kept in memory (the newest 1,000), shown by `shardctl events` and GET /events; with a
 * store, saved after each change and restored by a restarted LB.
 */
import type { EventFile } from './event-file.js';
export interface ClusterEvent {
  t: number;
  server?: string;
  shard?: string;
  kind: string;
  detail?: string;
  ms?: number;
  rows?: number;
}

export interface Incident {
  server: string;
  reason: string;
  /** when the LB first saw it fail (last good heartbeat, or the failed request) */
  lastSeenAt: number;
  detectedAt: number;
  servingAt?: number;
  /** ms from the last good heartbeat to the declaration */
  timeToDetectMs: number;
  /** ms from the declaration until every shard of the replacement serves */
  timeToServingMs?: number;
  /** interrupted: the LB itself restarted while this recovery ran (the restarted LB checks the server afresh) */
  outcome: 'recovering' | 'serving' | 'dropped' | 'interrupted';
  rowsCopied: number;
}

export class EventLog {
  private readonly events: ClusterEvent[] = [];
  readonly incidents: Incident[] = [];
  constructor(
    private readonly now: () => number = Date.now,
    private readonly max = 1000,
    private readonly store?: EventFile,
  ) {
    const saved = store?.load();
    if (saved) {
      this.events.push(...saved.events.slice(-max));
      for (const inc of saved.incidents.slice(-200)) this.incidents.push(inc.outcome === 'recovering' ? { ...inc, outcome: 'interrupted' } : inc);
    }
  }

  private changed(): void {
    this.store?.schedule(() => ({ events: this.events, incidents: this.incidents }));
  }

  /** Forgets everything, saved copy included, and saves no more (the LB is stopping; the rows are gone). */
  clear(): void {
    this.events.length = 0;
    this.incidents.length = 0;
    this.store?.clear();
  }

  add(e: Omit<ClusterEvent, 't'>): ClusterEvent {
    const ev = { t: this.now(), ...e };
    this.events.push(ev);
    if (this.events.length > this.max) this.events.shift();
    this.changed();
    return ev;
  }

  list(): ClusterEvent[] {
    return [...this.events];
  }

  openIncident(server: string, reason: string, lastSeenAt: number): Incident {
    const now = this.now();
    const inc: Incident = {
      server,
      reason,
      lastSeenAt,
      detectedAt: now,
      timeToDetectMs: Math.max(0, now - lastSeenAt),
      outcome: 'recovering',
      rowsCopied: 0,
    };
    this.incidents.push(inc);
    if (this.incidents.length > 200) this.incidents.shift();
    this.changed();
    return inc;
  }

  closeIncident(inc: Incident, outcome: 'serving' | 'dropped'): void {
    inc.outcome = outcome;
    if (outcome === 'serving') {
      inc.servingAt = this.now();
      inc.timeToServingMs = inc.servingAt - inc.detectedAt;
    }
    this.changed();
  }
}
