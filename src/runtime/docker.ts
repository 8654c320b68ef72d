/**
 * The docker runtime, used by the LB running in its container with the host's docker socket mounted: each shard
 * server is a container on the cluster's network, reachable as http://<ServerName>:5000 through its network alias
 * (an LB on that network) or at its address on it (an LB on the host's network: `addr: 'ip'`).
 * Docker is called only on membership changes and recovery, never on the read/write path.
 */
import { docker } from './docker-cli.js';
import { dataVolumeArgs, dataVolumeLsArgs, ipArgs, parseIpUrls, parsePs, psArgs, serverRunArgs, networkName } from './docker-args.js';
import { RuntimeError, type ServerHandle, type ServerRuntime, type ServerState, type StopOptions } from './runtime.js';

export interface DockerRuntimeOptions {
  cluster: string;
  network?: string;
  image?: string;
  /** how the LB reaches a server: by its name on the cluster network, or by its IP address there */
  addr?: 'name' | 'ip';
}

export class DockerRuntime implements ServerRuntime {
  readonly kind = 'docker';
  private readonly cluster: string;
  private readonly network: string;
  private readonly image: string;
  private readonly addr: 'name' | 'ip';

  constructor(o: DockerRuntimeOptions) {
    this.cluster = o.cluster;
    this.network = o.network ?? networkName(o.cluster);
    if (!o.image) throw new RuntimeError('SHARDCTL_SERVER_IMAGE is not set: the docker runtime needs the server image');
    this.image = o.image;
    this.addr = o.addr ?? 'name';
  }

  /** Each container's URL: by name, or (addr 'ip') by its address on the cluster network, in one docker call. */
  private async urls(ids: { id: string; name: string }[]): Promise<string[]> {
    if (this.addr === 'name' || ids.length === 0) return ids.map((x) => `http://${x.name}:5000`);
    const out = await docker(ipArgs(this.network, ids.map((x) => x.id)));
    const urls = parseIpUrls(out, 5000);
    if (urls?.length !== ids.length)
      throw new RuntimeError(`could not read the addresses of ${ids.map((x) => x.name).join(', ')} on ${this.network}: ${out.slice(0, 200)}`);
    return urls;
  }

  async spawn(name: string): Promise<ServerHandle> {
    await this.stop(name);
    // its data volume, labelled, before `run` would create an unlabelled one; an existing one is reused as is
    await docker(dataVolumeArgs(this.cluster, name), { timeoutMs: 30_000 });
    const id = (await docker(serverRunArgs({ cluster: this.cluster, server: name, network: this.network, image: this.image, env: serverEnv() }), { timeoutMs: 60_000 })).trim();
    const [url] = await this.urls([{ id, name }]);
    return { name, url, id: id.slice(0, 12) };
  }

  /** This cluster's containers of one server, found by labels (never by a name another cluster could share). */
  private async containers(name: string) {
    return parsePs(await docker(psArgs(this.cluster, 'server', true, name))).filter((r) => r.server === name);
  }

  async stop(name: string, o: StopOptions = {}): Promise<void> {
    const ids = (await this.containers(name)).map((r) => r.id);
    if (o.removeData) await this.removeContainersThen(ids, () => this.removeVolumes(name));
    else await this.removeContainersThen(ids);
  }

  /** Removes containers (-v: anonymous volumes only; the named data volume stays), then runs `after`. */
  private async removeContainersThen(ids: string[], after?: () => Promise<void>): Promise<void> {
    if (ids.length) {
      try {
        await docker(['rm', '-f', '-v', ...ids], { timeoutMs: 30_000 });
      } catch (e) {
        if (!/No such container/i.test(String((e as RuntimeError).stderrTail ?? (e as Error).message))) throw e;
      }
    }
    await after?.();
  }

  private async removeVolumes(server?: string): Promise<void> {
    const vols = (await docker(dataVolumeLsArgs(this.cluster, server))).split('\n').filter(Boolean);
    if (vols.length) await docker(['volume', 'rm', '-f', ...vols], { timeoutMs: 60_000 });
  }

  async kill(name: string): Promise<void> {
    const running = (await this.containers(name)).filter((r) => r.state === 'running' || r.state === 'paused');
    if (running.length === 0) throw new RuntimeError(`no running server named ${name} in cluster ${this.cluster}`);
    await docker(['kill', ...running.map((r) => r.id)], { timeoutMs: 30_000 });
  }

  async state(name: string): Promise<ServerState> {
    const rows = await this.containers(name);
    if (rows.some((r) => r.state === 'running' || r.state === 'paused' || r.state === 'restarting')) return 'running';
    return rows.length ? 'exited' : 'missing';
  }

  async list(): Promise<ServerHandle[]> {
    const rows = parsePs(await docker(psArgs(this.cluster, 'server', false))).filter((r) => r.state === 'running' || r.state === 'paused');
    const urls = await this.urls(rows.map((r) => ({ id: r.id, name: r.server })));
    return rows.map((r, i) => ({ name: r.server, url: urls[i], id: r.id }));
  }

  async logs(name: string, lines = 200): Promise<string> {
    const [row] = await this.containers(name);
    if (!row) throw new RuntimeError(`no container for ${name} in cluster ${this.cluster}`);
    return docker(['logs', '--tail', String(lines), row.id]);
  }

  async stopAll(o: StopOptions = {}): Promise<void> {
    const rows = parsePs(await docker(psArgs(this.cluster, 'server', true)));
    if (rows.length) await docker(['rm', '-f', '-v', ...rows.map((r) => r.id)], { timeoutMs: 60_000 });
    if (o.removeData) await this.removeVolumes();
  }
}

/** The LB's settings that its servers share (V8 flags, the snapshot threshold), passed on to each server container. */
function serverEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['SHARDCTL_V8_FLAGS', 'SHARDCTL_SNAPSHOT_BYTES', 'SHARDCTL_NOTICE_MS']) if (process.env[k] !== undefined) out[k] = process.env[k]!;
  return out;
}
