/**
 * The CLI's calls to the LB go through the package's typed client (src/client); this file turns its errors into
 * the CLI's one-line failures and keeps the generic helpers the lifecycle commands use.
 */
import { request } from 'undici';
import { ShardctlClient, ShardctlConnectionError, ShardctlError, type HttpMethod } from '../client/index.js';
import { ExitError } from './errors.js';
import { lbUrl, type GlobalOpts } from './context.js';

/** A client error as the CLI's one line (and exit code 1). */
export function cliError(e: unknown): unknown {
  if (e instanceof ShardctlConnectionError)
    return new ExitError(
      e.refused ? `no load balancer answers at ${e.url}: start one with \`shardctl up\` (or pass --url)` : e.message,
    );
  if (e instanceof ShardctlError) return new ExitError(e.message);
  return e;
}

/** Runs fn with a client for the LB these options name; its failures become the CLI's one-line errors. */
export async function withLb<T>(o: GlobalOpts | string, fn: (c: ShardctlClient) => Promise<T>, timeoutMs?: number): Promise<T> {
  const client = new ShardctlClient(typeof o === 'string' ? o : lbUrl(o), { timeoutMs });
  try {
    return await fn(client);
  } catch (e) {
    throw cliError(e);
  }
}

/** Calls the LB and throws ExitError with the LB's own message on a non-2xx answer. */
export async function callOk(base: string, method: string, path: string, payload?: unknown, timeoutMs?: number): Promise<unknown> {
  return withLb(base, (c) => c.request(method as HttpMethod, path, payload), timeoutMs);
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
