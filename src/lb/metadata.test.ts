import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import initSqlJs from 'sql.js';
import { META_FORMAT, MetaStore, type PersistedState } from './metadata.js';

const state: PersistedState = {
  schema: { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] },
  shards: [
    { Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 4096, valid_idx: 0 },
    { Stud_id_low: 4096, Shard_id: 'sh2', Shard_size: 4096, valid_idx: 0 },
  ],
  servers: { Server0: ['sh1'], Server1: ['sh1', 'sh2'] },
  stale: [],
  primaries: { sh1: 'Server1', sh2: 'Server1' },
  terms: { sh1: 4, sh2: 1 },
  stores: { Server0: 'a1b2', Server1: 'c3d4' },
  written: ['sh1'],
};

test('metadata round-trips through its file, with its format, primaries (MapT.Primary), terms and store ids', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'shardctl-meta-')), 'meta.db');
  (await MetaStore.open(file)).save(state);
  assert.deepEqual((await MetaStore.open(file)).load(), state);
  assert.equal(META_FORMAT, 3);
});

test('metadata of format 2 (every replica written by the LB, no primaries) is refused with what to do', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'shardctl-meta-')), 'meta.db');
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.exec(`CREATE TABLE ShardT (Stud_id_low INTEGER, Shard_id TEXT PRIMARY KEY, Shard_size INTEGER, valid_idx INTEGER);
           CREATE TABLE MapT (Shard_id TEXT, Server_id TEXT, stale INTEGER DEFAULT 0);
           CREATE TABLE Meta (key TEXT PRIMARY KEY, value TEXT);`);
  db.run(`INSERT INTO Meta VALUES ('format', '2')`);
  db.run(`INSERT INTO Meta VALUES ('schema', ?)`, [JSON.stringify(state.schema)]);
  writeFileSync(file, db.export());
  const m = await MetaStore.open(file);
  assert.throws(() => m.load(), /format 2 and this shardctl reads format 3: .*shardctl down --volumes/);
});

test('metadata of an older format (no format row: servers kept rows in memory) is refused with what to do', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'shardctl-meta-')), 'meta.db');
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.exec(`CREATE TABLE ShardT (Stud_id_low INTEGER, Shard_id TEXT PRIMARY KEY, Shard_size INTEGER, valid_idx INTEGER);
           CREATE TABLE MapT (Shard_id TEXT, Server_id TEXT, stale INTEGER DEFAULT 0);
           CREATE TABLE Meta (key TEXT PRIMARY KEY, value TEXT);`);
  db.run(`INSERT INTO Meta VALUES ('schema', ?)`, [JSON.stringify(state.schema)]);
  writeFileSync(file, db.export());
  const m = await MetaStore.open(file);
  assert.throws(() => m.load(), /format 1 and this shardctl reads format 3: .*shardctl down --volumes/);
});
