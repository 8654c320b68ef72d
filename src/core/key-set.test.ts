import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARRAY_MAX, KeySet } from './key-set.js';

/** a seeded xorshift, so a failure replays */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

test('KeySet behaves as a Set<number> under seeded adds and deletes (dense, sparse, negative, across the array/bitmap switch)', () => {
  const ranges: [string, number, number][] = [
    ['dense, one block', 0, 20_000],
    ['a shard range not at 0', 12_288, 4096],
    ['negative keys', -100_000, 200_000],
    ['sparse over 2^40', 0, 2 ** 40],
  ];
  for (const [name, low, span] of ranges) {
    const r = rng(span);
    const want = new Set<number>();
    const got = new KeySet();
    for (let i = 0; i < 30_000; i++) {
      const k = low + Math.floor(r() * span);
      const op = r();
      if (op < 0.65) {
        want.add(k);
        assert.equal(got.add(k), got);
      } else assert.equal(got.delete(k), want.delete(k), `${name}: delete ${k}`);
      if (i % 97 === 0) {
        const probe = low + Math.floor(r() * span);
        assert.equal(got.has(probe), want.has(probe), `${name}: has ${probe}`);
      }
    }
    assert.equal(got.size, want.size, name);
    assert.deepEqual([...got], [...want].sort((a, b) => a - b), name);
  }
});

test('KeySet: a block switches to a bitmap past ARRAY_MAX keys and back well below it, keeping every key', () => {
  const s = new KeySet();
  for (let k = 0; k < ARRAY_MAX + 10; k++) s.add(k * 3);
  assert.equal(s.size, ARRAY_MAX + 10);
  for (let k = 0; k < ARRAY_MAX + 10; k++) assert.ok(s.has(k * 3) && !s.has(k * 3 + 1), `key ${k * 3}`);
  for (let k = 0; k < ARRAY_MAX; k++) s.delete(k * 3);
  assert.deepEqual([...s], Array.from({ length: 10 }, (_, i) => (ARRAY_MAX + i) * 3));
  assert.equal(s.delete(1), false);
  s.clear();
  assert.equal(s.size, 0);
  assert.equal(s.has(ARRAY_MAX * 3), false);
});

test('KeySet: at most 4 bytes per stored key for 2M keys filling a shard range, and random orders', () => {
  for (const [name, fill] of [
    ['2M keys in order', (s: KeySet) => { for (let k = 0; k < 2_000_000; k++) s.add(k); }],
    ['2M random keys of a 4M range', (s: KeySet) => { const r = rng(7); while (s.size < 2_000_000) s.add(Math.floor(r() * 4_000_000)); }],
    ['500k random keys of a 64M range (1 in 128)', (s: KeySet) => { const r = rng(9); while (s.size < 500_000) s.add(Math.floor(r() * 64_000_000)); }],
  ] as const) {
    const s = new KeySet();
    fill(s);
    const per = s.bytes() / s.size;
    console.log(`# key-set: ${name}: ${per.toFixed(2)} bytes per key`);
    assert.ok(per <= 4, `${name}: ${per} bytes per key`);
  }
});
