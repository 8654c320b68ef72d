/**
 * What the LB needs from whatever runs shard servers: docker containers, local processes, or (tests) servers in
 * the LB's own process. Only the CLI / the LB's main picks one.
 */
export interface ServerHandle {
  /** the server's name in the cluster (Server3) */
  name: string;
  /** base URL the LB reaches it at (http://Server3:5000 on docker, http://127.0.0.1:40123 as a process) */
  url: string;
  /** container id or pid */
  id: string;
}

export type ServerState = 'running' | 'exited' | 'missing';

export interface ServerRuntime {
  readonly kind: string;
  /** Starts a server named `name` and resolves once it is started (not necessarily answering yet). */
  spawn(name: string): Promise<ServerHandle>;
  /** Stops and removes it; no error when it is already gone. */
  stop(name: string): Promise<void>;
  /** Kills it abruptly (a crash, for A-4 and chaos); it stays gone until something respawns it. */
  kill(name: string): Promise<void>;
  /** The servers of this cluster that are running now (paused ones included: alive, maybe silent). */
  list(): Promise<ServerHandle[]>;
  /**
   * Whether the server's process/container is still running (paused counts: it may hold data), exited (it can
   * be respawned: nothing runs that could still answer), or missing. Found by the cluster's labels / the pids the
   * runtime started, never by a name another cluster could share.
   */
  state(name: string): Promise<ServerState>;
  /** The tail of its log. */
  logs(name: string, lines?: number): Promise<string>;
  /** Stops every server of the cluster (LB shutdown with --foreground, /init). */
  stopAll(): Promise<void>;
}

/** A docker failure or a process that would not start: the command, the exit code, the tail of stderr. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly command?: string,
    readonly exitCode?: number,
    readonly stderrTail?: string,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}
