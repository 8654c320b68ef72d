/**
 * A shard server's data on disk (server/DESIGN.md): per shard an append-only log in segments plus a snapshot,
 * and the server's configuration. The framing is wal-format.ts; this file does the I/O.
 *
 *   <dataDir>/config.json                {format, schema, shards}: written atomically on every /config change
 *   <dataDir>/shards/<shard>/snap        the rows as of log index `i` (framed records: header, row chunks, trailer)
 *   <dataDir>/shards/<shard>/wal-<first index, 16 digits>.log   log segments, in index order
 *
 * Appends are written at once (write(2), no fsync); `sync()` makes everything appended so far durable with one
 * fdatasync per touched file, shared by every request that waits meanwhile (group commit). The store calls it
 * once per request, before the answer. Segments are preallocated with zeros (the next one is prepared in the
 * background while the current one fills), so an fdatasync writes the data only, not a new file size through the
 * journal: about a third cheaper here (85 vs 115 µs per 150-byte append, and less kernel CPU).
 */
import { closeSync, existsSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { open as openAsync, rename as renameP, writeFile as writeFileP } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fsyncDir, writeFileAtomic } from '../shared/atomic-file.js';
import { encodeRecord, entryPayload, FORMAT_VERSION, nonZeroEnd, parseEntry, planReplay, scanRecords, type EntryOp, type LogEntry } from './wal-format.js';

/** A data dir or log written by another format version: the server refuses to start on it. */
export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

export interface WalStats {
  /** fdatasync calls on log segments (not snapshots) */
  fsyncs: number;
  snapshots: number;
}

/** How long synchronous work may run before it yields to the event loop (heartbeats must get through). */
export const SLICE_MS = 20;

export const yieldNow = () => new Promise<void>((r) => setImmediate(r));

const SEG_RE = /^wal-(\d{16})\.log$/;
const segName = (start: number) => `wal-${String(start).padStart(16, '0')}.log`;

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

/** write(2) at a file position (segments are written in place over their preallocated zeros). */
function writeAllAt(fd: number, buf: Buffer, pos: number): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, pos + off);
}

/** Size of a log segment, preallocated with zeros. */
export const SEGMENT_BYTES = 1024 * 1024;
let zeroSegment: Buffer | undefined;
const zeros = (n: number): Buffer => (zeroSegment && zeroSegment.length === n ? zeroSegment : (zeroSegment = Buffer.alloc(n)));


function fdatasyncP(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
}

/** What a snapshot's first record says. */
interface SnapHeader {
  kind: 'snapshot';
  i: number;
  t: number;
  columns: string[];
}

export interface ReplayTarget {
  /** rows of the snapshot, a chunk at a time (arrays of column values) */
  rows(rows: unknown[][]): void;
  /**
   * one log entry, in index order; applied idempotently (an entry may repeat what the snapshot holds). A shard
   * with a hard state (replicated) gets the entries up to its commit hint only: the rest may still be cut.
   */
  entry(e: LogEntry): void;
}

/** A replicated shard's durable vote state (REPLICATION.md, "Durability contract", item 1). */
export interface HardRecord {
  term: number;
  votedFor: string | null;
  resyncTo?: number;
}

const HARD_FILE = 'hard.json';
const COMMIT_FILE = 'commit';
/** a replicated shard whose log contradicted a committed entry: it neither votes nor serves until resynced */
const VIOLATION_FILE = 'violation';

/** One shard's log and snapshot. */
export class ShardLog {
  lastIndex = 0;
  snapIndex = 0;
  term = 0;
  /** why this shard's data cannot be trusted (a damaged record mid-log, a bad snapshot); cleared by reset() */
  corrupt: string | undefined;
  replaying = false;
  /** bytes appended since the last snapshot: the store snapshots past a threshold */
  bytesSinceSnap = 0;
  private fd = -1;
  /** the current segment: its first index, where the next record goes, and its preallocated size */
  private segStart = 0;
  private pos = 0;
  private capacity = 0;
  /** a zero-filled file ready to become the next segment, or being made */
  private prepared = false;
  private preparing = false;
  /** fds of segments rotated out or reset away: synced (their appends may still await durability), then closed */
  private retired: number[] = [];
  private written = 0;
  private synced = 0;
  private inflight: Promise<void> | undefined;
  /** bumped by reset/destroy: a snapshot in progress checks it after every await and gives up */
  private gen = 0;
  private snapshotting = false;
  /**
   * The hard state of a replicated shard (term, vote, resync floor); undefined for a shard written without
   * primaries (assignment 2's mode), whose every logged entry is applied.
   */
  hard: HardRecord | undefined;
  /** the commit position last written as a hint (replicated shards; volatile, clamped on replay) */
  commitHint = 0;
  /** term of the entry at snapIndex */
  snapTerm = 0;
  /** a replicated shard's entries after the snapshot, as replayed (its LogState is rebuilt from them) */
  loaded: LogEntry[] = [];
  /** per segment (by its name's number) the highest entry index written into it: compaction deletes a prefix */
  private segMax = new Map<number, number>();
  /** the largest segment number used: new segments are numbered above it, so file order is write order */
  private lastSeg = 0;

  constructor(
    readonly dir: string,
    private readonly stats: WalStats,
    private readonly segmentBytes = SEGMENT_BYTES,
  ) {}

  private segments(): { start: number; file: string }[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((f) => SEG_RE.exec(f))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => ({ start: Number(m[1]), file: join(this.dir, m[0]) }))
      .sort((a, b) => a.start - b.start);
  }

  /**
   * Replays snapshot + log into `target`, yielding to the event loop every SLICE_MS. A torn tail of the last
   * segment is cut off; damage anywhere else marks the shard corrupt (what was read before it is applied, but
   * the store serves nothing from a corrupt shard). Throws FormatError on a record of another format version.
   */
  async load(columns: string[], target: ReplayTarget): Promise<void> {
    this.replaying = true;
    try {
      mkdirSync(this.dir, { recursive: true });
      const hardFile = join(this.dir, HARD_FILE);
      if (existsSync(hardFile)) {
        try {
          this.hard = JSON.parse(readFileSync(hardFile, 'utf8')) as HardRecord;
        } catch (e) {
          // written atomically, so a bad one is damage, not a torn write
          return this.markCorrupt(`${hardFile}: ${(e as Error).message}`);
        }
        if (existsSync(join(this.dir, VIOLATION_FILE))) this.violation = readFileSync(join(this.dir, VIOLATION_FILE), 'utf8') || 'a log violation';
        const hint = Number(existsSync(join(this.dir, COMMIT_FILE)) ? readFileSync(join(this.dir, COMMIT_FILE), 'utf8') : 0);
        this.commitHint = Number.isInteger(hint) && hint > 0 ? hint : 0;
      }
      let slice = Date.now();
      const pause = async () => {
        if (Date.now() - slice < SLICE_MS) return;
        await yieldNow();
        slice = Date.now();
      };
      const snapFile = join(this.dir, 'snap');
      if (existsSync(snapFile)) {
        const r = scanRecords(readFileSync(snapFile));
        if (r.status === 'version') throw new FormatError(`${snapFile} is of format ${r.version}; this server reads format ${FORMAT_VERSION}`);
        if (r.status !== 'ok' || r.records.length < 2) return this.markCorrupt(`snapshot ${snapFile}: ${r.status === 'ok' ? 'incomplete' : r.reason}`);
        const head = JSON.parse(r.records[0].payload.toString('utf8')) as SnapHeader;
        const tail = JSON.parse(r.records[r.records.length - 1].payload.toString('utf8')) as { end?: boolean; count?: number };
        if (head.kind !== 'snapshot' || !tail.end) return this.markCorrupt(`snapshot ${snapFile}: no header or trailer`);
        if (head.columns.join(',') !== columns.join(',')) return this.markCorrupt(`snapshot ${snapFile}: columns ${head.columns} differ from the schema`);
        let n = 0;
        for (let k = 1; k < r.records.length - 1; k++) {
          const rows = (JSON.parse(r.records[k].payload.toString('utf8')) as { rows: unknown[][] }).rows;
          target.rows(rows);
          n += rows.length;
          await pause();
        }
        if (n !== tail.count) return this.markCorrupt(`snapshot ${snapFile}: ${n} rows, trailer says ${tail.count}`);
        this.snapIndex = this.lastIndex = head.i;
        this.term = this.snapTerm = head.t;
      }
      const segs = this.segments();
      const entries: LogEntry[] = [];
      let problem: string | undefined;
      let logged = 0;
      let tail = { pos: 0, size: 0 };
      for (let s = 0; s < segs.length && !problem; s++) {
        const buf = readFileSync(segs[s].file);
        const r = scanRecords(buf);
        logged += r.end;
        tail = { pos: r.end, size: buf.length };
        if (r.status === 'version') throw new FormatError(`${segs[s].file} holds a record of format ${r.version}; this server reads format ${FORMAT_VERSION}`);
        try {
          let max = segs[s].start - 1;
          for (const rec of r.records) {
            const e = parseEntry(rec.payload);
            entries.push(e);
            if (e.op !== 'truncate') max = Math.max(max, e.i);
          }
          this.segMax.set(segs[s].start, max);
        } catch (e) {
          problem = `${segs[s].file}: ${(e as Error).message}`;
        }
        if (r.status === 'corrupt') problem = `${segs[s].file}: ${r.reason}`;
        else if (r.status === 'torn') {
          if (s < segs.length - 1) problem = `${segs[s].file}: ${r.reason}, and later segments follow`;
          else {
            // a crash during the last append: that record was never acknowledged (its fsync had not returned).
            // Its bytes are zeroed (the segment's preallocated space stays) and the log goes on from there.
            const fd = openSync(segs[s].file, 'r+');
            try {
              writeAllAt(fd, Buffer.alloc(nonZeroEnd(buf, r.end) - r.end), r.end);
              fsyncSync(fd);
            } finally {
              closeSync(fd);
            }
          }
        }
        await pause();
      }
      if (segs.length) this.lastSeg = segs[segs.length - 1].start;
      const plan = planReplay(this.snapIndex, entries.map((e) => (e.op === 'truncate' ? { cut: e.i } : e.i)));
      if ('gap' in plan) return this.markCorrupt(`log of ${this.dir}: ${plan.gap}`);
      // a replicated shard applies what it knew committed (the hint, clamped into the log); the rest may be cut
      const upTo = this.hard ? Math.max(this.snapIndex, Math.min(this.commitHint, plan.last)) : Infinity;
      for (const k of plan.apply) {
        if (this.hard) this.loaded.push(entries[k]);
        if (entries[k].i > upTo) continue;
        target.entry(entries[k]);
        this.term = Math.max(this.term, entries[k].t);
        await pause();
      }
      this.lastIndex = plan.last;
      if (problem) return this.markCorrupt(problem);
      const last = segs[segs.length - 1];
      if (last) {
        this.fd = openSync(last.file, 'r+');
        this.segStart = last.start;
        this.pos = tail.pos;
        this.capacity = Math.max(tail.size, this.segmentBytes);
      } else this.openSegment(this.lastIndex + 1);
      this.bytesSinceSnap = logged;
    } finally {
      this.replaying = false;
    }
  }

  private markCorrupt(reason: string): void {
    this.corrupt = reason;
  }

  /** Starts segment `start`: the prepared zero-filled file renamed into place, or else a new empty file. */
  private openSegment(first: number): void {
    mkdirSync(this.dir, { recursive: true });
    // numbered by its first entry, but always above every earlier segment: after a truncation the next entry's
    // index may be below an existing segment's number, and replay reads segments in number order
    const start = Math.max(first, this.lastSeg + 1);
    this.lastSeg = start;
    this.segMax.set(start, start - 1);
    const file = join(this.dir, segName(start));
    const ready = join(this.dir, 'prealloc.tmp');
    if (this.prepared && existsSync(ready)) renameSync(ready, file);
    else {
      // none prepared (a new shard, a reset, or the preparation was outrun): zero-fill it now, ~1-2 ms for 1 MiB
      const fd = openSync(file, 'w');
      try {
        writeAllAt(fd, zeros(this.segmentBytes), 0);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    this.capacity = this.segmentBytes;
    this.prepared = false;
    this.fd = openSync(file, 'r+');
    this.segStart = start;
    this.pos = 0;
    fsyncDir(this.dir);
  }

  /** Zero-fills the next segment's file in the background (made durable before it is used). */
  private async prepare(): Promise<void> {
    this.preparing = true;
    const gen = this.gen;
    const tmp = join(this.dir, 'prealloc.tmp');
    try {
      const fh = await openAsync(tmp, 'w');
      try {
        await fh.write(zeros(this.segmentBytes), 0, this.segmentBytes, 0);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      if (gen === this.gen) this.prepared = true;
    } catch {
      // the shard was destroyed meanwhile, or the disk refused: the next segment simply starts empty
    } finally {
      this.preparing = false;
    }
  }

  /** Appends one entry (index lastIndex + 1, set here); durable after the next sync(). */
  append(e: EntryOp): void {
    this.appendEntry({ i: this.lastIndex + 1, t: this.term, ...e } as LogEntry);
  }

  /** Appends an entry with its own index and term (replication: `i` must be lastIndex + 1); durable after sync(). */
  appendEntry(entry: LogEntry): void {
    if (entry.op !== 'truncate' && entry.i !== this.lastIndex + 1) throw new Error(`log of ${this.dir}: entry ${entry.i} does not follow ${this.lastIndex}`);
    this.writeRecord(entry);
    this.term = Math.max(this.term, entry.t);
  }

  /** Drops every entry with index >= from (only uncommitted ones): a truncate record, durable after sync(). */
  truncateFrom(from: number): void {
    if (from > this.lastIndex) return;
    if (from <= this.snapIndex) throw new Error(`log of ${this.dir}: cannot cut at ${from}, the snapshot covers ${this.snapIndex}`);
    this.writeRecord({ i: from, t: 0, op: 'truncate' });
  }

  private writeRecord(entry: LogEntry): void {
    if (this.corrupt) throw new Error(`log of ${this.dir} is corrupt: ${this.corrupt}`);
    const rec = encodeRecord(entryPayload(entry));
    if (this.fd < 0) this.openSegment(entry.i);
    else if (this.pos > 0 && this.pos + rec.length > this.capacity) {
      // full: the next segment starts with this entry (the rest of this one stays zero: its clean end)
      this.retire();
      this.openSegment(entry.i);
    }
    writeAllAt(this.fd, rec, this.pos);
    this.pos += rec.length;
    if (!this.preparing && !this.prepared && this.pos * 2 > this.capacity) void this.prepare();
    if (entry.op === 'truncate') {
      this.lastIndex = entry.i - 1;
    } else {
      this.lastIndex = entry.i;
      this.segMax.set(this.segStart, Math.max(this.segMax.get(this.segStart) ?? 0, entry.i));
    }
    this.written += rec.length;
    this.bytesSinceSnap += rec.length;
  }

  /**
   * Makes every append so far durable: one fdatasync per file, shared by everyone waiting meanwhile. `inline`:
   * no other request is in progress, so a blocking fdatasync (no thread-pool hop) delays nobody but heartbeats and
   * reads for its ~0.1 ms.
   */
  async sync(inline = false): Promise<void> {
    while (this.synced < this.written || this.retired.length > 0) {
      if (this.inflight) {
        await this.inflight;
        continue;
      }
      const upTo = this.written;
      const old = this.retired.splice(0);
      const fds = this.fd >= 0 && this.synced < upTo ? [...old, this.fd] : old;
      if (inline && fds.length === 1 && old.length === 0) {
        // the only request waiting: fdatasync on this thread, skipping the thread-pool round trip (about 20 µs
        // less latency and 30 µs less CPU per write here); with others waiting, the async path shares one fsync
        this.stats.fsyncs++;
        fdatasyncSync(fds[0]);
        this.synced = Math.max(this.synced, upTo);
        continue;
      }
      this.inflight = (async () => {
        try {
          for (const fd of fds) {
            this.stats.fsyncs++;
            await fdatasyncP(fd);
          }
          this.synced = Math.max(this.synced, upTo);
        } finally {
          for (const fd of old) closeQuiet(fd);
          this.inflight = undefined;
        }
      })();
      await this.inflight;
    }
  }

  private retire(): void {
    if (this.fd >= 0) this.retired.push(this.fd);
    this.fd = -1;
  }

  get snapshotInProgress(): boolean {
    return this.snapshotting;
  }

  /**
   * A snapshot taken while writes go on (a "fuzzy" one): the log is rotated at index S, the rows are scanned in
   * key order a chunk at a time (yielding in between), and written under S. Rows changed during the scan are
   * caught by replaying the entries after S, which set final values (insert and update as upsert, delete,
   * reset), so snapshot + log give the same rows however the scan and the writes interleaved. Then the
   * segments the snapshot covers are deleted.
   */
  async snapshot(columns: string[], scan: (afterKey: number | undefined, limit: number) => unknown[][], chunkRows = 2000, at?: { index: number; term: number }): Promise<boolean> {
    if (this.snapshotting || this.corrupt) return false;
    this.snapshotting = true;
    const gen = this.gen;
    const tmp = join(this.dir, 'snap.tmp');
    try {
      // a replicated shard snapshots at its applied position (`at`: the rows are exactly those of that index,
      // its owner holds applies back during the scan), which may be below the log's end
      const S = at?.index ?? this.lastIndex;
      const T = at?.term ?? this.term;
      if (S <= this.snapIndex && at) return false;
      if (this.pos > 0 || this.fd < 0) {
        this.retire();
        this.openSegment(this.lastIndex + 1);
      }
      this.bytesSinceSnap = 0;
      const fd = openSync(tmp, 'w');
      try {
        writeAll(fd, encodeRecord(JSON.stringify({ kind: 'snapshot', i: S, t: T, columns } satisfies SnapHeader)));
        let after: number | undefined;
        let count = 0;
        for (;;) {
          const rows = scan(after, chunkRows);
          if (rows.length === 0) break;
          writeAll(fd, encodeRecord(JSON.stringify({ rows })));
          count += rows.length;
          after = rows[rows.length - 1][0] as number;
          await yieldNow();
          if (gen !== this.gen) return false;
        }
        writeAll(fd, encodeRecord(JSON.stringify({ end: true, count })));
        await fdatasyncP(fd);
      } finally {
        closeSync(fd);
      }
      // no await from this check to the rename: a reset cannot slip in between
      if (gen !== this.gen) return false;
      renameSync(tmp, join(this.dir, 'snap'));
      fsyncDir(this.dir);
      this.snapIndex = S;
      this.snapTerm = T;
      this.dropCovered(S);
      this.stats.snapshots++;
      return true;
    } finally {
      if (gen !== this.gen) rmSync(tmp, { force: true });
      this.snapshotting = false;
    }
  }

  /**
   * Deletes the segments the snapshot at S covers: a prefix of them in file order (a later segment may hold a
   * truncate record that cuts entries of an earlier one, so an earlier one never outlives a later one), each
   * holding no entry above S; never the current one.
   */
  private dropCovered(S: number): void {
    for (const seg of this.segments()) {
      if (seg.start === this.segStart && this.fd >= 0) break;
      if ((this.segMax.get(seg.start) ?? Infinity) > S) break;
      rmSync(seg.file, { force: true });
      this.segMax.delete(seg.start);
    }
  }

  /**
   * A replica installs a full copy (REPLICATION.md, /repl/copy): `rows` become the snapshot at (index, term) and
   * the log continues with `keep` (entries after index it already held, same term). Order, so that a crash at
   * any point leaves either the old state or the new one: a new segment with a truncate record at index + 1
   * and `keep` (fsynced: on the old snapshot it replaces the same entries by themselves), then the snapshot
   * (temp, fsync, rename, fsync dir), then the old segments go.
   */
  installSnapshot(columns: string[], index: number, term: number, rows: readonly unknown[][] | { records: readonly Buffer[]; count: number }, keep: readonly LogEntry[], chunkRows = 2000): void {
    const { old, data } = this.beginInstall(columns, index, term, rows, keep, chunkRows);
    writeFileAtomic(this.dir, 'snap', data);
    this.endInstall(old, index, term, keep);
  }

  /**
   * installSnapshot with the snapshot file written and fsynced off the event loop (a large copy). The caller
   * sends nothing else to this log until it resolves.
   */
  async installSnapshotAsync(columns: string[], index: number, term: number, rows: { records: readonly Buffer[]; count: number }, keep: readonly LogEntry[]): Promise<void> {
    const { old, data } = this.beginInstall(columns, index, term, rows, keep, 2000);
    const tmp = join(this.dir, 'snap.tmp');
    const fh = await openAsync(tmp, 'w');
    try {
      await fh.write(data, 0, data.length, 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    renameSync(tmp, join(this.dir, 'snap'));
    fsyncDir(this.dir);
    this.endInstall(old, index, term, keep);
  }

  private beginInstall(columns: string[], index: number, term: number, rows: readonly unknown[][] | { records: readonly Buffer[]; count: number }, keep: readonly LogEntry[], chunkRows: number): { old: { start: number; file: string }[]; data: Buffer } {
    this.gen++;
    this.retire();
    this.corrupt = undefined;
    mkdirSync(this.dir, { recursive: true });
    if (this.commitHint > index) {
      // the hint is about the log being replaced (a recreate at 0, a forced copy below it): on the new log it could
      // mark uncommitted entries committed after a restart. Gone before the new log is written (openSegment fsyncs
      // the folder); a hint write in flight is dropped by the gen check
      rmSync(join(this.dir, COMMIT_FILE), { force: true });
      this.commitHint = 0;
    }
    const old = this.segments();
    this.openSegment(index + 1);
    this.lastIndex = Math.max(this.lastIndex, index);
    this.writeRecord({ i: index + 1, t: 0, op: 'truncate' });
    for (const e of keep) this.writeRecord(e);
    fdatasyncSync(this.fd);
    this.stats.fsyncs++;
    this.synced = this.written;
    const parts = [encodeRecord(JSON.stringify({ kind: 'snapshot', i: index, t: term, columns } satisfies SnapHeader))];
    let count: number;
    if ('records' in rows) {
      // row records encoded as the copy's chunks arrived (no long encode here)
      parts.push(...rows.records);
      count = rows.count;
    } else {
      for (let k = 0; k < rows.length; k += chunkRows) parts.push(encodeRecord(JSON.stringify({ rows: rows.slice(k, k + chunkRows) })));
      count = rows.length;
    }
    parts.push(encodeRecord(JSON.stringify({ end: true, count })));
    return { old, data: Buffer.concat(parts) };
  }

  private endInstall(old: { start: number; file: string }[], index: number, term: number, keep: readonly LogEntry[]): void {
    for (const seg of old) {
      rmSync(seg.file, { force: true });
      this.segMax.delete(seg.start);
    }
    this.snapIndex = index;
    this.snapTerm = term;
    this.lastIndex = index + keep.length;
    this.term = Math.max(term, ...keep.map((e) => e.t));
    this.bytesSinceSnap = this.pos;
    this.stats.snapshots++;
  }

  /** Makes the hard state durable before the caller answers (temp file, fsync, rename, fsync dir). */
  saveHard(h: HardRecord): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.dir, HARD_FILE, JSON.stringify(h));
    this.hard = { ...h };
  }

  /** A log violation found before a restart (replication.ts): remembered until the shard is resynced. */
  violation: string | undefined;

  /** Remembers (durably) or forgets a log violation of this shard. */
  saveViolation(why: string | undefined): void {
    mkdirSync(this.dir, { recursive: true });
    if (why === undefined) {
      if (this.violation === undefined) return;
      rmSync(join(this.dir, VIOLATION_FILE), { force: true });
      fsyncDir(this.dir);
    } else writeFileAtomic(this.dir, VIOLATION_FILE, why);
    this.violation = why;
  }

  /** Writes the commit position as a hint, without fsync: a restart applies up to it at once; safety never needs it. */
  saveCommitHint(n: number): void {
    if (n === this.commitHint || this.corrupt || this.hintWriting) return;
    this.commitHint = n;
    // off the event loop (a rename can take milliseconds on a busy disk); one at a time, the next tick retries
    this.hintWriting = true;
    const tmp = join(this.dir, `${COMMIT_FILE}.tmp`);
    const gen = this.gen;
    void writeFileP(tmp, String(n))
      .then(() => {
        if (gen === this.gen) return renameP(tmp, join(this.dir, COMMIT_FILE));
        this.commitHint = -1; // the log was replaced meanwhile (a copy): the next call writes the hint again
      })
      .catch(() => {
        this.commitHint = -1; // not on disk: the next call writes it again
      })
      .finally(() => {
        this.hintWriting = false;
      });
  }
  private hintWriting = false;

  /**
   * Empties the shard on disk: an empty snapshot at a new index replaces snapshot and log at once (atomic
   * rename), so the refill that follows starts a clean log. Clears the corrupt mark.
   */
  reset(columns: string[]): void {
    this.gen++;
    this.retire();
    mkdirSync(this.dir, { recursive: true });
    const i = this.lastIndex + 1;
    const snap = Buffer.concat([
      encodeRecord(JSON.stringify({ kind: 'snapshot', i, t: this.term, columns } satisfies SnapHeader)),
      encodeRecord(JSON.stringify({ end: true, count: 0 })),
    ]);
    writeFileAtomic(this.dir, 'snap', snap);
    for (const s of this.segments()) rmSync(s.file, { force: true });
    this.snapIndex = this.lastIndex = i;
    this.corrupt = undefined;
    this.bytesSinceSnap = 0;
    this.openSegment(i + 1);
  }

  /** Forgets the shard on disk (a schema change drops every table). */
  destroy(): void {
    this.gen++;
    this.prepared = false;
    this.retire();
    rmSync(this.dir, { recursive: true, force: true });
    this.hard = undefined;
    this.loaded = [];
    this.segMax.clear();
    this.commitHint = 0;
    this.violation = undefined;
  }
}

function closeQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

export interface SavedConfig {
  format: number;
  schema: { columns: string[]; dtypes: string[] };
  shards: string[];
}

/** The server's configuration on disk; undefined when the data dir is new. Throws FormatError on another format. */
export function loadConfig(dataDir: string): SavedConfig | undefined {
  const f = join(dataDir, 'config.json');
  if (!existsSync(f)) {
    if (existsSync(join(dataDir, 'shards')))
      throw new FormatError(`${dataDir} holds shard data but no config.json: not written by this version`);
    return undefined;
  }
  const c = JSON.parse(readFileSync(f, 'utf8')) as SavedConfig;
  if (c.format !== FORMAT_VERSION) throw new FormatError(`${f} is of format ${c.format ?? 'none'}; this server reads format ${FORMAT_VERSION}`);
  return c;
}

export function saveConfig(dataDir: string, c: Omit<SavedConfig, 'format'>): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileAtomic(dataDir, 'config.json', JSON.stringify({ format: FORMAT_VERSION, ...c }));
}

/** The data dir's store id, made (and made durable) the first time. */
export function loadStoreId(dataDir: string): string {
  const f = join(dataDir, 'store-id');
  if (existsSync(f)) return readFileSync(f, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const id = randomUUID();
  writeFileAtomic(dataDir, 'store-id', id);
  return id;
}

export const shardDir = (dataDir: string, shard: string) => join(dataDir, 'shards', shard);
