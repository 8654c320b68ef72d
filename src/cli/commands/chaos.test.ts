import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chaosNemeses, NEMESIS_HELP } from './chaos.js';
import { UsageError } from '../errors.js';
import { NEMESES } from '../../bench/chaos-model.js';

test('chaos --nemesis: parsed into nemeses, --kill-lb adds lb, a bad name is a usage error; --help explains each', () => {
  assert.deepEqual(chaosNemeses(undefined, false), ['kill']);
  assert.deepEqual(chaosNemeses(undefined, true), ['kill', 'lb']);
  assert.deepEqual(chaosNemeses('pause,kill,restart-all,lb', false), ['pause', 'kill', 'restart-all', 'lb']);
  assert.throws(() => chaosNemeses('kill,partition', false), (e: Error) => e instanceof UsageError && /no nemesis partition/.test(e.message));
  for (const n of NEMESES) assert.match(NEMESIS_HELP, new RegExp(`\\n  ${n} `), n);
});

test('waitPortFree: true once the listener closes, false at the deadline while it stays', async () => {
  const { createServer } = await import('node:net');
  const { waitPortFree } = await import('../process-cluster.js');
  const srv = createServer();
  const port = await new Promise<number>((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as { port: number }).port)));
  const t0 = Date.now();
  assert.equal(await waitPortFree(port, 150), false);
  assert.ok(Date.now() - t0 >= 150);
  setTimeout(() => srv.close(), 100);
  assert.equal(await waitPortFree(port, 5000), true);
  assert.ok(Date.now() - t0 >= 250);
});
