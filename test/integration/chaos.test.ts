/**
 * A short seeded chaos run on the process runtime, through the CLI as a user runs it: servers and the LB killed
 * under load; the audit must find nothing lost, nothing stale, replicas identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../bin/shardctl', import.meta.url));
const HOME = mkdtempSync(join(tmpdir(), 'shardctl-chaos-'));

function sh(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 240_000, env: { ...process.env, SHARDCTL_HOME: HOME, NO_COLOR: '1', SHARDCTL_URL: '' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('chaos: 12 s of load with servers and the LB killed; nothing acknowledged lost or stale', { timeout: 300_000 }, async (t) => {
  const port = await new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
  assert.equal((await sh(['up', '--runtime', 'process', '--port', String(port), '--name', 'chaos'])).code, 0);
  t.after(async () => {
    await sh(['down', '--name', 'chaos']);
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
