/**
 * JSON error handling shared by the LB and the shard servers: Hono's plain-text onError and notFound are
 * replaced so every failure reads {"message": "<Error> ...", "status": "failure"} (API.md, conventions).
 */
import type { Context, Hono } from 'hono';
import { ApiError, failureBody, type ErrorCode } from '../core/errors.js';
import type { Logger } from './log.js';

export function jsonFailure(c: Context, status: number, message: string, code?: ErrorCode, extra?: Readonly<Record<string, unknown>>): Response {
  return c.json(extra ? { ...failureBody(message, code), ...extra } : failureBody(message, code), status as 400);
}

/** What a failure answers, over HTTP or a stream (server/repl-stream.ts): an ApiError's own status and body, else 500. */
export function failureAnswer(err: unknown): { status: number; body: Record<string, unknown> } {
  if (err instanceof ApiError) return { status: err.status, body: err.extra ? { ...failureBody(err.message, err.code), ...err.extra } : failureBody(err.message, err.code) };
  return { status: 500, body: failureBody(`<Error> Internal error: ${err instanceof Error ? err.message : String(err)}`, 'INTERNAL') };
}

/** Installs onError and notFound; `routes` maps each known path to its methods, so a wrong method is a 405. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function installErrorHandlers(app: Hono<any>, log: Logger): void {
  app.onError((err, c) => {
    if (err instanceof SyntaxError) return jsonFailure(c, 400, `<Error> Request body is not valid JSON: ${err.message}`, 'INVALID_JSON');
    if (!(err instanceof ApiError)) log.error('internal error', { path: c.req.path, err: err instanceof Error ? err.stack : String(err) });
    const a = failureAnswer(err);
    return c.json(a.body, a.status as 400);
  });
  app.notFound((c) => jsonFailure(c, 404, `<Error> No endpoint ${c.req.method} ${c.req.path}`, 'NOT_FOUND'));
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

/**
 * After the real routes: any other method on a known path answers 405 with the allowed methods. Registered for
 * the other methods only, so a request to a real route matches exactly one handler and takes Hono's fast path
 * (a second match, even one never reached, makes Hono compose a middleware chain for every request).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function methodNotAllowed(app: Hono<any>, routes: Record<string, string[]>): void {
  for (const [path, methods] of Object.entries(routes)) {
    const others = METHODS.filter((m) => !methods.includes(m));
    app.on(others, path, (c) => {
      c.header('Allow', methods.join(', '));
      return jsonFailure(c, 405, `<Error> Method ${c.req.method} is not allowed on ${c.req.path} (use ${methods.join(' or ')})`, 'METHOD_NOT_ALLOWED');
    });
  }
}

/** The body as a JSON object; anything else (an array, a number, no body) is a 400 naming what is wanted. */
export async function readObject(c: Context, max: number): Promise<Record<string, unknown>> {
  const b = await readJson(c, max);
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new ApiError('INVALID_FIELD', 'body must be a JSON object');
  return b as Record<string, unknown>;
}

/**
 * The parsed JSON body, read straight from the Node request (no fetch-style Request is built: that costs more
 * than the rest of a write). Works for a GET with a body too (the spec's GET /copy). Bodies over `max` bytes
 * are a 413; malformed JSON is a 400 INVALID_JSON. Outside Node (app.request in tests) it falls back to Hono.
 */
export async function readJson(c: Context, max = 4 * 1024 * 1024): Promise<unknown> {
  const incoming = (c.env as { incoming?: import('node:http').IncomingMessage } | undefined)?.incoming;
  let text: string;
  const tooLarge = () => new ApiError('PAYLOAD_TOO_LARGE', `Payload is larger than the limit of ${max} bytes`);
  if (incoming) {
    const declared = Number(incoming.headers['content-length'] ?? 0);
    if (declared > max) {
      incoming.resume(); // drain it, so the connection stays usable
      throw tooLarge();
    }
    if (incoming.readableEnded) return undefined;
    text = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      incoming.on('data', (ch: Buffer) => {
        size += ch.length;
        if (size > max) {
          incoming.removeAllListeners('data');
          incoming.resume();
          reject(tooLarge());
          return;
        }
        chunks.push(ch);
      });
      incoming.once('end', () => resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8')));
      incoming.once('error', reject);
    });
  } else {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return undefined;
    text = await c.req.text();
    if (Buffer.byteLength(text) > max) throw tooLarge();
  }
  if (text.length === 0 || text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('INVALID_JSON', `Request body is not valid JSON: ${(e as Error).message}`);
  }
}
