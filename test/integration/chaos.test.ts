/**
 * A short seeded chaos run on the process runtime, through the CLI as a user runs it: servers and the LB killed
 * under load; the audit must find nothing lost, nothing stale, replicas identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliRunner, freePort } from '../helpers/cli.js';

const sh = cliRunner('shardctl-chaos-');

test('chaos: 12 s of load with servers and the LB killed; nothing acknowledged lost or stale', { timeout: 300_000 }, async (t) => {
  const port = await freePort();
  assert.equal((await sh(['up', '--runtime', 'process', '--port', String(port), '--name', 'chaos'])).code, 0);
  t.after(async () => {
    await sh(['down', '--volumes', '--name', 'chaos']);
  });
  const r = await sh(['chaos', '--name', 'chaos', '--init', '--duration', '12', '--kill-every', '2', '--kill-lb', '--seed', '11', '--json']);
  const report = JSON.parse(r.stdout);
  assert.equal(r.code, 0, `${r.stderr}\n${JSON.stringify(report.examples)}`);
  assert.ok(report.faults.filter((f: { ok: boolean }) => f.ok).length >= 3, JSON.stringify(report.faults));
  assert.ok(report.faults.some((f: { victim: string }) => f.victim === 'lb'));
  assert.ok(report.acknowledged.writes > 100);
  assert.ok(report.acknowledged.updates > 10);
  assert.ok(report.readsChecked > 100);
  assert.equal(report.lostWrites, 0);
  assert.equal(report.staleReads, 0);
  assert.equal(report.staleAtEnd, 0);
  assert.equal(report.neverWritten, 0);
  assert.equal(report.replicasIdentical, true);
  assert.equal(report.passed, true);
});
