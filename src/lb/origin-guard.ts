/**
 * No cross-site writes (issue 12): the LB listens on 127.0.0.1, so any web page open in the user's browser could
 * otherwise `fetch('http://127.0.0.1:5000/init', {method: 'POST', mode: 'no-cors', body})` or submit a form and
 * change the cluster. Every endpoint that changes state refuses a request that a browser marks as coming from
 * another origin; clients that send no Origin (curl, scripts, the CLI, the benchmark) are not affected.
 *
 * Refused, with 403 CROSS_SITE_REQUEST:
 *  - an `Origin` that is not this LB's own (`http://` + the Host the request was sent to), `null` included;
 *  - an `Origin` that matches, but whose host is a name other than localhost (DNS rebinding: evil.example
 *    resolving to 127.0.0.1 makes Origin and Host agree; the LB is only ever reached by loopback address,
 *    localhost, or an IP address);
 *  - `Sec-Fetch-Site: cross-site` (sent by browsers even where Origin is not).
 * Headers are read from Node's already-parsed IncomingMessage when there is one, so the check builds no
 * fetch-style Headers object on the write path.
 */
import type { Context } from 'hono';
import { ApiError } from '../core/errors.js';

/** Why a request must be refused as cross-site, or undefined when it may proceed. Pure. */
export function crossSiteReason(h: { origin?: string; host?: string; secFetchSite?: string }): string | undefined {
  if (h.secFetchSite !== undefined && h.secFetchSite.toLowerCase() === 'cross-site')
    return 'Cross-site request refused: the browser marked it Sec-Fetch-Site: cross-site. Use the console served by this load balancer, or a client that sends no Origin (curl, shardctl)';
  if (h.origin === undefined) return undefined;
  const own = h.host ? `http://${h.host.toLowerCase()}` : undefined;
  if (own === undefined || h.origin.toLowerCase() !== own)
    return `Cross-site request refused: Origin ${h.origin} is not this load balancer's own (${own ?? 'no Host header'}). Use the console served by this load balancer, or a client that sends no Origin (curl, shardctl)`;
  if (!isAddressHost(h.host!))
    return `Cross-site request refused: a browser reached this load balancer by the name ${hostname(h.host!)}, not by its address (DNS rebinding?). Open the console at http://127.0.0.1:<port>/ instead`;
  return undefined;
}

function hostname(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const i = h.lastIndexOf(':');
  return i >= 0 ? h.slice(0, i) : h;
}

/** localhost, an IPv4 address or a bracketed IPv6 address (with or without a port). */
export function isAddressHost(host: string): boolean {
  const n = hostname(host);
  return n === 'localhost' || n.endsWith('.localhost') || /^\d{1,3}(\.\d{1,3}){3}$/.test(n) || /^\[[0-9a-f:.]+\]$/.test(n);
}

function header(c: Context, name: string): string | undefined {
  const incoming = (c.env as { incoming?: import('node:http').IncomingMessage } | undefined)?.incoming;
  if (incoming) {
    const v = incoming.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }
  return c.req.header(name);
}

/**
 * Throws a 403 CROSS_SITE_REQUEST when a browser sent this request from another site; call it first in every
 * handler that changes state. A request without Origin and Sec-Fetch-Site costs two header lookups.
 */
export function refuseCrossSite(c: Context): void {
  const origin = header(c, 'origin');
  const secFetchSite = header(c, 'sec-fetch-site');
  if (origin === undefined && secFetchSite === undefined) return;
  const why = crossSiteReason({ origin, secFetchSite, host: header(c, 'host') ?? new URL(c.req.url).host });
  if (why) throw new ApiError('CROSS_SITE_REQUEST', why);
}
