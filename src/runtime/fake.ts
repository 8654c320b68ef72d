/**
 * A runtime for tests: each "server" is the real shard-server app, listening on a loopback port inside the
 * calling process. Fast to start; `kill` closes it abruptly (connections destroyed), like a crash.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo, Socket } from 'node:net';
import { createServerApp } from '../server/app.js';
import { ShardStore } from '../server/store.js';
import { RuntimeError, type ServerHandle, type ServerRuntime } from './runtime.js';

interface Running {
  server: ServerType;
  sockets: Set<Socket>;
  handle: ServerHandle;
}

export class InProcessRuntime implements ServerRuntime {
  readonly kind = 'in-process';
  private readonly running = new Map<string, Running>();
  /** names whose next spawn fails (to test respawn give-up) */
  readonly failSpawn = new Set<string>();

  async spawn(name: string): Promise<ServerHandle> {
    await this.stop(name);
    if (this.failSpawn.has(name)) throw new RuntimeError(`spawn of ${name} refused (test)`);
    const store = await ShardStore.open();
    const app = createServerApp({ store, serverId: name });
    const sockets = new Set<Socket>();
    const server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    const port = (server.address() as AddressInfo).port;
    const handle = { name, url: `http://127.0.0.1:${port}`, id: String(port) };
    this.running.set(name, { server, sockets, handle });
    return handle;
  }

  private close(name: string): void {
    const r = this.running.get(name);
    if (!r) return;
    this.running.delete(name);
    r.server.close();
    for (const s of r.sockets) s.destroy();
  }

  async stop(name: string): Promise<void> {
    this.close(name);
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
