/**
 * The replication calls the LB makes to shard servers (core/REPLICATION.md, "Calls"): the bodies and answers of
 * GET /state, /repl/vote, /repl/promote, /repl/members and /repl/recreate, and a change's answer. Types only;
 * lb/shard-client.ts makes the calls.
 */
import type { Row } from '../core/table.js';

/** One shard as a server reports it in `GET /state` (core/REPLICATION.md, "Calls"). */
export interface ShardState {
  rows: number;
  last_index: number;
  last_term: number;
  commit_index: number;
  term: number;
  voted_for: string | null;
  role: string;
  primary: string | null;
  replaying: boolean;
  resyncing: boolean;
  corrupt: boolean;
  /** the last entry applied to its table (rows shown by /read, /copy and /digest) */
  applied_index?: number;
  /** primary only: it has committed an entry of its own term (replog primaryReady) */
  ready?: boolean;
  /** set when a replication call contradicted its committed log: the LB recreates the shard on it */
  violation?: string;
  /** how far its log is on its disk (a primary counts itself only this far) */
  durable_index?: number;
  /** primary only: per replica how far its log is known to match the primary's */
  progress?: Record<string, { match: number; next: number; reachable: boolean }>;
}

export interface StateReport {
  /** the server's store id (a new one: its volume was lost) */
  store?: string;
  shards: Record<string, ShardState>;
}

export interface VoteBody {
  shard: string;
  term: number;
  candidate: string;
  lastIndex: number;
  lastTerm: number;
}

export interface VoteAnswer {
  term: number;
  granted: boolean;
  reason?: string;
  store?: string;
}

export interface PromoteBody {
  shard: string;
  term: number;
  replicas: string[];
  voters: string[];
  addresses: Record<string, string>;
  reported: Record<string, { lastIndex: number; store?: string }>;
}

export interface MembersBody {
  shard: string;
  term: number;
  replicas: string[];
  voters: string[];
  addresses: Record<string, string>;
  stores: Record<string, string>;
}

/** A server's answer to /update or /del. */
export interface ChangeAnswer {
  old?: Row;
  index?: number;
}

/** The calls of the shard manager (lb/primaries.ts) to servers: Raft's, with the LB running the elections. */
export interface ReplCalls {
  state(server: string, timeoutMs: number): Promise<StateReport>;
  vote(server: string, body: VoteBody, timeoutMs: number): Promise<VoteAnswer>;
  /** 200 once the new primary's no-op is committed: its term and commit position */
  promote(server: string, body: PromoteBody, timeoutMs: number): Promise<{ term: number; commitIndex: number; index?: number }>;
  members(server: string, body: MembersBody, timeoutMs: number): Promise<void>;
  /** the shard starts empty at `term` on that server, not voting until it has committed up to `floor` */
  recreate(server: string, body: { shard: string; term: number; floor: number }, timeoutMs: number): Promise<void>;
}

