/**
 * docker CLI arguments, built by pure functions (no I/O) so they can be unit-tested. Every container, the
 * network and the volume carry `shardctl.cluster=<name>`, so `down` finds exactly the cluster's own.
 */
export const LABEL_CLUSTER = 'shardctl.cluster';
export const LABEL_ROLE = 'shardctl.role';
export const LABEL_SERVER = 'shardctl.server';

export const networkName = (cluster: string) => `shardctl-${cluster}`;
export const lbContainerName = (cluster: string) => `shardctl-${cluster}-lb`;
export const volumeName = (cluster: string) => `shardctl-${cluster}-meta`;
/**
 * A server's container: the cluster and the server joined by "--", which a cluster name cannot contain (cli
 * lifecycle: validClusterName), so cluster `a` with server `b-Server1` and cluster `a-b` with `Server1` differ,
 * and no server name can equal the LB's container (`shardctl-<cluster>-lb`). Containers are still found by
 * their labels, never by this name.
 */
export const serverContainerName = (cluster: string, server: string) => `shardctl-${cluster}--${server}`;
/**
 * A server's data volume: like its container's name, cluster and server joined by "--" (which a cluster name
 * cannot contain), so no two (cluster, server) pairs share a volume, nor does one equal a cluster's metadata
 * volume (`shardctl-<cluster>-meta`, no "--").
 */
export const dataVolumeName = (cluster: string, server: string) => `shardctl-${cluster}--${server}-data`;
/** where a server container keeps its data (SHARDCTL_DATA_DIR) */
export const SERVER_DATA_DIR = '/data';

export function labels(cluster: string, role: 'lb' | 'server' | 'network' | 'volume' | 'data', server?: string): string[] {
  const out = ['--label', `${LABEL_CLUSTER}=${cluster}`, '--label', `${LABEL_ROLE}=${role}`];
  if (server) out.push('--label', `${LABEL_SERVER}=${server}`);
  return out;
}

export interface ServerRunSpec {
  cluster: string;
  server: string;
  network: string;
  image: string;
  /** extra environment, e.g. SHARDCTL_V8_FLAGS passed on from the LB's own */
  env?: Record<string, string>;
}

/** `docker volume create` of a server's data volume (idempotent: an existing one is kept as it is). */
export function dataVolumeArgs(cluster: string, server: string): string[] {
  return ['volume', 'create', ...labels(cluster, 'data', server), dataVolumeName(cluster, server)];
}

/** `docker volume ls` of a cluster's server data volumes (every one, or one server's). */
export function dataVolumeLsArgs(cluster: string, server?: string): string[] {
  return [
    'volume',
    'ls',
    '-q',
    '--filter',
    `label=${LABEL_CLUSTER}=${cluster}`,
    '--filter',
    `label=${LABEL_ROLE}=data`,
    ...(server ? ['--filter', `label=${LABEL_SERVER}=${server}`] : []),
  ];
}

/**
 * `docker run` for a shard server: on the cluster's network, reachable by its name, never published, its data on
 * its volume. Without the image's HEALTHCHECK: the LB heartbeats its servers every 500 ms already, and docker's
 * check starts a node process in the container every 30 s (about 0.3 s of CPU each on a 2-core VM: with six
 * servers, 6 % of a core, taken from every benchmark).
 */
export function serverRunArgs(s: ServerRunSpec): string[] {
  return [
    'run',
    '-d',
    '--no-healthcheck',
    '--name',
    serverContainerName(s.cluster, s.server),
    '--network',
    s.network,
    '--network-alias',
    s.server,
    '-e',
    `SERVER_ID=${s.server}`,
    '-v',
    `${dataVolumeName(s.cluster, s.server)}:${SERVER_DATA_DIR}`,
    '-e',
    `SHARDCTL_DATA_DIR=${SERVER_DATA_DIR}`,
    ...Object.entries(s.env ?? {}).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...labels(s.cluster, 'server', s.server),
    s.image,
  ];
}

export interface LbRunSpec {
  cluster: string;
  port: number;
  image: string;
  serverImage: string;
  env?: Record<string, string>;
  /**
   * host (default): the LB shares the host's network and listens on 127.0.0.1:<port> itself, reaching its servers
   * by their container addresses; no docker-proxy hop on the client's path. publish: the LB sits on the cluster
   * network and docker publishes 127.0.0.1:<port> to it (for engines without host networking).
   */
  net?: 'host' | 'publish';
}

/** `docker run` for the LB: on 127.0.0.1 only, the docker socket mounted, metadata on a volume. */
export function lbRunArgs(s: LbRunSpec): string[] {
  const host = (s.net ?? 'host') === 'host';
  const env = {
    SHARDCTL_RUNTIME: 'docker',
    SHARDCTL_CLUSTER: s.cluster,
    SHARDCTL_NETWORK: networkName(s.cluster),
    SHARDCTL_SERVER_IMAGE: s.serverImage,
    SHARDCTL_STATE_DIR: '/data',
    ...(host ? { PORT: String(s.port), HOST: '127.0.0.1', SHARDCTL_SERVER_ADDR: 'ip' } : { PORT: '5000', HOST: '0.0.0.0' }),
    ...s.env,
  };
  return [
    'run',
    '-d',
    '--name',
    lbContainerName(s.cluster),
    ...(host ? ['--network', 'host'] : ['--network', networkName(s.cluster), '-p', `127.0.0.1:${s.port}:5000`]),
    '-v',
    '/var/run/docker.sock:/var/run/docker.sock',
    '-v',
    `${volumeName(s.cluster)}:/data`,
    '--restart',
    'unless-stopped',
    ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
    ...labels(s.cluster, 'lb'),
    s.image,
  ];
}

/** `docker ps` of one cluster's containers (all states), one tab-separated line each; `server` narrows to one server's. */
export function psArgs(cluster: string, role?: 'lb' | 'server', all = true, server?: string): string[] {
  return [
    'ps',
    ...(all ? ['-a'] : []),
    '--filter',
    `label=${LABEL_CLUSTER}=${cluster}`,
    ...(role ? ['--filter', `label=${LABEL_ROLE}=${role}`] : []),
    ...(server ? ['--filter', `label=${LABEL_SERVER}=${server}`] : []),
    '--format',
    `{{.ID}}\t{{.Names}}\t{{.State}}\t{{.Label "${LABEL_SERVER}"}}\t{{.Label "${LABEL_ROLE}"}}`,
  ];
}

/** `docker pause` of containers (by id): their processes frozen (cgroup freezer), alive but silent. */
export function pauseArgs(ids: readonly string[]): string[] {
  return ['pause', ...ids];
}

/** `docker unpause` of containers `pauseArgs` froze. */
export function unpauseArgs(ids: readonly string[]): string[] {
  return ['unpause', ...ids];
}

/** `docker kill` (SIGKILL) of containers: a crash; the restart policy does not apply to a killed container. */
export function killArgs(ids: readonly string[]): string[] {
  return ['kill', ...ids];
}

/**
 * Whether a failed `docker unpause` needs no retry: the container is no longer paused, or no longer exists
 * (removed and replaced since). Anything else (the engine down) is a real failure.
 */
export function unpauseNeedless(stderr: string): boolean {
  return /is not paused|No such container|is not running/i.test(stderr);
}

export interface PsRow {
  id: string;
  container: string;
  state: string;
  server: string;
  role: string;
}

/** `docker inspect` of containers' IP addresses on one network, one line each. */
export function ipArgs(network: string, ids: string[]): string[] {
  return ['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, ...ids];
}

/** The server URLs in `ipArgs` output, in order; undefined when a line is not an address (not on that network). */
export function parseIpUrls(out: string, port: number): string[] | undefined {
  const ips = out.split('\n').map((l) => l.trim()).filter(Boolean);
  if (ips.some((ip) => !/^[0-9a-f.:]+$/i.test(ip))) return undefined;
  return ips.map((ip) => (ip.includes(':') ? `http://[${ip}]:${port}` : `http://${ip}:${port}`));
}

export function parsePs(out: string): PsRow[] {
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [id, container, state, server, role] = l.split('\t');
      return { id, container, state, server: server ?? '', role: role ?? '' };
    });
}
