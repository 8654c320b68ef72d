/**
 * The refusals of replicated shards as ApiErrors, shared by the shard server and the LB so both send the same
 * bodies (REPLICATION.md, "Calls": a 409 names the term and the primary; a 503 of a write says its `outcome`).
 */
import { ApiError } from './errors.js';

/** 409: this server is not the primary of `term` for the shard; `term`/`primary` are what it knows. */
export function notPrimary(shard: string, detail: string, term: number, primary: string | null): ApiError {
  return new ApiError('NOT_PRIMARY', `${detail}; ask ${primary ?? 'the load balancer'} (term ${term}) for ${shard}`, undefined, { term, primary, outcome: 'refused' });
}

/** 503 refused: the shard has no primary and none could be elected; nothing was logged. */
export function noPrimary(shard: string, reason: string): ApiError {
  return new ApiError('NO_PRIMARY', `refused: no primary for ${shard} (${reason}); retry in a few seconds`, undefined, { outcome: 'refused' });
}

/** 503 refused before logging: the primary already knows fewer than a majority of the shard's voters answer. */
export function noMajority(shard: string, reachable: number, needed: number): ApiError {
  return new ApiError('NO_MAJORITY', `refused: only ${reachable} of the ${needed} voters of ${shard} needed answer; nothing was logged, retry once they are back`, undefined, { outcome: 'refused' });
}

/** 503 indeterminate: logged, not known committed; the client must read before it retries. */
export function indeterminate(shard: string, index: number, term: number, why: string): ApiError {
  return new ApiError('INDETERMINATE', `indeterminate: the write to ${shard} was logged as entry ${index} of term ${term} but ${why}; it may still commit, read it before retrying`, undefined, { outcome: 'indeterminate', index, term });
}

/** 503: this replica has not reached the read position the LB asks for; try another replica. */
export function behind(shard: string, minIndex: number, applied: number): ApiError {
  return new ApiError('BEHIND', `${shard} on this server has applied up to ${applied}, below the requested ${minIndex}; read another replica`, undefined, { applied });
}

/** 500: a replication call contradicts a committed entry; the replica resyncs. */
export function logViolation(shard: string, detail: string): ApiError {
  return new ApiError('LOG_VIOLATION', `${shard}: ${detail}; this replica stops serving the shard until it has resynced from the primary`);
}
