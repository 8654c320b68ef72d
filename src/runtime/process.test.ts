import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pauseProcess, pidAlive, procStart, procState, ProcessRuntime, resumeProcess } from './process.js';

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

test('pauseProcess stops the very process (state T) and resumeProcess continues it; a reused pid is never signalled', async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  });
  await new Promise((r) => child.once('spawn', r));
  const pid = child.pid!;
  const e = { name: 'Server0', pid, port: 1, start: procStart(pid) };
  const stateSoon = async (want: string) => {
    for (let i = 0; i < 100 && procState(pid) !== want; i++) await new Promise((r) => setTimeout(r, 10));
    return procState(pid);
  };
  // another start time: the pid now names another process, which must not be stopped
  assert.equal(pauseProcess({ ...e, start: String(Number(e.start) - 1) }), false);
  assert.equal(await stateSoon('T'), 'S');
  assert.equal(pauseProcess(e), true);
  assert.equal(await stateSoon('T'), 'T', 'stopped: alive but silent');
  assert.ok(pidAlive(pid), 'a stopped process is alive');
  assert.equal(resumeProcess({ ...e, start: undefined }), false, 'no start time, no proof of identity: not signalled');
  assert.equal(procState(pid), 'T');
  assert.equal(resumeProcess(e), true);
  assert.equal(await stateSoon('S'), 'S', 'running again');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(resumeProcess(e), false, 'gone: nothing to resume');
  assert.equal(pauseProcess(e), false);
});
