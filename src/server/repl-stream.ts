/**
 * A primary's /repl/append calls over one long-lived connection per replica (issue 11, item 9): the HTTP request
 * `GET /repl/stream` with `Upgrade: shardctl-repl` turns a connection to the replica's own port into a stream of
 * newline-delimited JSON frames, `{"id","path","body"}` out and `{"id","status","body"}` back, answered in any
 * order. The calls mean exactly what they mean over HTTP (same handler, same status and body); what goes is the
 * HTTP machinery around each one: a call costs about half the CPU of an undici request and a Hono route on this
 * VM, and a batch's appends are most of a primary's calls.
 *
 * Failure model as HTTP's: a call that is not answered within its timeout fails, and so does every other call in
 * flight on that connection (it is closed: the replica is slow or gone); the next call opens a new connection.
 * A server that does not know the upgrade (it answers anything but 101) is called over HTTP from then on.
 */
import type { IncomingMessage, Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export const STREAM_PATH = '/repl/stream';
export const STREAM_PROTOCOL = 'shardctl-repl';

export interface StreamAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
}

export type StreamHandler = (path: string, body: Record<string, unknown>) => Promise<StreamAnswer>;

/**
 * Line framing over a socket: calls `onLine` per complete line; a line outgrowing `max` bytes closes it.
 * `first`: bytes already read past the upgrade's head, taken before anything else. Lines are cut at the newline
 * byte, which never occurs inside a UTF-8 sequence, and each is decoded once: a frame spread over several chunks
 * is neither re-scanned nor re-copied per chunk.
 */
export function lines(socket: Duplex, max: number, first: Buffer, onLine: (line: string) => void): void {
  let parts: Buffer[] = [];
  let size = 0;
  const feed = (chunk: Buffer) => {
    let start = 0;
    let at = chunk.indexOf(10);
    while (at >= 0) {
      let line: string;
      if (size === 0) line = chunk.toString('utf8', start, at);
      else {
        parts.push(chunk.subarray(start, at));
        line = Buffer.concat(parts, size + at - start).toString('utf8');
        parts = [];
        size = 0;
      }
      if (line) onLine(line);
      start = at + 1;
      at = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      parts.push(start === 0 ? chunk : chunk.subarray(start));
      size += chunk.length - start;
      if (size > max) socket.destroy(new Error(`a frame is larger than ${max} bytes`));
    }
  };
  if (first.length) feed(first);
  socket.on('data', feed);
}

/** The replica's side: upgrades `GET /repl/stream` connections of `server` and answers their frames with `handle`. */
export function serveReplStream(server: Server, handle: StreamHandler, maxBody: number): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url !== STREAM_PATH || String(req.headers.upgrade ?? '').toLowerCase() !== STREAM_PROTOCOL) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${STREAM_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`);
    (socket as Socket).setNoDelay?.(true);
    socket.on('error', () => undefined);
    // the HTTP server's sockets allow half-open connections: a primary that closed its stream (a timeout, a new
    // connection, its replication closing) would otherwise leave this end open for good, one socket per reconnect
    socket.on('end', () => socket.destroy());
    lines(socket, maxBody, head, (line) => {
      let id: unknown;
      let answer: Promise<StreamAnswer>;
      try {
        const f = JSON.parse(line) as { id: unknown; path: string; body: Record<string, unknown> };
        id = f.id;
        answer = handle(f.path, f.body);
      } catch (e) {
        answer = Promise.resolve({ status: 400, body: { message: `<Error> bad frame: ${(e as Error).message}`, code: 'INVALID_JSON', status: 'failure' } });
      }
      answer.then(
        (a) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify({ id, status: a.status, body: a.body })}\n`);
        },
        (e: unknown) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify({ id, status: 500, body: { message: `<Error> ${(e as Error).message}`, code: 'INTERNAL', status: 'failure' } })}\n`);
        },
      );
    });
  });
}

/** The call could not go over a stream (the server does not upgrade): send it over HTTP instead. */
export class StreamUnsupported extends Error {}

interface Pending {
  resolve(a: StreamAnswer): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** The primary's side: one connection to one replica's address, calls multiplexed by id. */
export class ReplStream {
  private socket: Socket | undefined;
  private state: 'connecting' | 'open' | 'closed' | 'unsupported' = 'connecting';
  private readonly pending = new Map<number, Pending>();
  /** frames written before the upgrade was answered */
  private queued: string[] = [];
  private nextId = 1;

  constructor(
    url: string,
    private readonly connectTimeoutMs: number,
  ) {
    const u = new URL(url);
    const socket = connect({ host: u.hostname, port: Number(u.port || 80) });
    this.socket = socket;
    socket.setNoDelay(true);
    const timer = setTimeout(() => this.fail(new Error(`no stream to ${url} within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    let head = '';
    const onHead = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      socket.off('data', onHead);
      if (!/^HTTP\/1\.[01] 101/.test(head)) {
        this.state = 'unsupported';
        socket.destroy();
        this.failAll(new StreamUnsupported(`${url} does not upgrade to ${STREAM_PROTOCOL}`));
        return;
      }
      this.state = 'open';
      lines(socket, 256 * 1024 * 1024, Buffer.from(head.slice(end + 4), 'latin1'), (line) => this.onAnswer(line));
      for (const f of this.queued.splice(0)) socket.write(f);
    };
    socket.on('data', onHead);
    socket.on('connect', () => socket.write(`GET ${STREAM_PATH} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: ${STREAM_PROTOCOL}\r\n\r\n`));
    socket.on('error', (e) => {
      clearTimeout(timer);
      this.fail(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      this.fail(new Error(`stream to ${url} closed`));
    });
  }

  /** Usable for new calls (connecting or open); a closed or refused stream is replaced by the caller. */
  get usable(): boolean {
    return this.state === 'connecting' || this.state === 'open';
  }

  get unsupported(): boolean {
    return this.state === 'unsupported';
  }

  call(path: string, body: unknown, timeoutMs: number): Promise<StreamAnswer> {
    if (!this.usable) return Promise.reject(this.state === 'unsupported' ? new StreamUnsupported('no stream') : new Error('stream closed'));
    const id = this.nextId++;
    return new Promise<StreamAnswer>((resolve, reject) => {
      // an unanswered call means the replica is stuck or gone: this connection is given up, as HTTP's would be
      const timer = setTimeout(() => this.fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const frame = `${JSON.stringify({ id, path, body })}\n`;
      if (this.state === 'open') this.socket!.write(frame);
      else this.queued.push(frame);
    });
  }

  close(): void {
    this.fail(new Error('stream closed'));
  }

  private onAnswer(line: string): void {
    let f: { id: number; status: number; body: Record<string, unknown> | undefined };
    try {
      f = JSON.parse(line) as typeof f;
    } catch {
      this.fail(new Error('bad answer frame'));
      return;
    }
    const p = this.pending.get(f.id);
    if (!p) return;
    this.pending.delete(f.id);
    clearTimeout(p.timer);
    p.resolve({ status: f.status, body: f.body });
  }

  private fail(e: Error): void {
    if (this.state !== 'unsupported') this.state = 'closed';
    this.socket?.destroy();
    this.failAll(e);
  }

  private failAll(e: Error): void {
    this.queued = [];
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }
}
