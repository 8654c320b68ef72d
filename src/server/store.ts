/**
 * A shard server's storage: one sql.js table per shard, the shard key as INTEGER PRIMARY KEY (so range reads
 * walk the rowid b-tree in key order), other columns without a declared type so a value comes back exactly as it
 * was written (27 stays a number, "27" a string). The only sql.js importer on the server side.
 */
import initSqlJs, { type Database, type SqlValue, type Statement } from 'sql.js';
import { digestRows } from '../shared/digest.js';
import { ApiError, fail } from '../core/errors.js';
import { sameSchema, type Row, type Schema } from '../core/table.js';
import type { BaseOp, EntryOp, LogEntry } from './wal-format.js';
import { loadConfig, loadStoreId, saveConfig, ShardLog, shardDir, SLICE_MS, yieldNow, type WalStats } from './wal.js';

interface ShardTable {
  insert: Statement;
  /** INSERT OR IGNORE: a new key inserts (one change), a stored one changes nothing (zero) */
  insertNew: Statement;
  upsert: Statement;
  range: Statement;
  update: Statement;
  del: Statement;
  get: Statement;
  all: Statement;
  /** up to ? rows with key > ?, in key order (snapshots, chunked copies) */
  after: Statement;
  count: number;
}

export interface StoreOptions {
  /** where the shards' logs and snapshots live; none: memory only (unit tests) */
  dataDir?: string;
  /** log bytes appended since a shard's last snapshot that trigger the next one */
  snapshotBytes?: number;
  /** size of a log segment (preallocated with zeros); 4 MiB */
  segmentBytes?: number;
  /** called when the disk fails under a write (fsync error): the server cannot promise durability any more */
  onFatal?: (e: Error) => void;
  /** errors of background work (snapshots) */
  warn?: (msg: string, detail: Record<string, unknown>) => void;
}

/** Per shard, what GET /state reports. */
export interface ShardState {
  rows: number;
  last_index: number;
  commit_index: number;
  term: number;
  role: null;
  replaying: boolean;
  corrupt: string | null;
  snapshot_index: number;
}

const LOWEST_KEY = -1e19;

export interface ShardDigest {
  count: number;
  digest: string;
}

export class ShardStore {
  private schema: Schema | undefined;
  private readonly tables = new Map<string, ShardTable>();
  /** per shard its log on disk (none when the store is memory only) */
  private readonly logs = new Map<string, ShardLog>();
  readonly walStats: WalStats = { fsyncs: 0, snapshots: 0 };
  /** true until replay() has read every shard back from disk */
  replaying = false;
  /** resolves when replay is over; requests other than /heartbeat and /state wait for it */
  ready: Promise<void> = Promise.resolve();
  /** requests that change data in progress (the app counts them), so flush() knows whether anyone shares its fsync */
  writers = 0;
  /**
   * This store's instance id when it is durable (kept in its data dir, so a restart on the same data is the same
   * store: the LB may re-admit it without a copy); undefined: in memory, the server makes one per start.
   */
  readonly id: string | undefined = undefined;
  private readonly snapshotBytes: number;
  private constructor(
    private readonly db: Database,
    private readonly opts: StoreOptions,
  ) {
    this.snapshotBytes = opts.snapshotBytes ?? 16 * 1024 * 1024;
    if (opts.dataDir) this.id = loadStoreId(opts.dataDir);
  }

  static async open(opts: StoreOptions = {}): Promise<ShardStore> {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    // tables live in an attached ':memory:' database: pages stay inside SQLite instead of going through
    // sql.js's emulated file system on every commit
    db.exec("PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; ATTACH DATABASE ':memory:' AS m;");
    return new ShardStore(db, opts);
  }

  get durable(): boolean {
    return this.opts.dataDir !== undefined;
  }

  /**
   * Reads the data dir back (configuration, then per shard snapshot + log), yielding to the event loop as it
   * goes so /heartbeat keeps answering. Throws FormatError when the data dir is of another format.
   */
  replay(): Promise<void> {
    const dir = this.opts.dataDir;
    if (!dir) return Promise.resolve();
    const saved = loadConfig(dir);
    if (!saved) return Promise.resolve();
    this.replaying = true;
    this.ready = (async () => {
      try {
        this.configureTables(saved.schema as Schema, saved.shards);
        for (const id of saved.shards) {
          const log = new ShardLog(shardDir(dir, id), this.walStats, this.opts.segmentBytes);
          this.logs.set(id, log);
        }
        for (const id of saved.shards) await this.replayShard(id);
      } finally {
        this.replaying = false;
      }
    })();
    return this.ready;
  }

  private async replayShard(id: string): Promise<void> {
    const t = this.tables.get(id)!;
    const cols = this.schema!.columns;
    const upsert = (vals: unknown[]) => t.upsert.run(vals as SqlValue[]);
    const tx = (fn: () => void) => {
      this.db.exec('BEGIN');
      try {
        fn();
        this.db.exec('COMMIT');
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      }
    };
    await this.logs.get(id)!.load(cols, {
      rows: (rows) => tx(() => rows.forEach(upsert)),
      entry: (e: LogEntry) =>
        tx(() => {
          // every entry sets final values, so applying one the snapshot already reflects changes nothing
          const apply = (o: BaseOp) => {
            if (o.op === 'write') o.rows.forEach(upsert);
            else if (o.op === 'update') upsert([o.key, ...o.row]);
            else if (o.op === 'delete') t.del.run([o.key]);
            else if (o.op === 'rollback') {
              for (const k of o.remove) t.del.run([k]);
              o.restore.forEach(upsert);
            } else if (o.op === 'reset') this.db.exec(`DELETE FROM m."${id}"`);
          };
          if (e.op === 'batch') e.ops.forEach(apply);
          else if (e.op !== 'truncate') apply(e);
        }),
    });
    t.count = Number(this.db.exec(`SELECT COUNT(*) FROM m."${id}"`)[0].values[0][0]);
  }

  /** Makes every change logged so far durable (one fdatasync per touched log, shared with concurrent requests). */
  async flush(): Promise<void> {
    if (this.logs.size === 0) return;
    // a lone writer syncs inline (lower latency, less CPU); concurrent ones share an asynchronous group commit
    const inline = this.writers <= 1;
    try {
      await Promise.all([...this.logs.values()].map((l) => l.sync(inline)));
    } catch (e) {
      this.opts.onFatal?.(e as Error);
      throw e;
    }
    for (const [id, log] of this.logs) {
      // a replicated shard compacts under its replication state (replication.ts): at its applied position only
      if (log.hard) continue;
      if (log.bytesSinceSnap >= this.snapshotBytes && !log.snapshotInProgress && !log.corrupt && this.tables.has(id)) void this.snapshot(id);
    }
  }

  /** The shard's log on disk (undefined: memory only). */
  logOf(shard: string): ShardLog | undefined {
    return this.logs.get(shard);
  }

  /** Log bytes since the last snapshot that call for the next one. */
  get snapshotThreshold(): number {
    return this.snapshotBytes;
  }

  /**
   * Makes one shard's appends durable (a replication call's single fsync). `inline`: a blocking fdatasync (a lone
   * request); a primary passes false so its appends leave for the replicas while its own fsync runs.
   */
  async syncShard(shard: string, inline = this.writers <= 1): Promise<void> {
    const log = this.logs.get(shard);
    if (!log) return;
    try {
      await log.sync(inline);
    } catch (e) {
      this.opts.onFatal?.(e as Error);
      throw e;
    }
  }

  /**
   * Applies one committed entry's change to the table (a replicated shard applies entries only once they are
   * committed; nothing is logged here, the entry already is). Every op sets final values, so applying one the
   * table already reflects changes nothing.
   */
  applyOp(shard: string, op: EntryOp): void {
    this.applyOps(shard, this.table(shard, true), op.op === 'batch' ? op.ops : [op]);
  }

  /** The ops in one transaction: all or nothing, the row count included. */
  private applyOps(shard: string, t: ShardTable, ops: readonly BaseOp[]): void {
    this.db.exec('BEGIN');
    try {
      for (const o of ops) {
        if (o.op === 'write') {
          for (const r of o.rows) this.put(t, r);
        } else if (o.op === 'update') {
          this.put(t, [o.key, ...o.row]);
        } else if (o.op === 'delete') {
          t.del.run([o.key]);
          t.count -= this.db.getRowsModified();
        } else if (o.op === 'rollback') {
          for (const k of o.remove) {
            t.del.run([k]);
            t.count -= this.db.getRowsModified();
          }
          for (const r of o.restore) this.put(t, r);
        } else if (o.op === 'reset') {
          this.db.exec(`DELETE FROM m."${shard}"`);
          t.count = 0;
        }
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      // the rows counted before the failure were rolled back with it
      t.count = Number(this.db.exec(`SELECT COUNT(*) FROM m."${shard}"`)[0].values[0][0]);
      throw e;
    }
  }

  /** Replaces every row of the shard (a replica installing a full copy, or recreated empty). */
  replaceRows(shard: string, rows: readonly unknown[][]): void {
    const t = this.table(shard, true);
    this.db.exec('BEGIN');
    try {
      this.db.exec(`DELETE FROM m."${shard}"`);
      for (const r of rows) t.upsert.run(r as SqlValue[]);
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
    t.count = rows.length;
  }

  /**
   * Replaces every row of the shard, yielding every SLICE_MS (a large copy must not hold heartbeats up). Not
   * atomic for readers: the caller refuses reads of the shard until it resolves.
   */
  async replaceRowsAsync(shard: string, rows: readonly unknown[][]): Promise<void> {
    const t = this.table(shard, true);
    const key = this.schema!.columns[0];
    // time-sliced (SLICE_MS), one transaction per slice: the old rows go 2,000 at a time, then the new ones
    let slice = Date.now();
    const pause = async () => {
      if (Date.now() - slice < SLICE_MS) return false;
      await yieldNow();
      slice = Date.now();
      return true;
    };
    for (;;) {
      this.db.exec(`DELETE FROM m."${shard}" WHERE "${key}" IN (SELECT "${key}" FROM m."${shard}" LIMIT 2000)`);
      if (this.db.getRowsModified() === 0) break;
      await pause();
      if (!this.tables.has(shard)) return;
    }
    t.count = 0;
    let k = 0;
    while (k < rows.length) {
      this.db.exec('BEGIN');
      try {
        do {
          const end = Math.min(rows.length, k + 256);
          for (; k < end; k++) t.upsert.run(rows[k] as SqlValue[]);
        } while (k < rows.length && Date.now() - slice < SLICE_MS);
        this.db.exec('COMMIT');
      } catch (e) {
        this.db.exec('ROLLBACK');
        throw e;
      }
      t.count = k;
      await pause();
      if (!this.tables.has(shard)) return;
    }
    t.count = Number(this.db.exec(`SELECT COUNT(*) FROM m."${shard}"`)[0].values[0][0]);
  }

  /** The shard's row as column values, or undefined. */
  rowValues(shard: string, key: number): unknown[] | undefined {
    return this.values(this.table(shard).get, [key])[0];
  }

  /** Every row as column values in key order, a chunk at a time with the event loop free in between. */
  async rowArrays(shard: string, chunk = 5000): Promise<unknown[][]> {
    const out: unknown[][] = [];
    let after = LOWEST_KEY;
    for (;;) {
      const vals = this.values(this.table(shard, true).after, [after, chunk]);
      for (const v of vals) out.push(v);
      if (vals.length < chunk) return out;
      after = vals[vals.length - 1][0] as number;
      await yieldNow();
    }
  }

  /** Writes a snapshot of the shard in the background and drops the log it covers. */
  async snapshot(id: string, at?: { index: number; term: number }): Promise<boolean> {
    const log = this.logs.get(id);
    if (!log || !this.schema) return false;
    const cols = this.schema.columns;
    try {
      return await log.snapshot(cols, (after, limit) => {
        const t = this.tables.get(id);
        if (!t) throw new Error(`shard ${id} was dropped`);
        return this.values(t.after, [after ?? LOWEST_KEY, limit]);
      }, 2000, at);
    } catch (e) {
      this.opts.warn?.('snapshot failed', { shard: id, err: String(e) });
      return false;
    }
  }

  /** GET /state: per shard its rows and log positions. */
  state(): Record<string, ShardState> {
    const out: Record<string, ShardState> = {};
    for (const [id, t] of this.tables) {
      const log = this.logs.get(id);
      out[id] = {
        rows: t.count,
        last_index: log?.lastIndex ?? 0,
        // no primaries yet: what is logged is committed (the LB acknowledges after every live replica answered)
        commit_index: log?.lastIndex ?? 0,
        term: log?.term ?? 0,
        role: null,
        replaying: log?.replaying ?? false,
        corrupt: log?.corrupt ?? null,
        snapshot_index: log?.snapIndex ?? 0,
      };
    }
    return out;
  }

  get configuredSchema(): Schema | undefined {
    return this.schema;
  }

  shards(): string[] {
    return [...this.tables.keys()];
  }

  has(shard: string): boolean {
    return this.tables.has(shard);
  }

  /**
   * Creates the shards' tables. The same schema again adds shards and keeps existing rows (idempotent /config);
   * a different schema starts the server over, since its old rows no longer fit.
   */
  configure(schema: Schema, shards: string[]): void {
    const changed = !this.schema || !sameSchema(this.schema, schema) || shards.some((id) => !this.tables.has(id));
    if (this.schema && !sameSchema(this.schema, schema)) {
      for (const id of [...this.tables.keys()]) this.drop(id);
    }
    this.configureTables(schema, shards);
    const dir = this.opts.dataDir;
    if (dir && changed) {
      for (const id of this.tables.keys()) {
        if (this.logs.has(id)) continue;
        // a shard new to this server starts an empty log (whatever an older life left in its folder goes)
        const log = new ShardLog(shardDir(dir, id), this.walStats, this.opts.segmentBytes);
        log.destroy();
        this.logs.set(id, log);
      }
      saveConfig(dir, { schema, shards: [...this.tables.keys()] });
    }
  }

  private configureTables(schema: Schema, shards: string[]): void {
    this.schema = schema;
    const cols = schema.columns;
    const q = (c: string) => `"${c}"`;
    for (const id of shards) {
      if (this.tables.has(id)) continue;
      const t = `m.${q(id)}`;
      const defs = cols.map((c, i) => (i === 0 ? `${q(c)} INTEGER PRIMARY KEY` : q(c))).join(', ');
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${t} (${defs})`);
      const key = q(cols[0]);
      const list = cols.map(q).join(', ');
      this.tables.set(id, {
        insert: this.db.prepare(`INSERT INTO ${t} (${list}) VALUES (${cols.map(() => '?').join(', ')})`),
        insertNew: this.db.prepare(`INSERT OR IGNORE INTO ${t} (${list}) VALUES (${cols.map(() => '?').join(', ')})`),
        upsert: this.db.prepare(`INSERT OR REPLACE INTO ${t} (${list}) VALUES (${cols.map(() => '?').join(', ')})`),
        range: this.db.prepare(`SELECT ${list} FROM ${t} WHERE ${key} BETWEEN ? AND ? ORDER BY ${key}`),
        update: this.db.prepare(`UPDATE ${t} SET ${cols.slice(1).map((c) => `${q(c)} = ?`).join(', ') || `${key} = ${key}`} WHERE ${key} = ?`),
        del: this.db.prepare(`DELETE FROM ${t} WHERE ${key} = ?`),
        get: this.db.prepare(`SELECT ${list} FROM ${t} WHERE ${key} = ?`),
        all: this.db.prepare(`SELECT ${list} FROM ${t} ORDER BY ${key}`),
        after: this.db.prepare(`SELECT ${list} FROM ${t} WHERE ${key} > ? ORDER BY ${key} LIMIT ?`),
        count: 0,
      });
    }
  }

  /** Called with a shard's id when its table is dropped (a schema change): its replication state goes with it. */
  readonly onDrop: ((shard: string) => void)[] = [];

  private drop(id: string): void {
    const t = this.tables.get(id);
    if (!t) return;
    for (const f of this.onDrop) f(id);
    for (const s of [t.insert, t.insertNew, t.upsert, t.range, t.update, t.del, t.get, t.all, t.after]) s.free();
    this.db.exec(`DROP TABLE IF EXISTS m."${id}"`);
    this.tables.delete(id);
    this.logs.get(id)?.destroy();
    this.logs.delete(id);
  }

  /** The shard's table; a corrupt shard is refused (503) for everything but a reset, which refills it. */
  private table(shard: string, allowCorrupt = false): ShardTable {
    const t = this.tables.get(shard);
    if (!t) {
      if (!this.schema) fail('NOT_CONFIGURED', 'Server is not configured; POST /config first');
      fail('UNKNOWN_SHARD', `Shard ${shard} is not on this server`);
    }
    const bad = this.logs.get(shard)?.corrupt;
    if (bad && !allowCorrupt)
      fail('SHARD_CORRUPT', `Shard ${shard} on this server has a damaged log (${bad}); it serves again once the load balancer refills it`);
    return t;
  }

  /**
   * Sets one row to `vals` (key first), counting it when the key is new: one INSERT OR IGNORE, and an UPDATE only
   * when the key was stored (a re-applied entry). Not a SELECT and an upsert: a key lookup per row was about a
   * third of applying a 100-row write.
   */
  private put(t: ShardTable, vals: readonly unknown[]): void {
    t.insertNew.run(vals as SqlValue[]);
    if (this.db.getRowsModified() > 0) t.count++;
    else t.update.run([...vals.slice(1), vals[0]] as SqlValue[]);
  }

  private values(stmt: Statement, params: SqlValue[]): unknown[][] {
    const out: unknown[][] = [];
    stmt.bind(params);
    try {
      while (stmt.step()) out.push(stmt.get());
    } finally {
      stmt.reset();
    }
    return out;
  }

  /**
   * Every row of the shard in key order, read a chunk at a time with the event loop free in between (a large
   * shard's /copy or /digest must not hold heartbeats up). The LB calls these under the shard's lock, so no
   * write of the shard interleaves.
   */
  async allAsync(shard: string, chunk = 5000): Promise<Row[]> {
    this.table(shard);
    const cols = this.schema!.columns;
    const out: Row[] = [];
    let after = LOWEST_KEY;
    let slice = Date.now();
    for (;;) {
      const vals = this.values(this.table(shard).after, [after, chunk]);
      for (const v of vals) {
        const r: Row = {};
        for (let i = 0; i < cols.length; i++) r[cols[i]] = v[i] as string | number;
        out.push(r);
      }
      if (vals.length < chunk) return out;
      after = vals[vals.length - 1][0] as number;
      if (Date.now() - slice >= SLICE_MS) {
        await yieldNow();
        slice = Date.now();
      }
    }
  }

  private rows(stmt: Statement, params: SqlValue[]): Row[] {
    const cols = this.schema!.columns;
    const out: Row[] = [];
    stmt.bind(params);
    try {
      while (stmt.step()) {
        const v = stmt.get();
        const r: Row = {};
        for (let i = 0; i < cols.length; i++) r[cols[i]] = v[i] as string | number;
        out.push(r);
      }
    } finally {
      stmt.reset();
    }
    return out;
  }

  /** Rows with low <= key <= high, in key order. */
  read(shard: string, low: number, high: number): Row[] {
    return this.rows(this.table(shard).range, [low, high]);
  }

  all(shard: string): Row[] {
    return this.rows(this.table(shard).all, []);
  }

  get(shard: string, key: number): Row | undefined {
    return this.rows(this.table(shard).get, [key])[0];
  }

  count(shard: string): number {
    return this.table(shard).count;
  }

  /** Inserts every row in one transaction: all or nothing. A key already stored is a DUPLICATE_KEY. */
  write(shard: string, rows: Row[]): number {
    const t = this.table(shard);
    const cols = this.schema!.columns;
    this.db.exec('BEGIN');
    let i = 0;
    try {
      const vals: SqlValue[] = new Array(cols.length);
      for (; i < rows.length; i++) {
        const r = rows[i];
        for (let c = 0; c < cols.length; c++) vals[c] = r[cols[c]];
        t.insert.run(vals);
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      if (String((e as Error).message).includes('UNIQUE'))
        throw new ApiError('DUPLICATE_KEY', `Duplicate ${cols[0]} ${rows[i]?.[cols[0]]}: already stored in ${shard}`);
      throw e;
    }
    t.count += rows.length;
    const log = this.logs.get(shard);
    if (log) log.append({ op: 'write', rows: rows.map((r) => cols.map((c) => r[c])) });
    return rows.length;
  }

  /** Replaces the row with `key`; false when there is none. */
  update(shard: string, key: number, row: Row): boolean {
    const t = this.table(shard);
    const cols = this.schema!.columns;
    const vals: SqlValue[] = cols.slice(1).map((c) => row[c]);
    vals.push(key);
    t.update.run(vals);
    if (this.db.getRowsModified() === 0) return false;
    this.logs.get(shard)?.append({ op: 'update', key, row: vals.slice(0, -1) });
    return true;
  }

  /** Deletes the row with `key`; false when there is none. */
  del(shard: string, key: number): boolean {
    const t = this.table(shard);
    t.del.run([key]);
    const n = this.db.getRowsModified();
    t.count -= n;
    if (n > 0) this.logs.get(shard)?.append({ op: 'delete', key });
    return n > 0;
  }

  /** Row count and a SHA-1 of the rows in key order: equal digests mean identical replicas. */
  async digest(shard: string): Promise<ShardDigest> {
    const rows = await this.allAsync(shard);
    return { count: rows.length, digest: digestRows(rows) };
  }

  /**
   * Undoes a write the LB could not acknowledge (no majority): deletes `remove`, puts back `restore`
   * (rows an update overwrote or a delete removed). One transaction.
   */
  rollback(shard: string, remove: number[], restore: Row[]): void {
    const cols = this.schema!.columns;
    const op: BaseOp = { op: 'rollback', remove, restore: restore.map((r) => cols.map((c) => r[c])) };
    this.applyOps(shard, this.table(shard), [op]);
    this.logs.get(shard)?.append(op);
  }

  /**
   * Empties shards (before a copy-back into a server that may hold stale rows). On disk the shard's snapshot
   * and log are replaced by an empty snapshot, which also clears a corrupt mark: the refill rewrites the log.
   */
  reset(shards: string[]): void {
    for (const id of shards) {
      const t = this.table(id, true);
      this.db.exec(`DELETE FROM m."${id}"`);
      t.count = 0;
      this.logs.get(id)?.reset(this.schema!.columns);
    }
  }
}
