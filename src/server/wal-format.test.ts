import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, crc32Js, encodeRecord, entryPayload, HEADER_BYTES, parseEntry, planReplay, scanRecords, type LogEntry } from './wal-format.js';

const e = (i: number): LogEntry => ({ i, t: 0, op: 'write', rows: [[i, `S${i}`, i % 100]] });
const log = (...entries: LogEntry[]) => Buffer.concat(entries.map((x) => encodeRecord(entryPayload(x))));
const indexes = (b: Buffer) => {
  const r = scanRecords(b);
  return { status: r.status, ids: r.records.map((x) => parseEntry(x.payload).i), end: r.end };
};

test('crc32: the standard check values', () => {
  for (const [input, want] of [
    ['', 0],
    ['123456789', 0xcbf43926],
    ['The quick brown fox jumps over the lazy dog', 0x414fa339],
  ] as const) {
    assert.equal(crc32(Buffer.from(input)), want, input);
  }
  // a running CRC over two parts equals the CRC of the whole
  assert.equal(crc32(Buffer.from('56789'), crc32(Buffer.from('1234'))), 0xcbf43926);
  assert.equal(crc32Js(Buffer.from('123456789')), 0xcbf43926);
});

test('crc32: zlib\'s and the JS table agree on every length, offset range and running CRC (logs move between Node versions)', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let n = 0; n < 300; n++) {
    const buf = Buffer.from(Array.from({ length: n * 7 + (n % 5) }, rnd));
    const start = n % 3 === 0 ? 0 : Math.min(buf.length, n % 11);
    const end = n % 4 === 0 ? buf.length : Math.max(start, buf.length - (n % 13));
    const prev = n % 2 ? rnd() * 65537 : 0;
    assert.equal(crc32(buf, prev, start, end), crc32Js(buf, prev, start, end), `length ${buf.length} [${start}, ${end}) prev ${prev}`);
  }
});

const three = log(e(1), e(2), e(3));
const second = encodeRecord(entryPayload(e(1))).length; // where record 2 starts
const flip = (b: Buffer, at: number) => {
  const c = Buffer.from(b);
  c[at] ^= 0xff;
  return c;
};

test('scan: whole logs, torn tails, corrupt middles (table)', () => {
  const cases: { name: string; bytes: Buffer; status: string; ids: number[]; end?: number }[] = [
    { name: 'empty file', bytes: Buffer.alloc(0), status: 'ok', ids: [] },
    { name: 'three whole records', bytes: three, status: 'ok', ids: [1, 2, 3], end: three.length },
    { name: 'last record cut short', bytes: three.subarray(0, three.length - 5), status: 'torn', ids: [1, 2], end: 2 * second },
    { name: 'only part of the last header', bytes: three.subarray(0, 2 * second + 7), status: 'torn', ids: [1, 2], end: 2 * second },
    { name: 'zeros after the last record (preallocated, never written)', bytes: Buffer.concat([three, Buffer.alloc(100)]), status: 'ok', ids: [1, 2, 3], end: three.length },
    { name: 'a preallocated segment never written', bytes: Buffer.alloc(70_000), status: 'ok', ids: [], end: 0 },
    { name: 'half a record, then the preallocated zeros', bytes: Buffer.concat([three.subarray(0, three.length - 5), Buffer.alloc(100)]), status: 'torn', ids: [1, 2], end: 2 * second },
    { name: 'a record zeroed in the middle, good ones after it', bytes: Buffer.concat([log(e(1)), Buffer.alloc(second), log(e(3))]), status: 'corrupt', ids: [1], end: second },
    { name: 'last record with a bad checksum', bytes: flip(three, three.length - 3), status: 'torn', ids: [1, 2], end: 2 * second },
    { name: 'middle record with a bad payload byte', bytes: flip(three, second + HEADER_BYTES + 3), status: 'corrupt', ids: [1], end: second },
    { name: 'middle record with a damaged length', bytes: flip(three, second + 5), status: 'corrupt', ids: [1], end: second },
    { name: 'first record damaged, others fine', bytes: flip(three, 0), status: 'corrupt', ids: [], end: 0 },
    { name: 'garbage between two records', bytes: Buffer.concat([log(e(1)), Buffer.from('xxxx'), log(e(2))]), status: 'corrupt', ids: [1], end: second },
  ];
  for (const c of cases) {
    const got = indexes(c.bytes);
    assert.equal(got.status, c.status, c.name);
    assert.deepEqual(got.ids, c.ids, c.name);
    if (c.end !== undefined) assert.equal(got.end, c.end, c.name);
  }
});

test('scan: a record of another format version is refused, not treated as damage', () => {
  const old = Buffer.concat([log(e(1)), encodeRecord(entryPayload(e(2)), 0), log(e(3))]);
  const r = scanRecords(old);
  assert.equal(r.status, 'version');
  assert.equal(r.status === 'version' && r.version, 0);
  assert.equal(r.records.length, 1);
  // a torn write followed by a record of another version still counts as "something valid follows"
  const torn = Buffer.concat([log(e(1)).subarray(0, 20), encodeRecord('{}', 9)]);
  assert.equal(scanRecords(torn).status, 'corrupt');
});

test('planReplay: skips what the snapshot covers, refuses gaps (table)', () => {
  const cases: { after: number; ids: (number | { cut: number })[]; want: { apply: number[]; last: number } | 'gap' }[] = [
    { after: 0, ids: [], want: { apply: [], last: 0 } },
    { after: 0, ids: [1, 2, 3], want: { apply: [0, 1, 2], last: 3 } },
    { after: 2, ids: [1, 2, 3, 4], want: { apply: [2, 3], last: 4 } },
    { after: 5, ids: [3, 4, 5], want: { apply: [], last: 5 } },
    { after: 5, ids: [], want: { apply: [], last: 5 } },
    { after: 0, ids: [2], want: 'gap' },
    { after: 2, ids: [1, 2, 4], want: 'gap' },
    { after: 0, ids: [1, 2, 2], want: 'gap' },
    // a truncate record cuts the tail read so far; the log goes on from the cut
    { after: 0, ids: [1, 2, 3, { cut: 2 }, 2, 3], want: { apply: [0, 4, 5], last: 3 } },
    { after: 0, ids: [1, 2, 3, { cut: 4 }, 4], want: { apply: [0, 1, 2, 4], last: 4 } },
    { after: 0, ids: [1, 2, { cut: 2 }, 3], want: 'gap' },
    // the cut entries were after a snapshot at 3 that came later: what follows at or below 3 is skipped
    { after: 3, ids: [4, 5, { cut: 2 }, 2, 3, 4], want: { apply: [5], last: 4 } },
    { after: 3, ids: [{ cut: 4 }, 4], want: { apply: [1], last: 4 } },
  ];
  for (const c of cases) {
    const got = planReplay(c.after, c.ids);
    if (c.want === 'gap') assert.ok('gap' in got, JSON.stringify(c));
    else assert.deepEqual(got, c.want, JSON.stringify(c));
  }
});

test('parseEntry: refuses a checksum-valid payload that is not an entry', () => {
  assert.deepEqual(parseEntry(Buffer.from(entryPayload(e(7)))), e(7));
  for (const bad of ['{}', '[]', '{"i":0,"op":"write"}', '{"i":1}']) assert.throws(() => parseEntry(Buffer.from(bad)), bad);
});
