/**
 * Per-server request coalescing. The first request bound for a server goes out at once, on the plain endpoint
 * (/read or /write); requests that arrive while it is in flight wait, then go out together as one /batch call.
 * So an idle server sees no added latency, and a busy one sees one call per round trip instead of one per
 * request. Order is kept: ops reach the server in the order they were submitted.
 */
import { ApiError } from '../core/errors.js';
import type { ShardClient } from './shard-client.js';

export type PipeOp = { kind: 'read'; shard: string; keyCol: string; low: number; high: number } | { kind: 'write'; body: string };

interface Pending {
  op: PipeOp;
  resolve: (s: string) => void;
  reject: (e: unknown) => void;
}

interface Pipe {
  inFlight: boolean;
  queue: Pending[];
}

export class Coalescer {
  private readonly pipes = new Map<string, Pipe>();
  /** upstream calls made, and ops carried: their ratio is the coalescing factor */
  calls = 0;
  ops = 0;

  constructor(
    private readonly client: ShardClient,
    private readonly maxOps = 256,
  ) {}

  /** Resolves with a read's rows as JSON array text, or '' for a write. */
  submit(server: string, op: PipeOp): Promise<string> {
    this.ops++;
    let p = this.pipes.get(server);
    if (!p) this.pipes.set(server, (p = { inFlight: false, queue: [] }));
    if (!p.inFlight) {
      p.inFlight = true;
      this.calls++;
      const pipe = p;
      return this.single(server, op).finally(() => this.flush(server, pipe));
    }
    return new Promise<string>((resolve, reject) => p!.queue.push({ op, resolve, reject }));
  }

  forget(server: string): void {
    this.pipes.delete(server);
  }

  private single(server: string, op: PipeOp): Promise<string> {
    if (op.kind === 'read') return this.client.readRaw(server, op.shard, op.keyCol, op.low, op.high);
    return this.client.writeRaw(server, op.body).then(() => '');
  }

  private flush(server: string, p: Pipe): void {
    if (p.queue.length === 0) {
      p.inFlight = false;
      return;
    }
    const batch = p.queue.splice(0, this.maxOps);
    this.calls++;
    const run =
      batch.length === 1
        ? this.single(server, batch[0].op).then((r) => [r] as (string | ApiError)[])
        : this.client.batch(server, batch.map((x) => serialise(x.op)));
    run
      .then(
        (results) =>
          results.forEach((r, i) => {
            if (typeof r !== 'string') batch[i].reject(r);
            else batch[i].resolve(batch[i].op.kind === 'write' ? '' : r);
          }),
        (e) => batch.forEach((x) => x.reject(e)),
      )
      .finally(() => this.flush(server, p));
  }
}

function serialise(op: PipeOp): string {
  if (op.kind === 'read') return `{"op":"read","shard":${JSON.stringify(op.shard)},"low":${op.low},"high":${op.high}}`;
  return `{"op":"write","w":${op.body}}`;
}
