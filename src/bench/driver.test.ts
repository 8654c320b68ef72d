import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPhase } from './driver.js';

test('runPhase: the checks ops defer run after the timed loop and still count: rows, or errors by kind', async () => {
  let issued = 0;
  const seen: number[] = [];
  const r = await runPhase({
    name: 't',
    concurrency: 3,
    total: 9,
    op: async (i) => {
      issued++;
      if (i % 3 === 0) return { rows: 1 };
      return {
        verify: () => {
          seen.push(issued);
          return i === 4 ? { error: 'wrong result', detail: 'row 4 differs' } : { rows: 2 };
        },
      };
    },
  });
  assert.equal(r.ops, 9);
  assert.equal(r.rows, 3 * 1 + 5 * 2);
  assert.deepEqual(r.errors, { 'wrong result': 1 });
  assert.match(r.firstErrors[0], /row 4 differs/);
  assert.equal(seen.length, 6);
  assert.ok(seen.every((n) => n === 9), 'every check ran after the last op was issued');
});
