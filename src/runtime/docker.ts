/**
 * The docker runtime, used by the LB running in its container with the host's docker socket mounted: each shard
 * server is a container on the cluster's network, reachable as http://<ServerName>:5000 through its network alias.
 * Docker is called only on membership changes and recovery, never on the read/write path.
 */
import { docker } from './docker-cli.js';
import { parsePs, psArgs, serverContainerName, serverRunArgs, networkName } from './docker-args.js';
import { RuntimeError, type ServerHandle, type ServerRuntime } from './runtime.js';

export interface DockerRuntimeOptions {
  cluster: string;
  network?: string;
  image?: string;
}

export class DockerRuntime implements ServerRuntime {
  readonly kind = 'docker';
  private readonly cluster: string;
  private readonly network: string;
  private readonly image: string;

  constructor(o: DockerRuntimeOptions) {
    this.cluster = o.cluster;
    this.network = o.network ?? networkName(o.cluster);
    if (!o.image) throw new RuntimeError('SHARDCTL_SERVER_IMAGE is not set: the docker runtime needs the server image');
    this.image = o.image;
  }

  private url(name: string): string {
    return `http://${name}:5000`;
  }

  async spawn(name: string): Promise<ServerHandle> {
    await this.stop(name);
    const id = await docker(serverRunArgs({ cluster: this.cluster, server: name, network: this.network, image: this.image, env: serverEnv() }), { timeoutMs: 60_000 });
    return { name, url: this.url(name), id: id.slice(0, 12) };
  }

  async stop(name: string): Promise<void> {
    try {
      await docker(['rm', '-f', '-v', serverContainerName(this.cluster, name)], { timeoutMs: 30_000 });
    } catch (e) {
      if (!/No such container/i.test(String((e as RuntimeError).stderrTail ?? (e as Error).message))) throw e;
    }
  }

  async kill(name: string): Promise<void> {
    await docker(['kill', serverContainerName(this.cluster, name)], { timeoutMs: 30_000 });
  }

  async list(): Promise<ServerHandle[]> {
    const rows = parsePs(await docker(psArgs(this.cluster, 'server', false)));
    return rows.filter((r) => r.state === 'running').map((r) => ({ name: r.server, url: this.url(r.server), id: r.id }));
  }

  async logs(name: string, lines = 200): Promise<string> {
    return docker(['logs', '--tail', String(lines), serverContainerName(this.cluster, name)]);
  }

  async stopAll(): Promise<void> {
    const rows = parsePs(await docker(psArgs(this.cluster, 'server', true)));
    if (rows.length) await docker(['rm', '-f', '-v', ...rows.map((r) => r.id)], { timeoutMs: 60_000 });
  }
}

/** The LB's settings that its servers share (V8 flags), passed on to each server container. */
function serverEnv(): Record<string, string> {
  const v = process.env.SHARDCTL_V8_FLAGS;
  return v === undefined ? {} : { SHARDCTL_V8_FLAGS: v };
}
