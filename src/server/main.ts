/**
 * Shard server entry point: `node dist/src/server/main.js`. PORT (default 5000; 0 picks a free one), HOST
 * (default 0.0.0.0), SERVER_ID (default: the hostname). Prints one JSON line {"event":"listening","port":N}
 * on stdout once it accepts connections, which the process runtime reads.
 */
import '../shared/v8-tuning.js'; // first: flags must be set before the request path is compiled
import { serve } from '@hono/node-server';
import { hostname } from 'node:os';
import { createServerApp } from './app.js';
import { ShardStore } from './store.js';
import { createLogger } from '../shared/log.js';

const serverId = process.env.SERVER_ID || hostname();
const log = createLogger(`server ${serverId}`);
const store = await ShardStore.open();
const app = createServerApp({ store, serverId, maxBody: Number(process.env.SHARDCTL_SERVER_MAX_BODY) || undefined });
const server = serve(
  { fetch: app.fetch, port: Number(process.env.PORT ?? 5000), hostname: process.env.HOST || '0.0.0.0' },
  (info) => {
    process.stdout.write(`${JSON.stringify({ event: 'listening', port: info.port, server: serverId })}\n`);
    log.info('listening', { port: info.port });
  },
);
server.on('error', (e) => {
  log.error('cannot listen', { err: String(e) });
  process.exit(1);
});
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
