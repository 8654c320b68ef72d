/**
 * chaos --nemesis on the process runtime, through the CLI as a user runs it (real LB and server processes): a
 * pause really stops the server process (/proc state T) and Ctrl-C during it resumes it; then a seeded run of
 * pause, kill, restart-all and lb in which each nemesis runs and the audit passes, with nothing left paused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BIN, cliRunner, freePort } from '../helpers/cli.js';
import { sleep } from '../helpers/lb-process.js';
import { procState, readServerPids, sameProcess } from '../../src/runtime/process.js';

const sh = cliRunner('shardctl-nemesis-');
const stateDir = join(sh.home, 'nemesis');
/** the cluster's running server processes in state T (stopped) */
const stopped = () => readServerPids(stateDir).filter((e) => sameProcess(e) && procState(e.pid) === 'T');

test('chaos --nemesis on the process runtime', { timeout: 180_000 }, async (t) => {
  const port = await freePort();
  assert.equal((await sh(['up', '--runtime', 'process', '--port', String(port), '--name', 'nemesis'])).code, 0);
  t.after(async () => {
    for (const e of stopped()) process.kill(e.pid, 'SIGCONT');
    await sh(['down', '--volumes', '--name', 'nemesis']);
  });

  await t.test('a pause stops the server process (state T); Ctrl-C in the middle of it resumes it', async () => {
    const child = spawn(process.execPath, [BIN, 'chaos', '--name', 'nemesis', '--init', '--nemesis', 'pause', '--kill-every', '0.5', '--duration', '30', '--seed', '4'], {
      env: { ...process.env, SHARDCTL_HOME: sh.home, NO_COLOR: '1', SHARDCTL_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const exited = new Promise<NodeJS.Signals | number | null>((r) => child.once('exit', (code, sig) => r(sig ?? code)));
    try {
      let frozen: ReturnType<typeof stopped> = [];
      const end = Date.now() + 30_000;
      while (frozen.length === 0 && Date.now() < end) {
        await sleep(20);
        frozen = stopped();
      }
      assert.ok(frozen.length > 0, `no server process was ever stopped; chaos said:\n${stderr}`);
      child.kill('SIGINT');
      assert.equal(await Promise.race([exited, sleep(20_000).then(() => 'still running')]), 'SIGINT', stderr);
      for (const e of frozen) assert.notEqual(procState(e.pid), 'T', `${e.name} (pid ${e.pid}) left stopped; chaos said:\n${stderr}`);
      assert.match(stderr, new RegExp(`resumed .*${frozen[0].name}`));
      assert.deepEqual(stopped(), []);
    } finally {
      child.kill('SIGKILL');
    }
  });

  await t.test('pause, kill, restart-all and lb each run under load; nothing acknowledged lost or stale', async () => {
    // bounded: 18 s of load, then recovery; a hang ends in a failure that shows what chaos said
    const r = await sh(['chaos', '--name', 'nemesis', '--init', '--nemesis', 'pause,kill,restart-all,lb', '--duration', '18', '--kill-every', '1.5', '--seed', '8', '--json'], 120_000);
    assert.ok(r.stdout, `chaos printed no report (exit ${r.code}); it said:\n${r.stderr}`);
    const report = JSON.parse(r.stdout);
    const { faults: _f, ...summary } = report;
    assert.equal(r.code, 0, `${r.stderr}\n${JSON.stringify(summary)}`);
    const counts = Object.fromEntries(report.nemeses.map((n: { nemesis: string; ran: number }) => [n.nemesis, n.ran]));
    for (const n of ['pause', 'kill', 'restart-all', 'lb']) assert.ok(counts[n] >= 1, `${n} ran ${counts[n]} times: ${JSON.stringify(report.nemeses)}\n${r.stderr}`);
    assert.ok(report.faults.some((f: { victim: string }) => f.victim === 'all'));
    assert.ok(report.acknowledged.writes > 100 && report.readsChecked > 50, JSON.stringify(report.acknowledged));
    assert.equal(report.lostWrites, 0);
    assert.equal(report.staleReads, 0);
    assert.equal(report.staleAtEnd, 0);
    assert.equal(report.neverWritten, 0);
    assert.equal(report.replicasIdentical, true);
    assert.equal(report.passed, true);
    assert.deepEqual(stopped(), [], 'a server was left paused');
  });
});
