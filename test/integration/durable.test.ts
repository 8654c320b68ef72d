/**
 * Rows outlive the cluster's processes (process runtime, real processes): every server and the LB killed at once
 * and started again; `shardctl down` then `up`; `down --volumes` deleting the data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allRows, call, config, replicasIdentical, row, startLb, until } from '../helpers/lb-process.js';
import { cliRunner, freePort } from '../helpers/cli.js';
import { pidAlive } from '../../src/runtime/process.js';

const DEFAULT = config('default');

/** Gone, or a zombie (killed children of a killed LB wait for a reaper that a container's init may not be). */
function dead(pid: number): boolean {
  if (!pidAlive(pid)) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

function serverPids(stateDir: string): number[] {
  return (JSON.parse(readFileSync(join(stateDir, 'servers.json'), 'utf8')) as { pid: number }[]).map((e) => e.pid);
}

/** Concurrent single-row writes plus some updates and deletes; what was acknowledged, as id -> marks (undefined: deleted). */
async function load(url: string, n: number): Promise<Map<number, unknown>> {
  const acked = new Map<number, unknown>();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n) {
        const id = (next++ * 7919) % 16384;
        const r = await call(url, 'POST', '/write', { data: [row(id)] });
        assert.equal(r.status, 200, r.text);
        acked.set(id, row(id).Stud_marks);
      }
    }),
  );
  const ids = [...acked.keys()];
  for (const id of ids.slice(0, 20)) {
    assert.equal((await call(url, 'PUT', '/update', { Stud_id: id, data: row(id, 'updated') })).status, 200);
    acked.set(id, 'updated');
  }
  for (const id of ids.slice(20, 30)) {
    assert.equal((await call(url, 'DELETE', '/del', { Stud_id: id })).status, 200);
    acked.delete(id);
  }
  return acked;
}

async function assertRows(url: string, want: Map<number, unknown>): Promise<void> {
  const rows = await allRows(url);
  assert.equal(rows.length, want.size, `${rows.length} rows read back, ${want.size} acknowledged`);
  for (const r of rows) assert.equal(r.Stud_marks, want.get(r.Stud_id), `row ${r.Stud_id}`);
  await replicasIdentical(url);
}

test('every server and the LB killed at once (SIGKILL), started again: every acknowledged row back, replicas identical', async (t) => {
  const lb = await startLb({ SHARDCTL_HB_INTERVAL_MS: '200', SHARDCTL_HB_TIMEOUT_MS: '300' });
  let again: Awaited<ReturnType<typeof startLb>> | undefined;
  t.after(async () => {
    await again?.stop();
    await lb.stop();
  });
  assert.equal((await call(lb.url, 'POST', '/init', DEFAULT)).status, 200);
  const acked = await load(lb.url, 1500);
  const pids = serverPids(lb.stateDir);
  assert.equal(pids.length, 6);
  // all at once: no process gets to save or flush anything more
  for (const pid of [lb.child.pid!, ...pids]) process.kill(pid, 'SIGKILL');
  await until('every process gone', async () => [lb.child.pid!, ...pids].every(dead), 5000);

  again = await startLb({ SHARDCTL_HB_INTERVAL_MS: '200', SHARDCTL_HB_TIMEOUT_MS: '300' }, lb.stateDir);
  await until('serving', async () => (await call(again!.url, 'POST', '/read', { Stud_id: { low: 0, high: 10 } })).status === 200, 30_000);
  await assertRows(again.url, acked);
  // the servers were started again on their data, not refilled from nothing
  const ev = (await call(again.url, 'GET', '/events')).body;
  assert.ok(JSON.stringify(ev).includes('on its stored data'), 'servers restarted on their stored data');
  // the key index came back: a stored key is a duplicate, a new one is accepted
  const stored = [...acked.keys()][0];
  assert.equal((await call(again.url, 'POST', '/write', { data: [row(stored)] })).status, 400);
  assert.equal((await call(again.url, 'POST', '/write', { data: [row(16383)] })).status, 200);
  const st = (await call(again.url, 'GET', '/status')).body;
  assert.equal(st.N, 6);
});

test('shardctl down then up (process runtime): every row back; down --volumes deletes the data', async (t) => {
  const sh = cliRunner('shardctl-durable-');
  const name = 'durable';
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  t.after(async () => {
    await sh(['down', '--volumes', '--name', name]);
  });
  const up = await sh(['up', '--runtime', 'process', '--name', name, '--port', String(port)]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal((await sh(['init', '--name', name])).code, 0);
  const acked = await load(url, 600);

  const down = await sh(['down', '--name', name]);
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stdout, /data and metadata stay/);
  assert.ok((await call(url, 'GET', '/status').catch(() => undefined)) === undefined, 'the LB is gone');
  const stateDir = join(sh.home, name);
  assert.ok(existsSync(join(stateDir, 'data', 'Server0', 'config.json')), 'Server0 kept its data dir');

  // no --runtime: `up` brings the cluster back where its data is
  const again = await sh(['up', '--name', name, '--port', String(port)]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /resumed its cluster of 6 servers and 4 shards/);
  await assertRows(url, acked);

  const gone = await sh(['down', '--volumes', '--name', name]);
  assert.equal(gone.code, 0, gone.stderr);
  assert.match(gone.stdout, /data and metadata are deleted/);
  assert.ok(!existsSync(stateDir), 'the state dir is deleted');
  const fresh = await sh(['up', '--runtime', 'process', '--name', name, '--port', String(port)]);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(fresh.stdout, /Next: `shardctl init`/);
});

test('a server whose log is damaged mid-log is refused on that shard, then refilled by the LB: the mark clears, replicas identical', async (t) => {
  const lb = await startLb({ SHARDCTL_HB_INTERVAL_MS: '200', SHARDCTL_HB_TIMEOUT_MS: '300' });
  t.after(() => lb.stop());
  assert.equal((await call(lb.url, 'POST', '/init', DEFAULT)).status, 200);
  const acked = await load(lb.url, 300);
  const entry = (JSON.parse(readFileSync(join(lb.stateDir, 'servers.json'), 'utf8')) as { name: string; pid: number }[]).find((e) => e.name === 'Server0')!;
  process.kill(entry.pid, 'SIGKILL');
  // damage sh1's log mid-way while the server is down: a flipped byte in its first record, good records after it
  const dir = join(lb.stateDir, 'data', 'Server0', 'shards', 'sh1');
  const seg = join(dir, readdirSync(dir).filter((f) => f.startsWith('wal-')).sort()[0]);
  const bytes = readFileSync(seg);
  bytes[20] ^= 0xff;
  writeFileSync(seg, bytes);
  // the LB respawns it on its data; the replay finds the damage; the copy-back resets and refills sh1
  await until('Server0 serving again', async () => {
    const ev = (await call(lb.url, 'GET', '/events')).body;
    return ev.incidents.find((i: { server: string; outcome: string }) => i.server === 'Server0' && i.outcome === 'serving');
  }, 30_000);
  const ports = JSON.parse(readFileSync(join(lb.stateDir, 'servers.json'), 'utf8')) as { name: string; port: number }[];
  const state = (await call(`http://127.0.0.1:${ports.find((e) => e.name === 'Server0')!.port}`, 'GET', '/state')).body;
  assert.equal(state.shards.sh1.corrupt, null, 'the refill cleared the mark');
  assert.ok(state.shards.sh1.rows > 0);
  const log = readFileSync(join(lb.stateDir, 'logs', 'Server0.log'), 'utf8');
  assert.match(log, /"corrupt":"[^"]*checksum mismatch/, 'the replay reported the damage');
  await assertRows(lb.url, acked);
});

test('every server killed at once while the LB runs: respawned on their data, every acknowledged row back', async (t) => {
  const lb = await startLb({ SHARDCTL_HB_INTERVAL_MS: '200', SHARDCTL_HB_TIMEOUT_MS: '300' });
  t.after(() => lb.stop());
  assert.equal((await call(lb.url, 'POST', '/init', DEFAULT)).status, 200);
  const acked = await load(lb.url, 600);
  const pids = serverPids(lb.stateDir);
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  // each shard's last serving replica kept its store (its id is on disk): it serves again without a copy and
  // the others copy from it
  await until('every server detected and serving again', async () => {
    const ev = (await call(lb.url, 'GET', '/events')).body as { incidents: { server: string; outcome: string }[] };
    return new Set(ev.incidents.filter((i) => i.outcome === 'serving').map((i) => i.server)).size === 6;
  }, 60_000);
  assert.ok(serverPids(lb.stateDir).every((p) => !pids.includes(p)), 'new processes');
  await assertRows(lb.url, acked);
});
