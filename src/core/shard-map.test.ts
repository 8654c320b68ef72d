import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShardMap } from './shard-map.js';
import { ApiError } from './errors.js';

const shards = [
  { Stud_id_low: 4096, Shard_id: 'sh2', Shard_size: 4096 },
  { Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 4096 },
  { Stud_id_low: 10000, Shard_id: 'sh3', Shard_size: 100 },
];

test('find: the shard covering a key, both ends of each range', () => {
  const m = new ShardMap(shards);
  const cases: [number, string | undefined][] = [
    [0, 'sh1'], [4095, 'sh1'], [4096, 'sh2'], [8191, 'sh2'], [8192, undefined], [9999, undefined],
    [10000, 'sh3'], [10099, 'sh3'], [10100, undefined], [-1, undefined],
  ];
  for (const [k, want] of cases) assert.equal(m.find(k)?.Shard_id, want, `key ${k}`);
});

test('overlapping: shards a range touches, in key order', () => {
  const m = new ShardMap(shards);
  assert.deepEqual(m.overlapping(1000, 8889).map((s) => s.Shard_id), ['sh1', 'sh2']);
  assert.deepEqual(m.overlapping(4095, 4096).map((s) => s.Shard_id), ['sh1', 'sh2']);
  assert.deepEqual(m.overlapping(8192, 9999).map((s) => s.Shard_id), []);
  assert.deepEqual(m.overlapping(-5, 20000).map((s) => s.Shard_id), ['sh1', 'sh2', 'sh3']);
});

test('overlapping ranges and repeated ids are rejected', () => {
  assert.throws(() => new ShardMap([...shards, { Stud_id_low: 8000, Shard_id: 'sh9', Shard_size: 10 }]), (e: ApiError) => e.status === 400 && /overlap/.test(e.message));
  assert.throws(() => new ShardMap([...shards, { Stud_id_low: 20000, Shard_id: 'sh1', Shard_size: 10 }]), /defined twice/);
});
