/**
 * A primary's calls to the other replicas of its shards (/repl/append, /repl/copy) over undici keep-alive pools,
 * one per address. A refused connection or a timeout is a thrown error; any HTTP answer comes back with its status
 * and parsed body (a replica's 409 carries its term, which deposes the primary).
 */
import { Pool } from 'undici';
import { ReplStream, StreamUnsupported } from './repl-stream.js';

export interface PeerAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
}

export class Peers {
  private readonly pools = new Map<string, Pool>();
  /** /repl/append goes over one stream per address (repl-stream.ts); addresses that refused the upgrade use HTTP */
  private readonly streams = new Map<string, ReplStream>();
  private readonly noStream = new Set<string>();

  constructor(
    private readonly timeoutMs = 1000,
    private readonly useStreams = true,
  ) {}

  private pool(url: string): Pool {
    let p = this.pools.get(url);
    if (!p) {
      // a few connections per replica: one call in flight per shard, several shards may share the replica
      p = new Pool(url, { connections: 4, keepAliveTimeout: 60_000, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs, connectTimeout: this.timeoutMs });
      this.pools.set(url, p);
    }
    return p;
  }

  /** POSTs `body` (JSON) to `url` + `path`; throws on a connection error or timeout. */
  async post(url: string, path: string, body: unknown, timeoutMs = this.timeoutMs): Promise<PeerAnswer> {
    if (path === '/repl/append' && this.useStreams && !this.noStream.has(url)) {
      let s = this.streams.get(url);
      if (!s?.usable) this.streams.set(url, (s = new ReplStream(url, this.timeoutMs)));
      try {
        return await s.call(path, body, timeoutMs);
      } catch (e) {
        if (!(e instanceof StreamUnsupported)) throw e;
        this.noStream.add(url); // an older server: HTTP from now on
      }
    }
    const res = await this.pool(url).request({
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await res.body.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    return { status: res.statusCode, body: parsed };
  }

  /** Drops pools of addresses no shard uses any more. */
  retain(urls: ReadonlySet<string>): void {
    for (const [url, s] of this.streams) {
      if (urls.has(url)) continue;
      s.close();
      this.streams.delete(url);
    }
    for (const [url, p] of this.pools) {
      if (urls.has(url)) continue;
      void p.close().catch(() => undefined);
      this.pools.delete(url);
    }
  }

  async close(): Promise<void> {
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => undefined)));
    this.pools.clear();
  }
}
