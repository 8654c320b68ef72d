/**
 * A runtime for tests: each "server" is the real shard-server app, listening on a loopback port inside the
 * calling process. Fast to start; `kill` closes it abruptly (connections destroyed), like a crash.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo, Socket } from 'node:net';
import type { Server } from 'node:http';
import { createServerApp } from '../server/app.js';
import { serveReplStream, type StreamHandler } from '../server/repl-stream.js';
import { ShardStore } from '../server/store.js';
import { RuntimeError, type ServerHandle, type ServerRuntime, type ServerState } from './runtime.js';

interface Running {
  server: ServerType;
  sockets: Set<Socket>;
  handle: ServerHandle;
  /** set while paused: requests wait on it (alive but silent, like SIGSTOP) */
  paused?: { until: Promise<void>; resume: () => void };
  /** stops the app's replication loops (a killed process runs none) */
  stopLoops: () => void;
}

export class InProcessRuntime implements ServerRuntime {
  readonly kind = 'in-process';
  private readonly running = new Map<string, Running>();
  /** names whose next spawn fails (to test respawn retries) */
  readonly failSpawn = new Set<string>();
  /** names whose spawn waits this long first (to test races with membership changes) */
  readonly spawnDelayMs = new Map<string, number>();
  /** spawns made, per name (tests count leaked instances) */
  readonly spawns = new Map<string, number>();

  async spawn(name: string): Promise<ServerHandle> {
    await this.stop(name);
    const delay = this.spawnDelayMs.get(name);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (this.failSpawn.has(name)) throw new RuntimeError(`spawn of ${name} refused (test)`);
    this.spawns.set(name, (this.spawns.get(name) ?? 0) + 1);
    const store = await ShardStore.open();
    let repl: { close(): Promise<void> } | undefined;
    let stream: { handle: StreamHandler; maxBody: number } | undefined;
    const inner = createServerApp({ store, serverId: name, onReplication: (r) => (repl = r), onReplStream: (handle, maxBody) => (stream = { handle, maxBody }) });
    const app = {
      fetch: async (req: Request, env: unknown) => {
        const p = this.running.get(name)?.paused;
        if (p) await p.until;
        return inner.fetch(req, env);
      },
    };
    const sockets = new Set<Socket>();
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    if (stream) {
      const { handle, maxBody } = stream;
      // a paused server answers no stream call either (its appends wait, like its HTTP requests)
      serveReplStream(server as Server, async (path, body) => {
        const p = this.running.get(name)?.paused;
        if (p) await p.until;
        return handle(path, body);
      }, maxBody);
    }
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    const port = (server.address() as AddressInfo).port;
    const handle = { name, url: `http://127.0.0.1:${port}`, id: String(port) };
    this.running.set(name, { server, sockets, handle, stopLoops: () => void repl?.close() });
    return handle;
  }

  private close(name: string): void {
    const r = this.running.get(name);
    if (!r) return;
    this.running.delete(name);
    r.stopLoops();
    r.server.close();
    for (const s of r.sockets) s.destroy();
  }

  async stop(name: string): Promise<void> {
    this.resume(name);
    this.close(name);
  }

  /** Like SIGSTOP: the server stays up but answers nothing until resume(). */
  pause(name: string): void {
    const r = this.running.get(name);
    if (!r || r.paused) return;
    let resume!: () => void;
    const until = new Promise<void>((res) => (resume = res));
    r.paused = { until, resume };
  }

  resume(name: string): void {
    const r = this.running.get(name);
    r?.paused?.resume();
    if (r) r.paused = undefined;
  }

  async state(name: string): Promise<ServerState> {
    return this.running.has(name) ? 'running' : 'missing';
  }

  async kill(name: string): Promise<void> {
    if (!this.running.has(name)) throw new RuntimeError(`no running server named ${name}`);
    this.close(name);
  }

  async list(): Promise<ServerHandle[]> {
    return [...this.running.values()].map((r) => r.handle);
  }

  async logs(): Promise<string> {
    return '';
  }

  async stopAll(): Promise<void> {
    for (const n of [...this.running.keys()]) this.close(n);
  }
}
