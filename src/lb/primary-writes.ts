/**
 * The data path through primaries (core/REPLICATION.md, "A write", "A read"); it replaces replication.ts's
 * every-replica write and rollback. The shard's executor sends each group-committed batch to the shard's primary
 * with its term; the primary logs it, replicates it and answers once a majority of voters hold it. The LB never
 * undoes anything: a change the primary refused was never logged, one it could not commit may still commit
 * (INDETERMINATE: the client reads before retrying).
 *
 * A read goes to one serving replica of the shard's ring with `minIndex = acked`: a replica answers only once
 * its commit position reached it, so every acknowledged change is seen; one that is BEHIND hands the read to the
 * next replica of the ring. No disk I/O and no docker calls here.
 */
import { ApiError } from '../core/errors.js';
import type { Row } from '../core/table.js';
import { indexOf, writeBody } from '../shared/wire.js';
import { persist, type LbContext } from './context.js';
import type { Primaries } from './primaries.js';
import { UpstreamError } from './shard-client.js';
import type { Shard } from './shard.js';

export type FaultFn = (server: string, reason: string) => void;

export class PrimaryWrites {
  /** group-committed batches sent (status --json) */
  batches = 0;

  constructor(
    private readonly c: LbContext,
    private readonly pm: Primaries,
    private readonly fault: FaultFn,
  ) {}

  /** The shard executor's callback: one group-committed batch to the shard's primary. */
  applyBatch = async (sh: Shard, rows: Row[]): Promise<void> => {
    this.batches++;
    const json = JSON.stringify(rows);
    await this.toPrimary(sh, 'write', (p, term) => this.c.client.writeRaw(p, writeBody(sh.id, sh.validIdx, json, term)).then(indexOf));
  };

  /** An update or a delete of one key, through the primary (caller holds the shard's lock). */
  change(sh: Shard, what: 'update' | 'del', key: number, row?: Row): Promise<void> {
    return this.toPrimary(sh, what, async (p, term) =>
      (what === 'update' ? await this.c.client.update(p, sh.id, sh.keyCol, key, row!, term) : await this.c.client.del(p, sh.id, sh.keyCol, key, term)).index,
    );
  }

  /**
   * Sends one change to the primary (caller holds the shard's lock). 409 NOT_PRIMARY: nothing was logged, so the
   * shard elects (or learns the new primary) and the change is sent once more. A refusal (NO_MAJORITY) or an
   * indeterminate answer comes back to the client as a 503 with the server's code; a primary that does not
   * answer is fenced (its writes are indeterminate) and the next write elects another.
   */
  private async toPrimary(sh: Shard, what: string, send: (primary: string, term: number) => Promise<number | undefined>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { primary, term } = await this.pm.require(sh);
      if (!sh.lead.written) {
        // once per shard, right before its first change is sent: from now on a replica on another store is a lost
        // volume (Lead.written). On disk first, or a restarted LB would let empty stores vote it away
        sh.lead.written = true;
        if (!persist(this.c, true)) {
          sh.lead.written = false;
          throw new ApiError('METADATA_UNSAVED', `refused: the LB could not save its metadata before the first change of ${sh.id}; nothing was logged; check the disk of the LB's state dir (shardctl logs) and retry`);
        }
      }
      try {
        // the primary logs a change only in the term it was sent with: the entry at that index is of `term`
        this.pm.acked(sh, await send(primary, term), term);
        return;
      } catch (e) {
        if (e instanceof ApiError && e.code === 'NOT_PRIMARY' && attempt === 0) {
          this.pm.lost(sh, primary, `refused term ${term} (${e.message.replace(/^<Error> /, '')})`);
          await this.pm.electLocked(sh, `${primary} answered NOT_PRIMARY`, { force: true });
          continue;
        }
        if (e instanceof ApiError && e.code === 'NOT_PRIMARY') throw new ApiError('NO_PRIMARY', `refused: ${sh.id}'s primary changed twice during one ${what}; nothing was logged, retry`);
        if (e instanceof ApiError) throw e; // the request's own fault (DUPLICATE_KEY, KEY_NOT_FOUND): nothing logged
        if (!(e instanceof UpstreamError)) throw e;
        if (e.code === 'NO_MAJORITY' || e.code === 'NO_PRIMARY')
          throw new ApiError('NO_MAJORITY', `refused: ${sh.id}'s primary ${primary} cannot reach a majority of its replicas (${detail(e)}); nothing was logged, retry shortly`);
        if (e.code === 'INDETERMINATE')
          throw new ApiError('INDETERMINATE', `${sh.id}: ${primary} logged the ${what} but could not commit it in time (${detail(e)}); it may or may not have committed: read before retrying`);
        if (!sh.closed) this.fault(primary, `${what} failed: ${e.message}`);
        this.pm.lost(sh, primary, `did not answer a ${what}`);
        throw new ApiError('INDETERMINATE', `${sh.id}: its primary ${primary} did not answer the ${what} (${detail(e)}); it may or may not have committed: read before retrying`);
      }
    }
  }

  /** Waits (at most `ms`) until `server` has applied every change of `shard` acknowledged so far. */
  caughtUp(server: string, shard: string, ms: number): Promise<void> {
    return this.pm.caughtUp(server, shard, ms);
  }

  /** Rows of one shard from one serving replica that has committed every acknowledged change. */
  async read(sh: Shard, keyCol: string, lo: number, hi: number, id: number): Promise<string> {
    if (sh.lead.ackedUnknown)
      throw new ApiError('NO_PRIMARY', `Shard ${sh.id} cannot be read yet: since the LB restarted no primary was adopted or elected, so its last acknowledged change is unknown (${sh.lead.reason ?? 'electing'}); the LB retries every heartbeat, try again shortly`);
    const tried = new Set<string>();
    const order = this.ringOrder(sh, id);
    let behind = 0;
    for (const server of order) {
      tried.add(server);
      try {
        return await this.c.client.readRaw(server, sh.id, keyCol, lo, hi, sh.lead.acked, sh.lead.ackedTerm);
      } catch (e) {
        if (!(e instanceof UpstreamError)) throw e;
        if (sh.closed) throw new ApiError('NO_REPLICA', `Shard ${sh.id} was replaced while it was read; try again`);
        if (e.code === 'BEHIND') {
          behind++;
          continue; // alive, a little behind the primary: the next replica of the ring
        }
        if (e.code === 'LOG_VIOLATION') this.c.events.add({ kind: 'log-violation', server, shard: sh.id, detail: `${server} found its log of ${sh.id} broken and resyncs it: ${e.message}` });
        this.fault(server, `read failed: ${e.message}`);
      }
    }
    if (order.length === 0) throw new ApiError('NO_REPLICA', `Shard ${sh.id} has no serving replica; try again once one is back (shardctl status)`);
    throw new ApiError('NO_REPLICA', `No replica of shard ${sh.id} could answer (${behind} of ${tried.size} had not yet committed every acknowledged change); try again`);
  }

  /** The serving replicas, starting with the one the ring gives request `id`, then the others in replica order. */
  private ringOrder(sh: Shard, id: number): string[] {
    const first = sh.ring.get(id);
    const rest = sh.replicas.filter((r) => sh.ready.has(r) && r !== first);
    return first ? [first, ...rest] : rest;
  }
}

function detail(e: Error): string {
  return e.message.replace(/^.*?HTTP \d+: /, '').replace(/^\{"message":"(?:<Error> )?([^"]*)".*$/, '$1').slice(0, 160);
}
