import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PausedSet } from './chaos.js';

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
