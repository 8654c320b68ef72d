/**
 * Keeps the LB's events and incidents across an LB restart: a JSON snapshot in the state dir (volume), written
 * at most every `delayMs` after a change, from a timer (never on a request), via a temporary file and a rename.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFile } from 'node:fs';
import { dirname } from 'node:path';
import type { ClusterEvent, Incident } from './events.js';

export interface EventSnapshot {
  events: ClusterEvent[];
  incidents: Incident[];
}

export class EventFile {
  private timer: NodeJS.Timeout | undefined;
  private writing = false;
  private again = false;
  private cleared = false;

  constructor(
    private readonly file: string,
    private readonly delayMs = 250,
  ) {}

  /** The saved snapshot, or undefined when there is none or it cannot be read (events are not worth a failed start). */
  load(): EventSnapshot | undefined {
    if (!existsSync(this.file)) return undefined;
    try {
      const j = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<EventSnapshot>;
      return { events: Array.isArray(j.events) ? j.events : [], incidents: Array.isArray(j.incidents) ? j.incidents : [] };
    } catch {
      return undefined;
    }
  }

  /** Saves `snapshot()` soon; changes meanwhile share the write. */
  schedule(snapshot: () => EventSnapshot): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write(snapshot);
    }, this.delayMs);
    this.timer.unref();
  }

  private write(snapshot: () => EventSnapshot): void {
    if (this.writing) {
      this.again = true;
      return;
    }
    this.writing = true;
    const tmp = `${this.file}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
    } catch {
      /* the write below reports it */
    }
    writeFile(tmp, JSON.stringify(snapshot()), (err) => {
      try {
        if (this.cleared) rmSync(tmp, { force: true });
        else if (!err) renameSync(tmp, this.file);
      } catch {
        /* best effort: events are a record, not state */
      }
      this.writing = false;
      if (this.again) {
        this.again = false;
        this.schedule(snapshot);
      }
    });
  }

  /** Forgets the saved events and saves no more (the LB is stopping and the cluster it describes is gone). */
  clear(): void {
    this.cleared = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    rmSync(this.file, { force: true });
  }
}
