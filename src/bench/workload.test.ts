import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRead, KeyIndex, keySpace, pickKeys, pickRanges, prng, benchRow } from './workload.js';

const shards = [
  { Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 100 },
  { Stud_id_low: 100, Shard_id: 'sh2', Shard_size: 100 },
];

test('the same seed gives the same workload; another seed another one', () => {
  const space = keySpace(shards);
  assert.deepEqual(pickKeys(space, 50, 7), pickKeys(space, 50, 7));
  assert.notDeepEqual(pickKeys(space, 50, 7), pickKeys(space, 50, 8));
  assert.deepEqual(pickRanges(space, 5, 10, 1), pickRanges(space, 5, 10, 1));
  assert.equal(prng(3)(), prng(3)());
});

test('keys are distinct, inside the shards, spread over both, and skip taken ones', () => {
  const space = keySpace(shards);
  const keys = pickKeys(space, 150, 1, new Set([0, 1, 2]));
  assert.equal(new Set(keys).size, 150);
  assert.ok(keys.every((k) => k >= 3 && k < 200));
  assert.ok(keys.filter((k) => k < 100).length > 50 && keys.filter((k) => k >= 100).length > 50);
  assert.throws(() => pickKeys(space, 201, 1), /only 200 free keys/);
});

test('ranges lie in the key space with the asked width', () => {
  for (const r of pickRanges(keySpace(shards), 100, 10, 5)) {
    assert.equal(r.high - r.low, 9);
    assert.ok(r.low >= 0 && r.high <= 199 + 10);
  }
});

test('checkRead catches missing, extra, misordered and wrong rows', () => {
  const idx = new KeyIndex([5, 1, 3]);
  assert.deepEqual(idx.between(2, 5), [3, 5]);
  const rowOf = (id: number) => benchRow(id);
  assert.equal(checkRead([benchRow(3), benchRow(5)], [3, 5], rowOf), undefined);
  assert.match(checkRead([benchRow(3)], [3, 5], rowOf)!, /missing row 5/);
  assert.match(checkRead([benchRow(5), benchRow(3)], [3, 5], rowOf)!, /row 0 is 5/);
  assert.match(checkRead([benchRow(3), { ...benchRow(5), Stud_marks: 99 }], [3, 5], rowOf)!, /wrong values/);
  assert.match(checkRead([benchRow(3), benchRow(4), benchRow(5)], [3, 5], rowOf)!, /unexpected/);
});
