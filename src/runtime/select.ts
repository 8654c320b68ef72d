/** Picks the ServerRuntime by name; docker is loaded only when asked for. */
import type { ServerRuntime } from './runtime.js';

export interface RuntimeSettings {
  cluster: string;
  stateDir: string;
  network?: string;
  image?: string;
  /** docker: reach servers by name (an LB on their network) or by IP (an LB on the host's network) */
  serverAddr?: 'name' | 'ip';
}

export async function createRuntime(kind: string, s: RuntimeSettings): Promise<ServerRuntime> {
  if (kind === 'process') {
    const { ProcessRuntime } = await import('./process.js');
    return new ProcessRuntime(s.stateDir);
  }
  if (kind === 'docker') {
    const { DockerRuntime } = await import('./docker.js');
    return new DockerRuntime({ cluster: s.cluster, network: s.network, image: s.image, addr: s.serverAddr });
  }
  throw new Error(`unknown runtime ${kind}: use process or docker`);
}
