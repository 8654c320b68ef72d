/**
 * JSON error handling shared by the LB and the shard servers: Hono's plain-text onError and notFound are
 * replaced so every failure reads {"message": "<Error> ...", "status": "failure"} (API.md, conventions).
 */
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError, failureBody } from '../core/errors.js';
import type { Logger } from './log.js';

export function jsonFailure(c: Context, status: number, message: string): Response {
  return c.json(failureBody(message), status as 400);
}

/** Installs onError and notFound; `routes` maps each known path to its methods, so a wrong method is a 405. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function installErrorHandlers(app: Hono<any>, log: Logger): void {
  app.onError((err, c) => {
    if (err instanceof ApiError) return jsonFailure(c, err.status, err.message);
    if (err instanceof SyntaxError) return jsonFailure(c, 400, `<Error> Request body is not valid JSON: ${err.message}`);
    log.error('internal error', { path: c.req.path, err: err instanceof Error ? err.stack : String(err) });
    return jsonFailure(c, 500, `<Error> Internal error: ${err instanceof Error ? err.message : String(err)}`);
  });
  app.notFound((c) => jsonFailure(c, 404, `<Error> No endpoint ${c.req.method} ${c.req.path}`));
}

/** After the real routes: any other method on a known path answers 405 with the allowed methods. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function methodNotAllowed(app: Hono<any>, routes: Record<string, string[]>): void {
  for (const [path, methods] of Object.entries(routes)) {
    app.all(path, (c) => {
      c.header('Allow', methods.join(', '));
      return jsonFailure(c, 405, `<Error> Method ${c.req.method} is not allowed on ${c.req.path} (use ${methods.join(' or ')})`);
    });
  }
}

/** Request bodies over `max` bytes get a 413 in the contract's shape. */
export function limitBody(max: number) {
  return bodyLimit({
    maxSize: max,
    onError: (c) => jsonFailure(c, 413, `<Error> Payload is larger than the limit of ${max} bytes`),
  });
}

/**
 * The parsed JSON body. A GET with a body (the spec's GET /copy) is read from the raw Node request, since
 * fetch-style Requests drop GET bodies. Malformed JSON is a 400 INVALID_JSON.
 */
export async function readJson(c: Context): Promise<unknown> {
  let text: string;
  if (c.req.method === 'GET' || c.req.method === 'HEAD') {
    const incoming = (c.env as { incoming?: NodeJS.ReadableStream } | undefined)?.incoming;
    if (!incoming || (incoming as { readableEnded?: boolean }).readableEnded) return undefined;
    const chunks: Buffer[] = [];
    for await (const ch of incoming) chunks.push(typeof ch === 'string' ? Buffer.from(ch) : (ch as Buffer));
    text = Buffer.concat(chunks).toString('utf8');
  } else {
    text = await c.req.text();
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError('INVALID_JSON', `Request body is not valid JSON: ${(e as Error).message}`);
  }
}
