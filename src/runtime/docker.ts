import type { ServerRuntime } from './runtime.js';
export declare class DockerRuntime implements ServerRuntime {
  constructor(o: { cluster: string; network?: string; image?: string });
  readonly kind: string;
  spawn(name: string): Promise<import('./runtime.js').ServerHandle>;
  stop(name: string): Promise<void>;
  kill(name: string): Promise<void>;
  list(): Promise<import('./runtime.js').ServerHandle[]>;
  logs(name: string, lines?: number): Promise<string>;
  stopAll(): Promise<void>;
}
