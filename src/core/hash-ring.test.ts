import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ASSIGNMENT_HASH, HashRing, MIX_HASH, serverNumber, type RingHash } from './hash-ring.js';

// A hash with obvious outputs: request i lands on slot i, virtual node j of server s on slot 10*s + j.
const OBVIOUS: RingHash = { request: (i) => i, vnode: (s, j) => 10 * s + j };

test('a request goes to the next server slot clockwise', () => {
  const r = new HashRing({ slots: 64, vnodes: 2, hash: OBVIOUS });
  r.add('Server1'); // slots 10, 11
  r.add('Server3'); // slots 30, 31
  assert.equal(r.get(0), 'Server1');
  assert.equal(r.get(10), 'Server1');
  assert.equal(r.get(12), 'Server3');
  assert.equal(r.get(31), 'Server3');
  assert.equal(r.get(32), 'Server1', 'wraps round past the last slot');
  assert.equal(r.get(64 + 12), 'Server3', 'request ids are taken mod slots');
});

test('collisions are resolved by probing to the next free slot', () => {
  const clash: RingHash = { request: (i) => i, vnode: () => 5 };
  const r = new HashRing({ slots: 16, vnodes: 2, hash: clash });
  r.add('A');
  r.add('B');
  assert.deepEqual(r.layout().get('A'), [5, 6]);
  assert.deepEqual(r.layout().get('B'), [7, 8]);
  assert.equal(r.get(7), 'B');
});

test('an empty ring has no owner; a full ring stops placing virtual nodes', () => {
  const r = new HashRing({ slots: 4, vnodes: 3, hash: OBVIOUS });
  assert.equal(r.get(1), undefined);
  r.add('S0');
  r.add('S1');
  const placed = [...r.layout().values()].reduce((n, l) => n + l.length, 0);
  assert.equal(placed, 4);
});

test('removing a replica moves only its own requests', () => {
  const r = new HashRing();
  for (const s of ['Server0', 'Server3', 'Server5']) r.add(s);
  const before = Array.from({ length: 10_000 }, (_, i) => r.get(i));
  r.remove('Server3');
  let moved = 0;
  for (let i = 0; i < 10_000; i++) {
    const now = r.get(i);
    assert.notEqual(now, 'Server3');
    if (before[i] !== 'Server3') assert.equal(now, before[i], `request ${i} moved though its server stayed`);
    else moved++;
  }
  assert.ok(moved > 0);
});

/** min and max share of 10,000 request ids over every trio of Server0..Server11 */
function spread(opts: ConstructorParameters<typeof HashRing>[0]): { lo: number; hi: number } {
  let lo = 1;
  let hi = 0;
  for (let a = 0; a < 12; a++)
    for (let b = a + 1; b < 12; b++)
      for (let c = b + 1; c < 12; c++) {
        const r = new HashRing(opts);
        const trio = [a, b, c].map((x) => `Server${x}`);
        trio.forEach((s) => r.add(s));
        const count = new Map<string, number>();
        for (let i = 0; i < 10_000; i++) count.set(r.get(i)!, (count.get(r.get(i)!) ?? 0) + 1);
        for (const s of trio) {
          const share = (count.get(s) ?? 0) / 10_000;
          lo = Math.min(lo, share);
          hi = Math.max(hi, share);
        }
      }
  return { lo, hi };
}

test('spread: 10,000 request ids over every trio of replicas (stated bounds)', () => {
  // 512 slots and 9 virtual nodes (the assignment's sizes): every replica serves between 5% and 70%.
  const mix = spread({});
  assert.ok(mix.lo >= 0.05 && mix.hi <= 0.7, `default: ${mix.lo}..${mix.hi}`);
  // The assignment's quadratic functions spread worse: some replica gets under 3% somewhere.
  const quad = spread({ hash: ASSIGNMENT_HASH });
  assert.ok(quad.lo < 0.03 && quad.lo < mix.lo, `assignment: ${quad.lo}..${quad.hi}`);
  // More virtual nodes (configurable) tighten it: 32 give 15%..55%.
  const many = spread({ vnodes: 32 });
  assert.ok(many.lo >= 0.15 && many.hi <= 0.55, `32 vnodes: ${many.lo}..${many.hi}`);
});

test("the assignment's functions are available and deterministic", () => {
  assert.equal(ASSIGNMENT_HASH.request(1), 20);
  assert.equal(ASSIGNMENT_HASH.vnode(1, 0), 26);
  const r = new HashRing({ hash: ASSIGNMENT_HASH });
  r.add('Server1');
  r.add('Server2');
  assert.ok(['Server1', 'Server2'].includes(r.get(12345)!));
  assert.equal(r.get(12345), r.get(12345));
  assert.notEqual(MIX_HASH.request(1), MIX_HASH.request(2));
});

test('server numbers come from the digits of the name', () => {
  assert.equal(serverNumber('Server12'), 12);
  assert.equal(serverNumber('Server58127'), 58127);
  assert.equal(typeof serverNumber('alpha'), 'number');
  assert.notEqual(serverNumber('alpha'), serverNumber('beta'));
});

test('slotOf and ownerOfSlot: where a request lands and who serves that slot', () => {
  const r = new HashRing({ slots: 64, vnodes: 2, hash: OBVIOUS });
  r.add('Server1'); // slots 10, 11
  r.add('Server3'); // slots 30, 31
  const cases: [number, number, string][] = [
    [0, 0, 'Server1'],
    [11, 11, 'Server1'],
    [12, 12, 'Server3'],
    [32, 32, 'Server1'],
    [64 + 20, 20, 'Server3'],
  ];
  for (const [id, slot, owner] of cases) {
    assert.equal(r.slotOf(id), slot, `slot of ${id}`);
    assert.equal(r.ownerOfSlot(slot), owner, `owner of slot ${slot}`);
    assert.equal(r.get(id), owner, `get(${id}) agrees`);
  }
  assert.equal(new HashRing({ slots: 8 }).ownerOfSlot(3), undefined);
});
