/**
 * The server table: one entry per server of the cluster, its status (one enum, core/server-status.ts), address,
 * heartbeat bookkeeping and the token of the recovery attempt that owns it. The only place a status changes.
 *
 * An entry object is the server's identity for every async operation: an operation that started on an entry checks
 * `table.current(entry)` after each await, so a server of the same name created later (by /init or /add after an
 * /rm) is never touched by an operation meant for the old one.
 */
import { nextStatus, type ServerEvent, type ServerStatus } from '../core/server-status.js';

export interface ServerEntry {
  readonly name: string;
  shards: string[];
  status: ServerStatus;
  url?: string;
  /** runtime id of the instance the LB spawned or adopted (container id, pid) */
  instance?: string;
  /** the store instance it reported when it last served (a server that restarted empty reports another) */
  storeId?: string;
  lastSeen: number;
  misses: number;
  hbInFlight: boolean;
  /** grows with every bring-up / recovery attempt: results of an older attempt are dropped */
  attempt: number;
  /** failed recovery attempts in a row (for status, events and the backoff) */
  failures: number;
  lastError?: string;
}

export class ServerTable {
  private readonly byName = new Map<string, ServerEntry>();
  /** names in the order they joined, for /status */
  private order: string[] = [];

  constructor(private readonly now: () => number) {}

  add(name: string, shards: string[], status: ServerStatus = 'starting'): ServerEntry {
    const e: ServerEntry = { name, shards: [...shards], status, lastSeen: this.now(), misses: 0, hbInFlight: false, attempt: 0, failures: 0 };
    this.byName.set(name, e);
    this.order.push(name);
    return e;
  }

  get(name: string): ServerEntry | undefined {
    return this.byName.get(name);
  }

  /** Is this entry still the server of its name (not removed, not replaced by a newer one)? */
  current(e: ServerEntry): boolean {
    return this.byName.get(e.name) === e && e.status !== 'gone';
  }

  /** Applies an event; returns false (and changes nothing) when it does not apply in the current status. */
  apply(e: ServerEntry, ev: ServerEvent): boolean {
    const to = nextStatus(e.status, ev);
    if (!to) return false;
    e.status = to;
    return true;
  }

  remove(name: string): ServerEntry | undefined {
    const e = this.byName.get(name);
    if (!e) return undefined;
    this.apply(e, 'removed');
    this.byName.delete(name);
    this.order = this.order.filter((n) => n !== name);
    return e;
  }

  clear(): ServerEntry[] {
    const all = this.list();
    for (const e of all) this.apply(e, 'removed');
    this.byName.clear();
    this.order = [];
    return all;
  }

  list(): ServerEntry[] {
    return this.order.map((n) => this.byName.get(n)!);
  }

  get size(): number {
    return this.order.length;
  }

  names(): string[] {
    return [...this.order];
  }
}
