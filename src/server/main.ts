/**
 * Shard server entry point: `node dist/src/server/main.js`. PORT (default 5000; 0 picks a free one), HOST
 * (default 0.0.0.0), SERVER_ID (default: the hostname), SHARDCTL_DATA_DIR (where the shards' logs and
 * snapshots live; unset: memory only), SHARDCTL_SNAPSHOT_BYTES (log bytes between snapshots, 16 MiB),
 * SHARDCTL_COMMIT_TIMEOUT_MS (how long a write with a term waits for its commit, 2 s), SHARDCTL_KEEP_BEHIND (a
 * replica at most this many entries behind keeps the primary from compacting past it, 1000), SHARDCTL_NOTICE_MS (how
 * long a commit notice waits for an append to carry it, 20 ms; 0 sends it at once), SHARDCTL_REPL_STREAM=0 (a
 * primary sends its appends as HTTP requests instead of over one upgraded connection per replica).
 * Prints one JSON line {"event":"listening","port":N} on stdout once it accepts connections, which the process
 * runtime reads; it listens before it has replayed its data dir (see server/DESIGN.md, "Replay").
 */
import '../shared/v8-tuning.js'; // first: flags must be set before the request path is compiled
import { serve } from '@hono/node-server';
import { hostname } from 'node:os';
import { createServerApp } from './app.js';
import type { Server } from 'node:http';
import { serveReplStream, type StreamHandler } from './repl-stream.js';
import { ShardStore } from './store.js';
import { createLogger } from '../shared/log.js';

const serverId = process.env.SERVER_ID || hostname();
const log = createLogger(`server ${serverId}`);
const dataDir = process.env.SHARDCTL_DATA_DIR || undefined;
const store = await ShardStore.open({
  dataDir,
  snapshotBytes: Number(process.env.SHARDCTL_SNAPSHOT_BYTES) || undefined,
  // a failed fsync leaves the kernel's page cache in an unknown state (the "fsyncgate" lesson): stop rather
  // than acknowledge anything more; the LB respawns the server, which replays what did reach the disk
  onFatal: (e) => {
    log.error('cannot make the log durable; exiting', { err: String(e) });
    process.exit(70);
  },
  warn: (msg, detail) => log.warn(msg, detail),
});
let stream: { handle: StreamHandler; maxBody: number } | undefined;
const app = createServerApp({
  store,
  serverId,
  onReplStream: (handle, maxBody) => (stream = { handle, maxBody }),
  replStream: process.env.SHARDCTL_REPL_STREAM !== '0',
  maxBody: Number(process.env.SHARDCTL_SERVER_MAX_BODY) || undefined,
  commitTimeoutMs: Number(process.env.SHARDCTL_COMMIT_TIMEOUT_MS) || undefined,
  keepBehind: process.env.SHARDCTL_KEEP_BEHIND === undefined ? undefined : Number(process.env.SHARDCTL_KEEP_BEHIND),
  noticeMs: process.env.SHARDCTL_NOTICE_MS === undefined ? undefined : Number(process.env.SHARDCTL_NOTICE_MS),
});
const server = serve(
  { fetch: app.fetch, port: Number(process.env.PORT ?? 5000), hostname: process.env.HOST || '0.0.0.0' },
  (info) => {
    process.stdout.write(`${JSON.stringify({ event: 'listening', port: info.port, server: serverId })}\n`);
    log.info('listening', { port: info.port });
  },
);
// primaries' /repl/append calls over one upgraded connection each (repl-stream.ts)
if (stream) serveReplStream(server as Server, stream.handle, stream.maxBody);
const t0 = Date.now();
store.replay().then(
  () => {
    if (dataDir) log.info('replayed', { dataDir, ms: Date.now() - t0, shards: store.state() });
    for (const [shard, st] of Object.entries(store.state()))
      if (st.corrupt) log.warn('shard log damaged: the shard is refused (503) until the load balancer refills it', { shard, corrupt: st.corrupt });
  },
  (e) => {
    // another format, or a data dir that cannot be read: refuse to serve rather than serve something else
    log.error(`cannot read the data dir ${dataDir}: ${(e as Error).message}. Run the shardctl version that wrote it, or delete the data (\`shardctl down --volumes\`, then \`up\` and \`init\`)`);
    process.exit(2);
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
