/**
 * LB entry point: `node dist/src/lb/main.js`. Configured by the environment, which `shardctl up` sets:
 *   PORT (5000), HOST (0.0.0.0), SHARDCTL_RUNTIME (process|docker), SHARDCTL_STATE_DIR (metadata, logs),
 *   SHARDCTL_CLUSTER (name), SHARDCTL_MAX_BODY (bytes), SHARDCTL_RING_SLOTS / _VNODES / _HASH (mix|assignment),
 *   SHARDCTL_HB_INTERVAL_MS / _TIMEOUT_MS / _MISSES, SHARDCTL_LINGER_AT / _MS (coalescing under load),
 *   SHARDCTL_MAX_BATCH_ROWS, SHARDCTL_CONSOLE_ACTIONS (1: the console may kill, add, remove), and for docker
 *   SHARDCTL_NETWORK, SHARDCTL_SERVER_IMAGE.
 * Saved metadata in the state dir is resumed on start (after a crash, a graceful stop, `down` then `up`): servers
 * not running are started again on their stored data. SIGTERM/SIGINT stop every server (their data stays) and
 * then the LB, keeping the metadata: only `shardctl down --volumes` and /init forget a cluster's data.
 */
import '../shared/v8-tuning.js'; // first: flags must be set before the request path is compiled
import { serve } from '@hono/node-server';
import { join } from 'node:path';
import { HASHES } from '../core/hash-ring.js';
import { createLogger } from '../shared/log.js';
import { createRuntime } from '../runtime/select.js';
import { createLbApp } from './app.js';
import { Cluster } from './cluster.js';
import { MetaStore } from './metadata.js';
import { EventFile } from './event-file.js';
import { HttpShardClient } from './shard-client.js';
import { readSettings, resolveSettings } from './settings.js';
import { consoleSettings } from './console/routes.js';

const env = process.env;
const num = (k: string, d?: number) => (env[k] !== undefined && env[k] !== '' ? Number(env[k]) : d);
const log = createLogger('lb');
const stateDir = env.SHARDCTL_STATE_DIR || join(process.cwd(), '.shardctl', env.SHARDCTL_CLUSTER || 'default');
const runtime = await createRuntime(env.SHARDCTL_RUNTIME || 'process', {
  cluster: env.SHARDCTL_CLUSTER || 'default',
  stateDir,
  network: env.SHARDCTL_NETWORK,
  image: env.SHARDCTL_SERVER_IMAGE,
  serverAddr: env.SHARDCTL_SERVER_ADDR === 'ip' ? 'ip' : 'name',
});
let meta: MetaStore;
let saved: ReturnType<MetaStore['load']>;
try {
  meta = await MetaStore.open(join(stateDir, 'meta.db'));
  saved = meta.load();
} catch (e) {
  // metadata of another format: refuse rather than guess (and never overwrite it)
  log.error(String((e as Error).message));
  process.exit(4);
}
const hashName = env.SHARDCTL_RING_HASH || 'mix';
if (!HASHES[hashName]) {
  log.error(`unknown SHARDCTL_RING_HASH ${hashName}; use one of ${Object.keys(HASHES).join(', ')}`);
  process.exit(2);
}
const settings = readSettings(env);
const cluster = new Cluster({
  ...settings,
  ring: { ...settings.ring, hash: HASHES[hashName] },
  runtime,
  client: new HttpShardClient({ connections: num('SHARDCTL_POOL_CONNECTIONS', 32) }),
  log,
  meta,
  events: new EventFile(join(stateDir, 'events.json')),
});
if (saved) {
  log.info('resuming saved cluster', { servers: Object.keys(saved.servers).length, shards: saved.shards.length });
  // a failed resume is retried in the background; meanwhile data requests get a 503 that says so
  await cluster.resume(saved);
}
cluster.startHeartbeats();
const app = createLbApp({
  cluster,
  log,
  maxBody: num('SHARDCTL_MAX_BODY'),
  // the console at GET / (issue 12); its actions (kill, add, rm) only with `shardctl up --console-actions`
  console: {
    actions: env.SHARDCTL_CONSOLE_ACTIONS === '1',
    kill: (server) => runtime.kill(server),
    info: {
      runtime: runtime.kind,
      cluster: env.SHARDCTL_CLUSTER || 'default',
      settings: consoleSettings(resolveSettings(settings), hashName, num('SHARDCTL_MAX_BODY', 4 * 1024 * 1024)!),
    },
  },
});
const port = num('PORT', 5000)!;
const server = serve({ fetch: app.fetch, port, hostname: env.HOST || '0.0.0.0' }, (info) => {
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: info.port })}\n`);
  log.info('listening', { port: info.port, runtime: runtime.kind, stateDir });
});
server.on('error', (e: NodeJS.ErrnoException) => {
  log.error(e.code === 'EADDRINUSE' ? `port ${port} is taken: stop what uses it or pick another with --port` : `cannot listen: ${e.message}`);
  process.exit(3);
});
let stopping = false;
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log.info(`${sig}: stopping every server (their data and this cluster's metadata stay)`);
    server.close();
    const hard = setTimeout(() => process.exit(1), 20_000);
    hard.unref();
    const stopServers = env.SHARDCTL_KEEP_SERVERS !== '1';
    cluster
      .shutdown(stopServers)
      .catch((e) => log.error('shutdown', { err: String(e) }))
      .finally(() => process.exit(0));
  });
}
