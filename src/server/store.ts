/**
 * A shard server's storage: one sql.js table per shard, the shard key as INTEGER PRIMARY KEY (so range reads
 * walk the rowid b-tree in key order), other columns without a declared type so a value comes back exactly as it
 * was written (27 stays a number, "27" a string). The only sql.js importer on the server side.
 */
import initSqlJs, { type Database, type SqlValue, type Statement } from 'sql.js';
import { digestRows } from '../shared/digest.js';
import { ApiError, fail } from '../core/errors.js';
import { sameSchema, type Row, type Schema } from '../core/table.js';

interface ShardTable {
  insert: Statement;
  upsert: Statement;
  range: Statement;
  update: Statement;
  del: Statement;
  get: Statement;
  all: Statement;
  count: number;
}

export interface ShardDigest {
  count: number;
  digest: string;
}

export class ShardStore {
  private schema: Schema | undefined;
  private readonly tables = new Map<string, ShardTable>();
  /** this store's instance id when it is durable (kept on disk); undefined: in memory, the server makes one per start */
  readonly id: string | undefined = undefined;
  private constructor(private readonly db: Database) {}

  static async open(): Promise<ShardStore> {
    const SQL = await initSqlJs();
    const db = new SQL.Database();
    // tables live in an attached ':memory:' database: pages stay inside SQLite instead of going through
    // sql.js's emulated file system on every commit
    db.exec("PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; ATTACH DATABASE ':memory:' AS m;");
    return new ShardStore(db);
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
    if (this.schema && !sameSchema(this.schema, schema)) {
      for (const id of [...this.tables.keys()]) this.drop(id);
    }
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
        upsert: this.db.prepare(`INSERT OR REPLACE INTO ${t} (${list}) VALUES (${cols.map(() => '?').join(', ')})`),
        range: this.db.prepare(`SELECT ${list} FROM ${t} WHERE ${key} BETWEEN ? AND ? ORDER BY ${key}`),
        update: this.db.prepare(`UPDATE ${t} SET ${cols.slice(1).map((c) => `${q(c)} = ?`).join(', ') || `${key} = ${key}`} WHERE ${key} = ?`),
        del: this.db.prepare(`DELETE FROM ${t} WHERE ${key} = ?`),
        get: this.db.prepare(`SELECT ${list} FROM ${t} WHERE ${key} = ?`),
        all: this.db.prepare(`SELECT ${list} FROM ${t} ORDER BY ${key}`),
        count: 0,
      });
    }
  }

  private drop(id: string): void {
    const t = this.tables.get(id);
    if (!t) return;
    for (const s of [t.insert, t.upsert, t.range, t.update, t.del, t.get, t.all]) s.free();
    this.db.exec(`DROP TABLE IF EXISTS m."${id}"`);
    this.tables.delete(id);
  }

  private table(shard: string): ShardTable {
    const t = this.tables.get(shard);
    if (!t) {
      if (!this.schema) fail('NOT_CONFIGURED', 'Server is not configured; POST /config first');
      fail('UNKNOWN_SHARD', `Shard ${shard} is not on this server`);
    }
    return t;
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
    return rows.length;
  }

  /** Replaces the row with `key`; false when there is none. */
  update(shard: string, key: number, row: Row): boolean {
    const t = this.table(shard);
    const cols = this.schema!.columns;
    const vals: SqlValue[] = cols.slice(1).map((c) => row[c]);
    vals.push(key);
    t.update.run(vals);
    return this.db.getRowsModified() > 0;
  }

  /** Deletes the row with `key`; false when there is none. */
  del(shard: string, key: number): boolean {
    const t = this.table(shard);
    t.del.run([key]);
    const n = this.db.getRowsModified();
    t.count -= n;
    return n > 0;
  }

  /** Row count and a SHA-1 of the rows in key order: equal digests mean identical replicas. */
  digest(shard: string): ShardDigest {
    const rows = this.all(shard);
    return { count: rows.length, digest: digestRows(rows) };
  }

  /**
   * Undoes a write the LB could not acknowledge (no majority): deletes `remove`, puts back `restore`
   * (rows an update overwrote or a delete removed). One transaction.
   */
  rollback(shard: string, remove: number[], restore: Row[]): void {
    const t = this.table(shard);
    const cols = this.schema!.columns;
    this.db.exec('BEGIN');
    try {
      for (const k of remove) {
        t.del.run([k]);
        t.count -= this.db.getRowsModified();
      }
      for (const r of restore) {
        const existed = this.rows(t.get, [r[cols[0]]]).length > 0;
        t.upsert.run(cols.map((c) => r[c]));
        if (!existed) t.count++;
      }
      this.db.exec('COMMIT');
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  /** Empties shards (before a copy-back into a server that may hold stale rows). */
  reset(shards: string[]): void {
    for (const id of shards) {
      const t = this.table(id);
      this.db.exec(`DELETE FROM m."${id}"`);
      t.count = 0;
    }
  }
}
