/**
 * The shard log's on-disk framing, pure (no I/O): records in, bytes out, and back. server/DESIGN.md has the
 * whole format; in short every record is
 *
 *   offset 0  'W' 'L'          magic, so a scan can tell a record's start from the bytes of a torn write
 *          2  version (u8)     FORMAT_VERSION; a record of another version is refused, never guessed at
 *          3  0 (u8)           reserved
 *          4  length (u32 LE)  of the payload
 *          8  crc32 (u32 LE)   over bytes 0..7 and the payload, so a damaged length is caught too
 *         12  payload          UTF-8 JSON: a LogEntry, or a snapshot part
 *
 * A log is read from the front until the first record that is short or fails its checksum. If no valid record
 * starts anywhere after that point, it is a torn tail (a crash during the last append) and the log is cut there;
 * if one does, the damage is in the middle and the log is refused (`corrupt`), never skipped over.
 */
import * as zlib from 'node:zlib';

export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 12;
const MAGIC0 = 0x57; // 'W'
const MAGIC1 = 0x4c; // 'L'
/** a record larger than this is taken as a damaged length (a /write body is at most a few MiB) */
export const MAX_PAYLOAD = 256 * 1024 * 1024;

/** A change without its index and term: what a replication entry carries as `op` (REPLICATION.md). */
export type BaseOp =
  | { op: 'write'; rows: unknown[][] }
  | { op: 'update'; key: number; row: unknown[] }
  | { op: 'delete'; key: number }
  | { op: 'rollback'; remove: number[]; restore: unknown[][] }
  | { op: 'reset' }
  /** the first entry of a primary's term: committing it commits everything before (Raft §5.4.2) */
  | { op: 'noop' };

/** An entry's change: one op, or several client writes the LB sent together (one entry, one fsync). */
export type EntryOp = BaseOp | { op: 'batch'; ops: BaseOp[] };

/**
 * One record of a shard's log. `i` is the shard's log index (1, 2, ...), `t` the term (0 for a shard written
 * without primaries, assignment 2's mode). `truncate` is not an entry: it cuts every entry with index >= i
 * logged before it (a replica dropping an uncommitted tail the primary does not have); the next entry is i.
 */
export type LogEntry = (EntryOp & { i: number; t: number }) | { i: number; t: number; op: 'truncate' };

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 computed in JS, byte by byte: Node before 20.15 and 22.2, which have no zlib.crc32; the tests' reference. */
export function crc32Js(buf: Uint8Array, prev = 0, start = 0, end = buf.length): number {
  let c = ~prev;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/**
 * CRC-32 (IEEE 802.3, as zlib and PNG compute it) of buf[start, end); `prev` continues a running CRC. zlib's own
 * where Node has it (every record written, replayed and copied), else the same sum in JS.
 */
export const crc32: (buf: Uint8Array, prev?: number, start?: number, end?: number) => number = nativeCrc32
  ? (buf, prev = 0, start = 0, end = buf.length) => nativeCrc32(start === 0 && end === buf.length ? buf : buf.subarray(start, end), prev)
  : crc32Js;

/** One framed record holding `payload` (already serialised). */
export function encodeRecord(payload: string | Uint8Array, version = FORMAT_VERSION): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = version;
  out[3] = 0;
  out.writeUInt32LE(body.length, 4);
  out.set(body, HEADER_BYTES);
  out.writeUInt32LE(crc32(body, crc32(out, 0, 0, 8)), 8);
  return out;
}

export interface ScannedRecord {
  /** byte offset of the record's header */
  offset: number;
  payload: Buffer;
}

export type ScanResult =
  | { status: 'ok'; records: ScannedRecord[]; end: number }
  /** the last record is short or damaged and nothing valid follows: keep `records`, cut the file at `end` */
  | { status: 'torn'; records: ScannedRecord[]; end: number; reason: string }
  /** a damaged record with valid ones after it: the log cannot be trusted past `end` */
  | { status: 'corrupt'; records: ScannedRecord[]; end: number; reason: string }
  /** a valid record of another format version */
  | { status: 'version'; records: ScannedRecord[]; end: number; version: number };

type Check = { ok: true; len: number } | { ok: false; reason: string; version?: number };

/** Whether a whole, valid record starts at `off`. */
function check(buf: Buffer, off: number): Check {
  if (buf.length - off < HEADER_BYTES) return { ok: false, reason: `short header (${buf.length - off} bytes)` };
  if (buf[off] !== MAGIC0 || buf[off + 1] !== MAGIC1) return { ok: false, reason: 'bad magic' };
  const len = buf.readUInt32LE(off + 4);
  if (len > MAX_PAYLOAD) return { ok: false, reason: `length ${len} too large` };
  if (off + HEADER_BYTES + len > buf.length) return { ok: false, reason: `short record (${len} bytes announced, ${buf.length - off - HEADER_BYTES} present)` };
  const want = buf.readUInt32LE(off + 8);
  const got = crc32(buf, crc32(buf, 0, off, off + 8), off + HEADER_BYTES, off + HEADER_BYTES + len);
  if (want !== got) return { ok: false, reason: 'checksum mismatch' };
  if (buf[off + 2] !== FORMAT_VERSION) return { ok: false, reason: 'version', version: buf[off + 2] };
  return { ok: true, len };
}

/** Whether any valid record (of any version) starts after `from`: the test that tells a torn tail from a corrupt middle. */
function validRecordAfter(buf: Buffer, from: number): boolean {
  let at = from;
  for (;;) {
    at = buf.indexOf(MAGIC0, at);
    if (at < 0 || at + HEADER_BYTES > buf.length) return false;
    if (buf[at + 1] === MAGIC1) {
      const c = check(buf, at);
      if (c.ok || c.version !== undefined) return true;
    }
    at++;
  }
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Whether every byte from `from` on is zero (the preallocated, never written end of a segment). */
export function zeroFrom(buf: Buffer, from: number): boolean {
  for (let at = from; at < buf.length; at += ZEROS.length) {
    const end = Math.min(buf.length, at + ZEROS.length);
    if (!buf.subarray(at, end).equals(ZEROS.subarray(0, end - at))) return false;
  }
  return true;
}

/** Where the last non-zero byte after `from` ends (a torn record's extent inside preallocated space). */
export function nonZeroEnd(buf: Buffer, from: number): number {
  let end = buf.length;
  while (end > from && buf[end - 1] === 0) end--;
  return end;
}

/**
 * Reads every record of a log (or snapshot) file's bytes; see ScanResult for the outcomes. Segments are
 * preallocated with zeros, so zeros from some point to the end are the clean end of the log, not damage.
 */
export function scanRecords(buf: Buffer): ScanResult {
  const records: ScannedRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    const c = check(buf, off);
    if (!c.ok) {
      if (buf[off] === 0 && zeroFrom(buf, off)) return { status: 'ok', records, end: off };
      if (c.version !== undefined) return { status: 'version', records, end: off, version: c.version };
      if (validRecordAfter(buf, off + 1)) return { status: 'corrupt', records, end: off, reason: `${c.reason} at byte ${off}, valid records after it` };
      return { status: 'torn', records, end: off, reason: `${c.reason} at byte ${off}` };
    }
    records.push({ offset: off, payload: buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + c.len) });
    off += HEADER_BYTES + c.len;
  }
  return { status: 'ok', records, end: off };
}

/** Parses a log record's payload; throws on anything that is not a LogEntry (a checksum-valid but foreign record). */
export function parseEntry(payload: Buffer): LogEntry {
  const e = JSON.parse(payload.toString('utf8')) as LogEntry;
  if (!e || typeof e !== 'object' || !Number.isInteger(e.i) || e.i < 1 || typeof e.op !== 'string') throw new Error('not a log entry');
  return e;
}

/** The payload of a log entry. Rows are arrays of column values in schema order (shorter than objects). */
export function entryPayload(e: LogEntry): string {
  return JSON.stringify(e);
}

/**
 * Checks that entries continue the log without a gap: after a snapshot at `after`, the first applied entry must
 * be after+1 and each next one the previous + 1. Entries at or before `after` (kept in a segment the snapshot
 * covers) are skipped. A cut `{cut: k}` (a truncate record) drops the entries with index >= k read so far, and
 * the log goes on from k. Returns the entries to apply (positions in `ids`), or the reason the sequence is broken.
 */
export function planReplay(after: number, ids: readonly (number | { cut: number })[]): { apply: number[]; last: number } | { gap: string } {
  const apply: number[] = [];
  let last = after;
  const indexOf = (k: number) => ids[k] as number;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (typeof id !== 'number') {
      while (apply.length > 0 && indexOf(apply[apply.length - 1]) >= id.cut) apply.pop();
      last = Math.max(after, Math.min(last, id.cut - 1));
      continue;
    }
    if (id <= after && apply.length === 0 && last === after) continue;
    if (id !== last + 1) return { gap: `entry ${id} follows entry ${last}` };
    apply.push(k);
    last = id;
  }
  return { apply, last };
}
