/**
 * The shard server's replication endpoints (REPLICATION.md, "Calls"): /repl/append and /repl/copy (primary ->
 * replica), /repl/vote, /repl/promote, /repl/members, /repl/recreate (LB -> server). Every body names its
 * `shard`; every answer carries this server's `store` id. Parsing here, the rules in replication.ts.
 */
import type { Context, Hono } from 'hono';
import { ApiError, fail } from '../core/errors.js';
import type { StreamHandler } from './repl-stream.js';
import { isPlainObject } from '../core/table.js';
import { parseShardField } from '../core/schemas.js';
import { failureAnswer, readObject } from '../shared/http-errors.js';
import type { AppendRequest, VoteRequest } from '../core/replog.js';
import type { Replication } from './replication.js';
import type { ShardStore } from './store.js';
import type { EntryOp } from './wal-format.js';

const nat = (v: unknown, name: string): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail('INVALID_FIELD', `${name} must be a non-negative integer`);
  return v;
};
const names = (v: unknown, name: string): string[] => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === '')) fail('INVALID_FIELD', `${name} must be a list of server names`);
  return v as string[];
};
const record = <T>(v: unknown, name: string): Record<string, T> => {
  if (v === undefined) return {};
  if (!isPlainObject(v)) fail('INVALID_FIELD', `${name} must be an object`);
  return v as Record<string, T>;
};

export function installReplRoutes(app: Hono, o: { repl: Replication; store: ShardStore; maxBody: number }): StreamHandler {
  const { repl, store, maxBody } = o;
  const storeId = repl.storeId;
  /** A replaying server answers 503 at once (the primary retries; the LB does not count it in an election). */
  const ready = () => {
    if (store.replaying) throw new ApiError('NO_REPLICA', `Server ${repl.self} is replaying its log; retry in a moment`, 503, { store: storeId, replaying: true });
  };
  const answer = (c: Context, r: { status: number; body: Record<string, unknown> }) => c.json(r.body, r.status as 200);

  const append = async (b: Record<string, unknown>) => {
    ready();
    const s = repl.enter(parseShardField(b));
    // counted as a writer while it runs: its fsync is inline only when it is the server's one request in progress
    store.writers++;
    try {
      return await s.append(b as unknown as AppendRequest<EntryOp>);
    } finally {
      store.writers--;
    }
  };
  app.post('/repl/append', async (c) => answer(c, await append(await readObject(c, maxBody))));

  app.post('/repl/copy', async (c) => {
    ready();
    const b = await readObject(c, maxBody);
    const s = repl.enter(parseShardField(b));
    if (typeof b.leader !== 'string' || !Array.isArray(b.rows) || typeof b.last !== 'boolean') fail('INVALID_FIELD', 'a copy chunk needs term, leader, index, indexTerm, part, last and rows');
    return answer(
      c,
      await s.copyChunk({ term: nat(b.term, 'term'), leader: b.leader, index: nat(b.index, 'index'), indexTerm: nat(b.indexTerm, 'indexTerm'), part: nat(b.part, 'part'), last: b.last, rows: b.rows as unknown[][], force: b.force === true }),
    );
  });

  app.post('/repl/vote', async (c) => {
    ready();
    const b = await readObject(c, maxBody);
    const s = repl.enter(parseShardField(b));
    // handleVote checks the fields; the vote is fsynced (saveHard) before this returns
    return c.json(s.vote(b as unknown as VoteRequest));
  });

  app.post('/repl/promote', async (c) => {
    ready();
    const b = await readObject(c, maxBody);
    const s = repl.enter(parseShardField(b));
    const replicas = names(b.replicas, 'replicas');
    return answer(
      c,
      await s.promote(
        { term: nat(b.term, 'term'), replicas, voters: b.voters === undefined ? replicas : names(b.voters, 'voters'), addresses: record<string>(b.addresses, 'addresses'), reported: record(b.reported, 'reported') },
        repl.promoteTimeoutMs,
      ),
    );
  });

  app.post('/repl/members', async (c) => {
    ready();
    const b = await readObject(c, maxBody);
    const s = repl.enter(parseShardField(b));
    const replicas = names(b.replicas, 'replicas');
    return answer(c, s.members({ term: nat(b.term, 'term'), replicas, voters: b.voters === undefined ? replicas : names(b.voters, 'voters'), addresses: record<string>(b.addresses, 'addresses'), stores: record<string>(b.stores, 'stores') }));
  });

  app.post('/repl/recreate', async (c) => {
    ready();
    const b = await readObject(c, maxBody);
    const shard = parseShardField(b);
    const s = repl.recreate(shard, nat(b.term, 'term'), nat(b.floor ?? 0, 'floor'));
    return c.json({ message: `${repl.self}:${shard} recreated at term ${s.state.currentTerm}, resyncing to ${b.floor ?? 0}`, term: s.state.currentTerm, store: storeId, status: 'success' });
  });

  // the same /repl/append over a primary's stream (repl-stream.ts): the same answers, a failure as its HTTP body
  return async (path, body) => {
    try {
      if (path !== '/repl/append') fail('NOT_FOUND', `No stream call ${path}`);
      if (!isPlainObject(body)) fail('INVALID_FIELD', 'body must be a JSON object');
      return await append(body);
    } catch (e) {
      return failureAnswer(e);
    }
  };
}
