/**
 * The console's routes on the LB (issue 12):
 *   GET /                 the console page for a browser (Accept: text/html), else JSON: version and endpoints
 *   GET /console/stream   Server-Sent Events: `state` on change, `metrics` every second (stream.ts)
 *   POST /console/kill    {"server": "Server3"}: crash a server as `shardctl kill` does; only when the LB was
 *                         started with --console-actions (otherwise the route does not exist), and refused
 *                         cross-site like every changing endpoint
 * Nothing here is on the data path: the only per-request cost the console adds is LbMetrics' counters.
 */
import type { Hono } from 'hono';
import { fail } from '../../core/errors.js';
import { readObject } from '../../shared/http-errors.js';
import type { Cluster } from '../cluster.js';
import type { LbMetrics } from '../metrics.js';
import type { Settings } from '../settings.js';
import { refuseCrossSite } from '../origin-guard.js';
import { lbVersion } from '../version.js';
import { CONSOLE_CSP, consolePage, wantsHtml } from './page.js';
import type { LbInfo } from './state.js';
import { ConsoleHub } from './stream.js';

export interface ConsoleOptions {
  /** runtime kind, cluster name, settings to show; defaults fill what is missing */
  info?: Partial<Omit<LbInfo, 'actions'>>;
  /** the console may kill, add and remove servers; kill needs `kill` too */
  actions?: boolean;
  /** crashes a server (the runtime's kill) */
  kill?: (server: string) => Promise<void>;
}

/** The LB's settings as the console's configuration panel shows them. */
export function consoleSettings(s: Settings, ringHash: string, maxBody: number): Record<string, string> {
  return {
    'heartbeat every': `${s.heartbeat.intervalMs} ms (timeout ${s.heartbeat.timeoutMs} ms)`,
    'fenced after': `${s.heartbeat.misses} missed heartbeats`,
    'ring hash': ringHash,
    'ring slots / vnodes': `${s.ring.slots ?? 512} / ${s.ring.vnodes ?? 'log2(slots)'}`,
    'write coalescing': `linger ${s.lingerMs} ms from ${s.lingerAt} requests in flight, at most ${s.maxBatchRows} rows`,
    'body limit': `${maxBody} bytes`,
  };
}

/** The endpoints a JSON client of GET / is told about. */
export const ENDPOINTS = [
  'POST /init',
  'GET /status',
  'POST /add',
  'DELETE /rm',
  'POST /read',
  'POST /write',
  'PUT /update',
  'DELETE /del',
  'GET /read/{server}',
  'GET /cluster',
  'GET /events',
  'GET / (Accept: text/html): the console',
  'GET /console/stream',
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function mountConsole(app: Hono<any>, cluster: Cluster, metrics: LbMetrics, opts: ConsoleOptions = {}): ConsoleHub {
  const actions = !!opts.actions;
  const startedAt = opts.info?.startedAt ?? Date.now();
  const info = (): LbInfo => ({
    version: opts.info?.version ?? lbVersion(),
    runtime: opts.info?.runtime ?? 'unknown',
    cluster: opts.info?.cluster ?? 'default',
    startedAt,
    actions,
    settings: opts.info?.settings ?? {},
  });
  const hub = new ConsoleHub(cluster, metrics, info);
  const html = consolePage(actions);

  app.get('/', (c) => {
    c.header('Vary', 'Accept');
    if (wantsHtml(c.req.header('accept'))) {
      c.header('Content-Security-Policy', CONSOLE_CSP);
      c.header('X-Frame-Options', 'DENY');
      c.header('X-Content-Type-Options', 'nosniff');
      c.header('Referrer-Policy', 'no-referrer');
      c.header('Cache-Control', 'no-store');
      return c.html(html);
    }
    const i = info();
    return c.json({
      name: 'shardctl load balancer',
      version: i.version,
      runtime: i.runtime,
      cluster: i.cluster,
      console: 'open this address in a browser (GET / with Accept: text/html)',
      endpoints: ENDPOINTS.concat(actions ? ['POST /console/kill'] : []),
      status: 'success',
    });
  });

  app.get('/console/stream', (c) => hub.handle(c));

  // the 405 answers for these paths come from the route table (core/api.ts) with every other route's
  if (actions) {
    app.post('/console/kill', async (c) => {
      refuseCrossSite(c);
      const b = await readObject(c, 4096);
      const server = b.server;
      if (typeof server !== 'string' || !server) fail('INVALID_FIELD', 'server must be a server name, such as "Server3"');
      const servers = (cluster.status() as { servers: Record<string, string[]> }).servers;
      if (!Object.hasOwn(servers, server)) fail('UNKNOWN_SERVER', `Server ${server} is not in the cluster (servers: ${Object.keys(servers).join(', ') || 'none'})`);
      if (!opts.kill) fail('INTERNAL', 'this load balancer was started without a runtime that can kill servers');
      await opts.kill(server);
      return c.json({ message: `killed ${server}; the LB will detect it and respawn it`, status: 'success' });
    });
  }
  return hub;
}
