import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { faultNotMade, PausedSet, statusForAudit } from './chaos.js';
import { LbClient } from './driver.js';

test('PausedSet: each pause resumed once; resumeAll tries every one even when one throws', async () => {
  const calls: string[] = [];
  const set = new PausedSet();
  const mk = (name: string, result: boolean | Error) => async () => {
    calls.push(name);
    if (result instanceof Error) throw result;
    return result;
  };
  const a = set.add('Server0', mk('Server0', true));
  set.add('Server1', mk('Server1', new Error('engine down')));
  set.add('Server2', mk('Server2', false));
  set.add('Server3', mk('Server3', true));
  assert.equal(set.size, 4);
  assert.equal(await set.resume(a), true);
  assert.equal(await set.resume(a), false, 'resumed once only');
  assert.deepEqual((await set.resumeAll()).sort(), ['Server3'], 'only those that really were resumed are named');
  assert.equal(set.size, 0);
  assert.deepEqual(calls.sort(), ['Server0', 'Server1', 'Server2', 'Server3']);
  assert.deepEqual(await set.resumeAll(), []);
});

test('statusForAudit: an LB that does not answer at the end says what to do, not a bare ECONNREFUSED', async () => {
  // a port that was just free: nothing listens there
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const client = new LbClient(url, 1);
  try {
    await assert.rejects(statusForAudit(client, url), /^Error: the LB at http:\/\/127\.0\.0\.1:\d+ does not answer \(.*ECONNREFUSED.*\), so nothing could be audited: bring the cluster back with `shardctl up`, then check it with `shardctl verify`$/);
  } finally {
    await client.close();
  }
  const answers = (status: number, text: string) => ({ send: async () => ({ status, text }) });
  await assert.rejects(statusForAudit(answers(503, '{"message":"electing"}'), url), /answered 503 to GET \/status, so nothing could be audited: \{"message":"electing"\}/);
  assert.deepEqual(await statusForAudit(answers(200, '{"N":3}'), url), { N: 3 });
});

test('faultNotMade: a fault tried while the LB was down says so; other reasons are given as they are', () => {
  const rows: [string, unknown, RegExp][] = [
    ['kill-primary', new Error('connect ECONNREFUSED 127.0.0.1:5000'), /^kill-primary could not be made: connect ECONNREFUSED 127\.0\.0\.1:5000 \(the LB was down or restarting; counted as not made, the run goes on\)$/],
    ['kill', new Error('read ECONNRESET'), /^kill could not be made: read ECONNRESET \(the LB was down/],
    ['pause', new Error('fetch failed'), /^pause could not be made: fetch failed \(the LB was down/],
    ['kill', new Error('no serving server to kill'), /^kill could not be made: no serving server to kill$/],
    ['pause', 'docker: No such container: x', /^pause could not be made: docker: No such container: x$/],
  ];
  for (const [nemesis, e, want] of rows) assert.match(faultNotMade(nemesis, e), want);
});
