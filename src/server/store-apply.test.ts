/**
 * applyOp, the way committed entries reach a shard's table, by table: after each step the rows and the shard's
 * row count (what /state and `status` report) are exact, whether a key is new or already stored (an entry applied
 * again after a replay, an update of a row the table does not hold yet, a rollback that puts rows back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShardStore } from './store.js';
import type { EntryOp } from './wal-format.js';
import type { Schema } from '../core/table.js';

const schema: Schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };

const steps: { what: string; op: EntryOp; rows: unknown[][] }[] = [
  { what: 'two new rows', op: { op: 'write', rows: [[1, 'a', '10'], [2, 'b', '20']] }, rows: [[1, 'a', '10'], [2, 'b', '20']] },
  { what: 'the same entry applied again', op: { op: 'write', rows: [[1, 'a', '10'], [2, 'b', '20']] }, rows: [[1, 'a', '10'], [2, 'b', '20']] },
  { what: 'a write over a stored key sets its final values', op: { op: 'write', rows: [[2, 'B', '21'], [3, 'c', '30']] }, rows: [[1, 'a', '10'], [2, 'B', '21'], [3, 'c', '30']] },
  { what: 'an update of a stored row', op: { op: 'update', key: 1, row: ['A', '11'] }, rows: [[1, 'A', '11'], [2, 'B', '21'], [3, 'c', '30']] },
  { what: 'an update of a row the table lacks adds it', op: { op: 'update', key: 4, row: ['d', '40'] }, rows: [[1, 'A', '11'], [2, 'B', '21'], [3, 'c', '30'], [4, 'd', '40']] },
  { what: 'a delete', op: { op: 'delete', key: 3 }, rows: [[1, 'A', '11'], [2, 'B', '21'], [4, 'd', '40']] },
  { what: 'a delete of a missing key', op: { op: 'delete', key: 3 }, rows: [[1, 'A', '11'], [2, 'B', '21'], [4, 'd', '40']] },
  {
    what: 'a rollback: one removed, one stored and one missing row put back',
    op: { op: 'rollback', remove: [4], restore: [[1, 'a', '10'], [3, 'c', '30']] },
    rows: [[1, 'a', '10'], [2, 'B', '21'], [3, 'c', '30']],
  },
  {
    what: 'a batch of writes, an update and a delete',
    op: { op: 'batch', ops: [{ op: 'write', rows: [[5, 'e', '50']] }, { op: 'update', key: 5, row: ['E', '51'] }, { op: 'delete', key: 2 }] },
    rows: [[1, 'a', '10'], [3, 'c', '30'], [5, 'E', '51']],
  },
  { what: 'a reset', op: { op: 'reset' }, rows: [] },
  { what: 'a write after the reset', op: { op: 'write', rows: [[7, 'g', '70']] }, rows: [[7, 'g', '70']] },
];

test('applyOp keeps rows and the row count exact for new and stored keys alike', async () => {
  const store = await ShardStore.open();
  store.configure(schema, ['sh1']);
  for (const s of steps) {
    store.applyOp('sh1', s.op);
    const rows = store.all('sh1').map((r) => schema.columns.map((c) => r[c]));
    assert.deepEqual(rows, s.rows, s.what);
    assert.equal(store.count('sh1'), s.rows.length, `${s.what}: count`);
  }
});

test('an entry that fails halfway changes nothing, its row count included', async () => {
  const store = await ShardStore.open();
  store.configure(schema, ['sh1']);
  store.applyOp('sh1', { op: 'write', rows: [[1, 'a', '10']] });
  // the second row's key is no integer: sqlite refuses it after the first row was inserted and counted
  assert.throws(() => store.applyOp('sh1', { op: 'write', rows: [[2, 'b', '20'], [2.5, 'x', '0']] }));
  assert.deepEqual(store.all('sh1').map((r) => r.Stud_id), [1]);
  assert.equal(store.count('sh1'), 1);
});

test('an LB rollback (assignment 2) that fails halfway changes nothing, its row count included', async () => {
  const store = await ShardStore.open();
  store.configure(schema, ['sh1']);
  store.write('sh1', [{ Stud_id: 1, Stud_name: 'a', Stud_marks: '10' }, { Stud_id: 2, Stud_name: 'b', Stud_marks: '20' }]);
  // key 1 is deleted (and uncounted) before the restored row's key is refused
  assert.throws(() => store.rollback('sh1', [1], [{ Stud_id: 2.5, Stud_name: 'x', Stud_marks: '0' }]));
  assert.deepEqual(store.all('sh1').map((r) => r.Stud_id), [1, 2]);
  assert.equal(store.count('sh1'), 2);
});
