/**
 * bench's primary-kill measurement against a real LB and server processes: the victim's shard takes writes again,
 * every acknowledged write of it reads back, replicas identical. With no GET /primaries on this LB, a replica of
 * the shard is the victim, and the result says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { call, config, startLb } from '../helpers/lb-process.js';
import { readServerPids, sameProcess } from '../../src/runtime/process.js';
import { runPrimaryKill } from '../../src/bench/primary-kill.js';
import type { Status } from '../../src/bench/bench.js';

test('primary kill under steady writes: the shard writable again, no acknowledged row lost', { timeout: 120_000 }, async (t) => {
  const lb = await startLb();
  t.after(() => lb.stop());
  assert.equal((await call(lb.url, 'POST', '/init', config('default'))).status, 200);
  const st = (await call(lb.url, 'GET', '/status')).body as Status;
  const killed: string[] = [];
  const crash = async (server: string) => {
    const e = readServerPids(lb.stateDir).find((x) => x.name === server);
    assert.ok(e && sameProcess(e), `${server} runs`);
    process.kill(e.pid, 'SIGKILL');
    killed.push(server);
  };
  const r = await runPrimaryKill({ url: lb.url, crash, progress: () => undefined }, st, { ratePerSec: 200, steadyMs: 1000, maxWaitMs: 20_000, afterMs: 500, seed: 3 });
  assert.deepEqual(killed, [r.server]);
  assert.equal(r.shard, 'sh1');
  assert.ok(st.servers[r.server].includes('sh1'), `${r.server} holds sh1`);
  const primaries = await call(lb.url, 'GET', '/primaries');
  assert.equal(r.role, primaries.status === 404 ? 'replica' : 'primary');
  assert.ok(r.killToWritableMs >= 0 && r.killToWritableMs < 20_000, `kill → writable ${r.killToWritableMs} ms`);
  assert.ok(r.writesAcked > 80, `${r.writesAcked} writes of sh1 acknowledged`);
  assert.equal(r.rowsLost, 0);
  assert.equal(r.replicasIdentical, true);
  // the acknowledged rows really are there: the shard's count at least the acknowledged writes
  const rows = (await call(lb.url, 'POST', '/read', { Stud_id: { low: 0, high: 4095 } })).body.data as unknown[];
  assert.ok(rows.length >= r.writesAcked, `${rows.length} rows in sh1, ${r.writesAcked} acknowledged`);
});
