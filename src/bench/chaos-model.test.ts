import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChaosModel, rowAt } from './chaos-model.js';

test('reads: settled keys are checked, in-flight and indeterminate ones are not', () => {
  const m = new ChaosModel();
  m.begin(1, true);
  m.end(1, 10, { ok: true, present: true, version: 0 });
  m.begin(2, true);
  m.end(2, 10, { ok: false }); // indeterminate
  m.begin(3, true); // still in flight
  m.checkRead(0, 5, 20, [rowAt(1, 0)]);
  assert.equal(m.tally.staleReads, 0);
  m.checkRead(0, 5, 20, []);
  assert.equal(m.tally.staleReads, 1, 'an acknowledged row missing is stale');
  m.checkRead(0, 5, 5, []);
  assert.equal(m.tally.staleReads, 1, 'a read that began before the ack proves nothing');
  m.begin(1);
  m.end(1, 30, { ok: true, present: true, version: 1 });
  m.checkRead(0, 5, 40, [rowAt(1, 0)]);
  assert.equal(m.tally.staleReads, 2, 'an older version after an acknowledged update is stale');
  m.begin(1);
  m.end(1, 50, { ok: true, present: false, version: 1 });
  m.checkRead(0, 5, 60, [rowAt(1, 1)]);
  assert.equal(m.tally.staleReads, 3, 'a deleted row still shown is stale');
  assert.equal(m.tally.indeterminate, 1);
});

test('audit: lost, stale, resurrected and never-written rows', () => {
  const m = new ChaosModel();
  for (const id of [1, 2, 3, 4]) {
    m.begin(id, true);
    m.end(id, 1, { ok: true, present: true, version: 0 });
  }
  m.begin(2);
  m.end(2, 2, { ok: true, present: true, version: 3 });
  m.begin(3);
  m.end(3, 2, { ok: true, present: false, version: 0 });
  m.begin(5, true);
  m.end(5, 2, { ok: false, refused: true });
  const all = new Map<number, Record<string, unknown>>([
    [2, rowAt(2, 1)],
    [3, rowAt(3, 0)],
    [4, rowAt(4, 0)],
    [99, rowAt(99, 0)],
  ]);
  const a = m.audit(all);
  assert.equal(a.lost, 1); // 1
  assert.equal(a.stale, 1); // 2
  assert.equal(a.deletesLost, 1); // 3
  assert.equal(a.neverWritten, 1); // 99
  assert.deepEqual(m.audit(new Map([[2, rowAt(2, 3)], [1, rowAt(1, 0)], [4, rowAt(4, 0)]])), { lost: 0, stale: 0, deletesLost: 0, neverWritten: 0, examples: [] });
});
