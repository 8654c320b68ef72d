/**
 * The shardctl CLI on the process runtime, as a user runs it: up, init, write, read, status, kill, down.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pidAlive } from '../../src/runtime/process.js';
import { until } from '../helpers/lb-process.js';
import { cliRunner, freePort } from '../helpers/cli.js';

const sh = cliRunner('shardctl-home-');
const HOME = sh.home;

test('up, init, write, read, update, del, status, kill, down: a whole session', async () => {
  const port = await freePort();
  const name = 'clitest';
  const up = await sh(['up', '--runtime', 'process', '--port', String(port), '--name', name]);
  assert.equal(up.code, 0, up.stderr);
  const url = `http://127.0.0.1:${port}`;
  const again = await sh(['up', '--runtime', 'process', '--port', String(port), '--name', name]);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /already running/);
  const init = await sh(['init', '--name', name, '--json']);
  assert.equal(init.code, 0, init.stderr);
  assert.deepEqual(JSON.parse(init.stdout), { message: 'Configured Database', status: 'success' });
  assert.equal((await sh(['write', '[{"Stud_id":1,"Stud_name":"A","Stud_marks":27},{"Stud_id":5000,"Stud_name":"B","Stud_marks":"9"}]', '--name', name])).code, 0);
  const dup = await sh(['write', '{"Stud_id":1,"Stud_name":"A","Stud_marks":27}', '--name', name]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /HTTP 400.*already stored/);
  assert.equal((await sh(['update', '{"Stud_id":1,"Stud_name":"A","Stud_marks":28}', '--url', url])).code, 0);
  assert.equal((await sh(['del', '5000', '--name', name])).code, 0);
  const read = await sh(['read', '0', '9000', '--name', name, '--json']);
  assert.deepEqual(JSON.parse(read.stdout).data, [{ Stud_id: 1, Stud_name: 'A', Stud_marks: 28 }]);
  const status = await sh(['status', '--name', name]);
  assert.equal(status.code, 0);
  assert.match(status.stdout, /sh1\s+\[0, 4096\)\s+1\s+Server[035] \(1\)\s+Server0 Server3 Server5/, 'the PRIMARY (term) column');
  const kill = await sh(['kill', 'server3', '--name', name]);
  assert.equal(kill.code, 0, kill.stderr);
  await until('Server3 back', async () => {
    const ev = JSON.parse((await sh(['events', '--name', name, '--json'])).stdout);
    return ev.incidents.some((i: { outcome: string }) => i.outcome === 'serving');
  });
  const servers = JSON.parse(readFileSync(join(HOME, name, 'servers.json'), 'utf8')) as { pid: number }[];
  const lbPid = JSON.parse(readFileSync(join(HOME, name, 'cluster.json'), 'utf8')).lbPid as number;
  const down = await sh(['down', '--name', name]);
  assert.equal(down.code, 0, down.stderr);
  await until('no process left', async () => !pidAlive(lbPid) && servers.every((s) => !pidAlive(s.pid)), 10_000);
  // the record stays with the data (for the next `up`), without a pid; `down --volumes` deletes both
  assert.equal(JSON.parse(readFileSync(join(HOME, name, 'cluster.json'), 'utf8')).lbPid, undefined);
  assert.equal((await sh(['down', '--volumes', '--name', name])).code, 0);
  assert.ok(!existsSync(join(HOME, name, 'cluster.json')));
  assert.ok(!existsSync(join(HOME, name, 'data')));
});

test('clear one-line failures: no LB, port taken, bad config, unknown server', async () => {
  const port = await freePort();
  const none = await sh(['status', '--url', `http://127.0.0.1:${port}`]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no load balancer answers at http:\/\/127\.0\.0\.1:\d+: start one with `shardctl up`/);
  const blocker = createServer().listen(port, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  const taken = await sh(['up', '--runtime', 'process', '--port', String(port), '--name', 'blocked']);
  blocker.close();
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, new RegExp(`port ${port} is taken`));
  const badJson = await sh(['init', '{not json', '--url', `http://127.0.0.1:${port}`]);
  assert.equal(badJson.code, 2);
  assert.match(badJson.stderr, /not valid JSON/);
  const badPort = await sh(['up', '--runtime', 'process', '--port', 'abc']);
  assert.equal(badPort.code, 2);
});
