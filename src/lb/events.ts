/**
 * Recovery and membership events with timestamps, and incidents (one per server failure) with time-to-detect
 * and time-to-serving. Kept in memory (the newest 1,000), shown by `shardctl events` and GET /events.
 */
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
  outcome: 'recovering' | 'serving' | 'dropped';
  rowsCopied: number;
}

export class EventLog {
  private readonly events: ClusterEvent[] = [];
  readonly incidents: Incident[] = [];
  constructor(
    private readonly now: () => number = Date.now,
    private readonly max = 1000,
  ) {}

  add(e: Omit<ClusterEvent, 't'>): ClusterEvent {
    const ev = { t: this.now(), ...e };
    this.events.push(ev);
    if (this.events.length > this.max) this.events.shift();
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
    return inc;
  }

  closeIncident(inc: Incident, outcome: 'serving' | 'dropped'): void {
    inc.outcome = outcome;
    if (outcome === 'serving') {
      inc.servingAt = this.now();
      inc.timeToServingMs = inc.servingAt - inc.detectedAt;
    }
  }
}
