/**
 * A server's condition as the LB sees it: one enum, its transitions in one table (STYLE.md, "One owner per piece
 * of state"). Pure.
 *  - starting:   spawned by /init or /add, not yet serving every shard
 *  - serving:    every shard of it holds every acknowledged change; in every ring and write set
 *  - fenced:     stopped answering (or failed a call): out of every ring and write set, KEPT (it may hold the last
 *                copy of a shard); the LB keeps probing it and re-admits it after it caught up
 *  - recovering: its process/container exited; being respawned and refilled (retried with backoff, never dropped)
 *  - gone:       removed by an operator's /rm or by /init; nothing refers to it any more
 */
export type ServerStatus = 'starting' | 'serving' | 'fenced' | 'recovering' | 'gone';

export type ServerEvent =
  /** every shard of it serves (bring-up or re-admission finished) */
  | 'ready'
  /** a failed call, missed heartbeats, a failed bring-up */
  | 'fault'
  /** its process exited: respawn it */
  | 'respawn'
  /** it answers again while fenced: catch it up */
  | 'returned'
  /** an operator removed it, or /init replaced the cluster */
  | 'removed';

const TABLE: Record<ServerStatus, Partial<Record<ServerEvent, ServerStatus>>> = {
  starting: { ready: 'serving', fault: 'fenced', removed: 'gone' },
  serving: { fault: 'fenced', removed: 'gone' },
  fenced: { respawn: 'recovering', returned: 'recovering', removed: 'gone' },
  recovering: { ready: 'serving', fault: 'fenced', removed: 'gone' },
  gone: {},
};

/** The next status, or undefined when the event does not apply in this status (the caller ignores it). */
export function nextStatus(from: ServerStatus, ev: ServerEvent): ServerStatus | undefined {
  return TABLE[from][ev];
}

/** Words for `status` and the console: what each status means to an operator. */
export const STATUS_WORDS: Record<ServerStatus, string> = {
  starting: 'starting',
  serving: 'serving',
  fenced: 'fenced (not answering; kept)',
  recovering: 'recovering',
  gone: 'removed',
};
