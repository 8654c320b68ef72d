import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive, procStart, ProcessRuntime } from './process.js';

test('the process runtime never adopts or signals a pid it did not start (a reboot, a reused pid)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'shardctl-pids-'));
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => {
    other.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await new Promise((r) => other.once('spawn', r));
  const pid = other.pid!;
  // as left by an LB before a reboot: the same pids now belong to unrelated processes
  writeFileSync(
    join(dir, 'servers.json'),
    JSON.stringify([
      { name: 'Server0', pid, port: 1 },
      { name: 'Server1', pid, port: 2, start: String(Number(procStart(pid)) - 1) },
    ]),
  );
  const rt = new ProcessRuntime(dir);
  assert.deepEqual(await rt.list(), []);
  assert.equal(await rt.state('Server0'), 'missing');
  await rt.stopAll();
  await assert.rejects(rt.kill('Server1'), /no running server/);
  assert.ok(pidAlive(pid), 'the unrelated process was signalled');
});

test('procStart reads a live process start time, and none for a dead pid', () => {
  assert.match(procStart(process.pid) ?? '', /^\d+$/);
  assert.equal(procStart(2 ** 22 + 12345), undefined);
});
