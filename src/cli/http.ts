/** The CLI's calls to the LB: JSON in and out, and a clear line when nothing answers. */
import { request } from 'undici';
import { ExitError } from './errors.js';

export interface LbAnswer {
  status: number;
  body: unknown;
}

export async function callLb(base: string, method: string, path: string, payload?: unknown, timeoutMs = 120_000): Promise<LbAnswer> {
  let res;
  try {
    res = await request(`${base}${path}`, {
      method: method as 'GET',
      headers: payload === undefined ? undefined : { 'content-type': 'application/json' },
      body: payload === undefined ? undefined : typeof payload === 'string' ? payload : JSON.stringify(payload),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as { cause?: NodeJS.ErrnoException }).cause?.code;
    if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET')
      throw new ExitError(`no load balancer answers at ${base}: start one with \`shardctl up\` (or pass --url)`);
    throw new ExitError(`cannot reach the load balancer at ${base}: ${(e as Error).message}`);
  }
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.statusCode, body };
}

/** Calls the LB and throws ExitError with the LB's own message on a non-2xx answer. */
export async function callOk(base: string, method: string, path: string, payload?: unknown, timeoutMs?: number): Promise<unknown> {
  const r = await callLb(base, method, path, payload, timeoutMs);
  if (r.status >= 200 && r.status < 300) return r.body;
  const msg = (r.body as { message?: unknown })?.message;
  throw new ExitError(`${method} ${path} failed (HTTP ${r.status}): ${typeof msg === 'string' ? msg : JSON.stringify(r.body)}`);
}

export async function waitForLb(base: string, timeoutMs: number, alive: () => boolean = () => true): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!alive()) return false;
    try {
      const r = await request(`${base}/status`, { headersTimeout: 1000, bodyTimeout: 1000 });
      await r.body.dump();
      if (r.statusCode === 200) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
