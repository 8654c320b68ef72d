/**
 * The LB <-> shard server wire format in one place: the pre-serialised bodies the LB sends on its hot path, the
 * /batch op and answer-line encoding, and how a failure's code travels (a body's `code`, a batch line's
 * "!CODE message"), so a server's DUPLICATE_KEY reaches the client as DUPLICATE_KEY.
 */
import { ApiError, ERROR_CODES, type ErrorCode } from '../core/errors.js';

/**
 * A shard write body, serialised once: {"shard","curr_idx","data"}, plus "term" when it goes to the shard's
 * primary (core/REPLICATION.md: the primary refuses a term it does not lead).
 */
export function writeBody(shard: string, currIdx: number, rowsJson: string, term?: number): string {
  const t = term === undefined ? '' : `"term":${term},`;
  return `{"shard":${JSON.stringify(shard)},"curr_idx":${currIdx},${t}"data":${rowsJson}}`;
}

/**
 * A /read body; `minIndex` (a replica answers once its commit position reached it) when the LB knows one, and
 * `minTerm`, the term of the entry there, when it knows that too.
 */
export function readBody(shard: string, keyCol: string, low: number, high: number, minIndex?: number, minTerm?: number): string {
  return `{"shard":${JSON.stringify(shard)},${JSON.stringify(keyCol)}:{"low":${low},"high":${high}}${minFields(minIndex, minTerm)}}`;
}

export function batchReadOp(shard: string, low: number, high: number, minIndex?: number, minTerm?: number): string {
  return `{"op":"read","shard":${JSON.stringify(shard)},"low":${low},"high":${high}${minFields(minIndex, minTerm)}}`;
}

function minFields(minIndex?: number, minTerm?: number): string {
  if (minIndex === undefined) return '';
  return minTerm === undefined ? `,"minIndex":${minIndex}` : `,"minIndex":${minIndex},"minTerm":${minTerm}`;
}

/** The log index a primary's 200 names (`"index":N` in a /write body or a /batch answer line), if any. */
export function indexOf(answer: string): number | undefined {
  const m = /"index":(\d+)/.exec(answer);
  return m ? Number(m[1]) : undefined;
}

export function batchWriteOp(body: string): string {
  return `{"op":"write","w":${body}}`;
}

export function batchBody(ops: string[]): string {
  return `{"ops":[${ops.join(',')}]}`;
}

/** A failed op's answer line: "!CODE message". */
export function batchErrorLine(e: unknown): string {
  const code: ErrorCode = e instanceof ApiError ? e.code : 'INTERNAL';
  const msg = e instanceof Error ? e.message : String(e);
  return `!${code} ${msg.replace(/\n/g, ' ')}`;
}

/** An answer line: the op's result, or the ApiError it failed with (its code kept). */
export function parseBatchLine(line: string): string | ApiError {
  if (!line.startsWith('!')) return line;
  const sp = line.indexOf(' ');
  const code = line.slice(1, sp < 0 ? undefined : sp);
  const msg = sp < 0 ? '' : line.slice(sp + 1);
  return isErrorCode(code) ? new ApiError(code, msg) : new ApiError('INTERNAL', line.slice(1));
}

export function isErrorCode(c: unknown): c is ErrorCode {
  return typeof c === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, c);
}

/** The ApiError a server's 4xx body stands for: its `code` when it sends one, else one by status. */
export function errorFromBody(status: number, text: string): ApiError {
  let msg = text;
  let code: unknown;
  try {
    const j = JSON.parse(text) as { message?: string; code?: string };
    msg = j.message ?? text;
    code = j.code;
  } catch {
    /* not JSON */
  }
  if (isErrorCode(code)) return new ApiError(code, msg, status);
  const byStatus: ErrorCode = status === 404 ? 'KEY_NOT_FOUND' : status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 405 ? 'METHOD_NOT_ALLOWED' : 'INVALID_FIELD';
  return new ApiError(byStatus, msg, status);
}

/** The header a server's /heartbeat answer names its store instance in (a server that restarted empty has another). */
export const STORE_ID_HEADER = 'x-shardctl-store';
