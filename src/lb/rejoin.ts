/**
 * A replica coming back to a shard that has a primary (core/REPLICATION.md, "Catch-up and membership"). The LB
 * copies nothing: the primary catches the replica up by its log (or a full copy) once it knows where it is. The
 * LB tells the primary the replica's address and store (/repl/members), and puts the replica back into the read
 * ring once its commit position reached `acked` (so a read sent to it would not be BEHIND).
 *
 * A replica that forgot what it held (it came back with a new store id: its volume is gone) or that is new to the
 * shard (/add) is recreated: the primary first learns the new store (so no answer of the old volume counts
 * again), then the server starts the shard empty at the LB's term, resyncing until it committed up to the
 * primary's commit position (0 for an /add: it is not a voter until it caught up).
 */
import { ApiError } from '../core/errors.js';
import { isCaughtUp } from '../core/membership.js';
import { sleep, type LbContext } from './context.js';
import type { Primaries } from './primaries.js';
import type { ServerEntry } from './servers.js';
import type { Shard } from './shard.js';

/** How long a returning replica may take to catch up before the attempt fails (recovery retries it). */
export const CATCH_UP_MS = 20_000;

/** Makes one shard of a returning server serve again; `check` throws when the attempt no longer owns the server. */
export async function rejoinShard(c: LbContext, pm: Primaries, sh: Shard, e: ServerEntry, storeId: string | undefined, check: () => void): Promise<void> {
  if (sh.ready.has(e.name)) return;
  // a server that came up but never got its configuration (it answered late) holds no such shard yet
  const mine = (await c.client.state(e.name, 1000)).shards[sh.id];
  if (!mine) await c.client.config(e.name, c.topo.schema!, e.shards);
  check();
  // new to the shard, a lost volume, or a log damaged mid-way: start it over (a replica in violation of the
  // primary's log is resynced by the primary itself, with a forced copy)
  const broken = !!mine?.corrupt;
  const recreate = sh.joining.has(e.name) || broken || (e.storeId !== undefined && storeId !== undefined && storeId !== e.storeId);
  await sh.run(async () => {
    check();
    if (!sh.lead.primary && !recreate) return; // caught up by whichever primary the next election makes
    const { primary, term } = await pm.require(sh);
    check();
    // elected itself (it is the only voter left and the shard held nothing): there is nobody to resync from
    if (primary === e.name) return;
    await c.client.members(primary, membersBody(c, sh, term, e.name, storeId), 2000);
    if (!recreate) return;
    const floor = sh.joining.has(e.name) ? 0 : ((await c.client.state(primary, 1000)).shards[sh.id]?.commit_index ?? sh.lead.acked);
    check();
    await c.client.recreate(e.name, { shard: sh.id, term, floor }, 2000);
    c.events.add({ kind: 'recreated', server: e.name, shard: sh.id, detail: `${e.name} starts ${sh.id} empty at term ${term}, voting again once it committed up to ${floor}` });
  });
  const t0 = c.now();
  const deadline = t0 + CATCH_UP_MS;
  let last = 'no answer';
  for (;;) {
    check();
    const st = await c.client.state(e.name, 1000).catch((err: Error) => ((last = err.message), undefined));
    const s = st?.shards[sh.id];
    if (s) last = `committed ${s.commit_index} of ${sh.lead.acked}${s.replaying ? ', replaying' : ''}${s.resyncing ? ', resyncing' : ''}`;
    // caught up: it committed what the primary had when we asked (membership.ts isCaughtUp)
    if (s && !s.replaying && !s.corrupt && isCaughtUp(s.commit_index, sh.lead.acked)) {
      const ms = c.now() - t0;
      c.events.add({ kind: 'caught-up', server: e.name, shard: sh.id, rows: s.rows, ms, detail: `${e.name} caught up ${sh.id} to entry ${s.commit_index} (${s.rows} rows) in ${ms} ms` });
      break;
    }
    if (c.now() > deadline) throw new ApiError('NO_REPLICA', `${e.name} has not caught up with ${sh.id} in ${CATCH_UP_MS} ms (${last}); retrying`);
    await sleep(100);
  }
  await sh.run(async () => {
    check();
    sh.addReady(e.name);
    // a shard left without a primary (its replicas were all away) elects as soon as one is back, not at the next
    // tick, so a write right after the return finds one
    if (!sh.lead.primary) await pm.electLocked(sh, `${e.name} is back`);
  });
}

/** The /repl/members body: the shard's replicas and voters as the LB records them, their addresses and stores. */
export function membersBody(c: LbContext, sh: Shard, term: number, server?: string, storeId?: string) {
  const addresses: Record<string, string> = {};
  const stores: Record<string, string> = {};
  for (const r of sh.replicas) {
    const x = c.servers.get(r);
    if (x?.url) addresses[r] = x.url;
    if (x?.storeId) stores[r] = x.storeId;
  }
  if (server && storeId) stores[server] = storeId;
  return { shard: sh.id, term, replicas: [...sh.replicas], voters: sh.voters(), addresses, stores };
}
