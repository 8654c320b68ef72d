/**
 * The LB's metadata (the assignment's ShardT and MapT) in sql.js, written to a file (process runtime) or a
 * volume (docker) after every membership change so a restarted LB resumes the same cluster. Never touched on
 * the request path: the LB serves from its in-memory topology and calls save() only when membership changes.
 */
import initSqlJs, { type Database } from 'sql.js';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';
import type { ShardDef } from '../core/shard-map.js';
import type { Schema } from '../core/table.js';

export interface PersistedState {
  schema: Schema;
  shards: (ShardDef & { valid_idx: number })[];
  servers: Record<string, string[]>;
  /** servers fenced (missed a write) and not yet refilled: never trust their rows after a restart */
  stale: string[];
  /** shard -> its primary (MapT.Primary, as the assignment's metadata has it) */
  primaries: Record<string, string>;
  /** shard -> the newest term the LB started an election of (ShardT.term): a restarted LB elects above it */
  terms: Record<string, number>;
  /**
   * server -> the store id it last served with (its volume's): a restarted LB that finds another store behind a
   * name knows that volume was lost and recreates its shards before it votes. Absent in metadata of session 3.
   */
  stores?: Record<string, string>;
  /** shards a client change was ever sent to (Lead.written); absent in metadata of session 3: all of them */
  written?: string[];
}

/**
 * The metadata's format. 3: a primary per shard (MapT.Primary) and its term (ShardT.term); 2: servers kept their
 * rows on disk, every replica written by the LB; 1 (no `format` row): rows in memory only. Another format is
 * refused with what to do.
 */
export const META_FORMAT = 3;

export class MetaStore {
  private constructor(
    private readonly db: Database,
    private readonly file: string | undefined,
  ) {}

  static async open(file?: string): Promise<MetaStore> {
    const SQL = await initSqlJs();
    const db = file && existsSync(file) ? new SQL.Database(readFileSync(file)) : new SQL.Database();
    db.exec(`CREATE TABLE IF NOT EXISTS ShardT (Stud_id_low INTEGER, Shard_id TEXT PRIMARY KEY, Shard_size INTEGER, valid_idx INTEGER, term INTEGER DEFAULT 0);
             CREATE TABLE IF NOT EXISTS MapT (Shard_id TEXT, Server_id TEXT, stale INTEGER DEFAULT 0, "Primary" INTEGER DEFAULT 0);
             CREATE TABLE IF NOT EXISTS Meta (key TEXT PRIMARY KEY, value TEXT);`);
    return new MetaStore(db, file);
  }

  load(): PersistedState | undefined {
    const schema = this.db.exec(`SELECT value FROM Meta WHERE key = 'schema'`)[0]?.values[0]?.[0];
    if (typeof schema !== 'string') return undefined;
    const format = Number(this.db.exec(`SELECT value FROM Meta WHERE key = 'format'`)[0]?.values[0]?.[0] ?? 1);
    if (format !== META_FORMAT)
      throw new Error(
        `the saved metadata ${this.file ?? ''} is of format ${format} and this shardctl reads format ${META_FORMAT}: ` +
          'run the shardctl that wrote it, or delete that cluster with `shardctl down --volumes` (its data goes too) and `up` + `init` again',
      );
    const terms: Record<string, number> = {};
    const shards = (this.db.exec('SELECT Stud_id_low, Shard_id, Shard_size, valid_idx, term FROM ShardT ORDER BY Stud_id_low')[0]?.values ?? []).map(
      ([low, id, size, idx, term]) => {
        terms[String(id)] = Number(term ?? 0);
        return { Stud_id_low: Number(low), Shard_id: String(id), Shard_size: Number(size), valid_idx: Number(idx) };
      },
    );
    const servers: Record<string, string[]> = {};
    const order = JSON.parse(String(this.db.exec(`SELECT value FROM Meta WHERE key = 'servers'`)[0]?.values[0]?.[0] ?? '[]')) as string[];
    for (const s of order) servers[s] = [];
    const stale = new Set<string>();
    const primaries: Record<string, string> = {};
    for (const [sh, srv, st, prim] of this.db.exec('SELECT Shard_id, Server_id, stale, "Primary" FROM MapT ORDER BY rowid')[0]?.values ?? []) {
      (servers[String(srv)] ??= []).push(String(sh));
      if (Number(st)) stale.add(String(srv));
      if (Number(prim)) primaries[String(sh)] = String(srv);
    }
    const stores = JSON.parse(String(this.db.exec(`SELECT value FROM Meta WHERE key = 'stores'`)[0]?.values[0]?.[0] ?? '{}')) as Record<string, string>;
    const w = this.db.exec(`SELECT value FROM Meta WHERE key = 'written'`)[0]?.values[0]?.[0];
    const written = w === undefined ? shards.map((s) => s.Shard_id) : (JSON.parse(String(w)) as string[]);
    return { schema: JSON.parse(schema) as Schema, shards, servers, stale: [...stale], primaries, terms, stores, written };
  }

  save(s: PersistedState | undefined): void {
    this.db.exec('BEGIN; DELETE FROM ShardT; DELETE FROM MapT; DELETE FROM Meta;');
    if (s) {
      this.db.run(`INSERT INTO Meta VALUES ('format', ?)`, [String(META_FORMAT)]);
      this.db.run(`INSERT INTO Meta VALUES ('schema', ?)`, [JSON.stringify(s.schema)]);
      this.db.run(`INSERT INTO Meta VALUES ('servers', ?)`, [JSON.stringify(Object.keys(s.servers))]);
      this.db.run(`INSERT INTO Meta VALUES ('stores', ?)`, [JSON.stringify(s.stores ?? {})]);
      this.db.run(`INSERT INTO Meta VALUES ('written', ?)`, [JSON.stringify(s.written ?? s.shards.map((x) => x.Shard_id))]);
      for (const sh of s.shards) this.db.run('INSERT INTO ShardT VALUES (?, ?, ?, ?, ?)', [sh.Stud_id_low, sh.Shard_id, sh.Shard_size, sh.valid_idx, s.terms[sh.Shard_id] ?? 0]);
      const stale = new Set(s.stale);
      for (const [srv, list] of Object.entries(s.servers))
        for (const sh of list) this.db.run('INSERT INTO MapT VALUES (?, ?, ?, ?)', [sh, srv, stale.has(srv) ? 1 : 0, s.primaries[sh] === srv ? 1 : 0]);
    }
    this.db.exec('COMMIT');
    if (this.file) {
      mkdirSync(dirname(this.file), { recursive: true });
      writeFileAtomic(dirname(this.file), basename(this.file), Buffer.from(this.db.export()));
    }
  }
}
