import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BINS, LbMetrics, WINDOW_S, binLow, binMid, binOf } from './metrics.js';

/** A clock the test moves by hand (ms). */
function clock(start = 10_000) {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v), add: (d: number) => (t += d) };
}

test('latency bins: 4 per power of two, contiguous, every value within its bin, midpoint within 12.5 %', () => {
  const table: [number, number][] = [
    [0, 0], [1, 1], [3, 3], [4, 4], [5, 5], [7, 7], [8, 8], [9, 8], [10, 9], [15, 11], [16, 12], [1000, 35], [1023, 35], [1024, 36],
  ];
  for (const [us, bin] of table) assert.equal(binOf(us), bin, `binOf(${us})`);
  assert.equal(binOf(-5), 0);
  assert.equal(binOf(Number.NaN), 0);
  assert.equal(binOf(1e12), BINS - 1, 'anything huge lands in the last bin');
  for (let b = 0; b < BINS - 1; b++) assert.ok(binLow(b + 1) > binLow(b), `bin ${b} is not empty`);
  for (const us of [4, 5, 17, 99, 250, 999, 1234, 5000, 77_777, 1_000_000, 60_000_000]) {
    const b = binOf(us);
    assert.ok(binLow(b) <= us && us < binLow(b + 1), `${us} µs lies in bin ${b} [${binLow(b)}, ${binLow(b + 1)})`);
    assert.ok(Math.abs(binMid(b) - us) / us <= 0.125, `midpoint of bin ${b} is within 12.5 % of ${us}`);
  }
});

test('per-second counts per shard and in total; a multi-shard read counts once in the total', () => {
  const c = clock();
  const m = new LbMetrics(c.now);
  for (let i = 0; i < 5; i++) m.write('sh1', m.start());
  m.read(['sh1', 'sh2'], m.start());
  c.add(1000);
  m.write(['sh1', 'sh2'], m.start());
  const s = m.snapshot(['sh1', 'sh2', 'sh3']);
  assert.equal(s.second, 11);
  assert.equal(s.shards.sh1.writes.length, WINDOW_S);
  assert.deepEqual(s.shards.sh1.writes.slice(-2), [5, 1]);
  assert.deepEqual(s.shards.sh1.reads.slice(-2), [1, 0]);
  assert.deepEqual(s.shards.sh2.reads.slice(-2), [1, 0]);
  assert.deepEqual(s.shards.sh2.writes.slice(-2), [0, 1]);
  assert.deepEqual(s.shards.sh3.writes.slice(-2), [0, 0], 'a shard never used reads as zeros');
  assert.equal(s.shards.sh3.write.p50, null);
  assert.deepEqual(s.total.reads.slice(-2), [1, 0], 'one read request, though it touched two shards');
  assert.deepEqual(s.total.writes.slice(-2), [5, 1]);
  assert.equal(s.total.write.n, 6);
});

test('p50 and p99 over the last minute, from known latencies', () => {
  const c = clock();
  const m = new LbMetrics(c.now);
  // 98 writes of 2 ms, 2 of 100 ms: p50 is 2 ms, p99 is 100 ms (each within the bins' 12.5 %)
  for (let i = 0; i < 100; i++) {
    const t0 = m.start();
    c.add(i < 98 ? 2 : 100);
    m.write('sh1', t0);
  }
  const w = m.snapshot(['sh1']).shards.sh1.write;
  assert.equal(w.n, 100);
  assert.ok(Math.abs(w.p50! - 2) <= 0.25, `p50 ${w.p50}`);
  assert.ok(Math.abs(w.p99! - 100) <= 12.5, `p99 ${w.p99}`);
  assert.equal(m.snapshot(['sh1']).shards.sh1.read.p99, null, 'no reads: no read percentile');
});

test('seconds older than the window drop out, and a reused bucket starts from zero', () => {
  const c = clock(0);
  const m = new LbMetrics(c.now);
  m.write('sh1', m.start()); // second 0
  c.set(30_500);
  m.write('sh1', m.start()); // second 30
  let s = m.snapshot(['sh1']).shards.sh1;
  assert.equal(s.write.n, 2);
  c.set(60_200); // second 60 reuses bucket 0: second 0 is out of the window
  m.write('sh1', m.start());
  s = m.snapshot(['sh1']).shards.sh1;
  assert.equal(s.write.n, 2, 'second 0 is forgotten, seconds 30 and 60 remain');
  assert.equal(s.writes[WINDOW_S - 1], 1);
  assert.equal(s.writes[WINDOW_S - 1 - 30], 1);
  c.set(200_000); // minutes later, nothing new: all zero
  s = m.snapshot(['sh1']).shards.sh1;
  assert.equal(s.write.n, 0);
  assert.ok(s.writes.every((v) => v === 0));
});

test('retain forgets shards that left the topology', () => {
  const c = clock();
  const m = new LbMetrics(c.now);
  m.write('old', m.start());
  m.retain(['sh1']);
  assert.equal(m.snapshot(['old']).shards.old.write.n, 0);
});

test('recording one request costs well under two microseconds (a Map lookup, a clock read, integer increments)', () => {
  const m = new LbMetrics();
  const shards = ['sh1', 'sh2', 'sh3', 'sh4'];
  for (let i = 0; i < 50_000; i++) m.write(shards[i & 3], m.start()); // warm up
  const n = 500_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = m.start();
    if (i & 1) m.write(shards[i & 3], s);
    else m.read(shards[i & 3], s);
  }
  const nsPerCall = ((performance.now() - t0) * 1e6) / n;
  console.log(`# metrics: ${nsPerCall.toFixed(0)} ns per recorded request (start + record)`);
  assert.ok(nsPerCall < 2000, `${nsPerCall} ns per call`);
});
