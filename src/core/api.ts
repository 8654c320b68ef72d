/**
 * The LB's route table: every endpoint with its request and response schemas (zod) and the error codes it can
 * answer. lb/app.ts takes its 405 table from it, lb/openapi.ts builds the OpenAPI document from it, and the
 * typed client (src/client) takes its types from it. Membership bodies are validated by these very schemas
 * (core/schemas.ts); the data path keeps its hand-written checks for speed, and api.test.ts keeps the two in step.
 * Data bodies are described for the default student table (the columns /init declares).
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { addSchema, initSchema, rmSchema } from './schemas.js';

// ---------------------------------------------------------------- building blocks

/** A key: an integer, or a numeric string as the assignment's examples send. */
export const Key = z.union([z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\s*-?\d{1,15}\s*$/)]);
const StringValue = z.union([z.string(), z.number()]);

export const TableSchema = z.strictObject({
  columns: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/)).min(1),
  dtypes: z.array(z.enum(['Number', 'String'])).min(1),
});

/** A row of the student table as written (Stud_marks may be a string or a number, returned as written). */
export const RowIn = z.strictObject({ Stud_id: Key, Stud_name: StringValue, Stud_marks: StringValue });
export const Row = z.object({ Stud_id: z.number().int(), Stud_name: StringValue, Stud_marks: StringValue });

export const Failure = z.object({
  message: z.string().describe('"<Error> what is wrong, and what to do"'),
  status: z.literal('failure'),
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]).describe('machine-readable: docs/errors.md lists every code'),
});

export const ShardDefOut = z.object({ Stud_id_low: z.number().int(), Shard_id: z.string(), Shard_size: z.number().int() });
const Placement = z.record(z.string(), z.array(z.string()));

// ---------------------------------------------------------------- request bodies

export const InitBody = initSchema.extend({ schema: TableSchema });
export const AddBody = addSchema;
export const RmBody = rmSchema;
export const WriteBody = z.object({ data: z.array(RowIn).min(1) });
export const ReadBody = z.object({
  Stud_id: z.object({ low: Key, high: Key }).refine((r) => Number(r.low) <= Number(r.high), { message: 'low must not be greater than high' }),
});
export const UpdateBody = z
  .object({ Stud_id: Key, data: RowIn })
  .refine((b) => Number(b.Stud_id) === Number(b.data.Stud_id), { message: 'data.Stud_id must equal Stud_id', path: ['data', 'Stud_id'] });
export const DelBody = z.object({ Stud_id: Key });

// ---------------------------------------------------------------- responses

export const Topology = z.object({
  N: z.number().int(),
  schema: TableSchema.nullable(),
  shards: z.array(ShardDefOut),
  servers: Placement,
  primaries: z.record(z.string(), z.string()).describe('shard -> its primary now (a shard without one is absent)'),
});

export const PrimaryElectBody = z.object({ shards: z.array(z.string()).min(1) });

/** GET /primaries: each shard's primary and the term it leads (core/REPLICATION.md). */
export const PrimariesOk = z.object({
  primaries: z.record(z.string(), z.string()).describe('shard -> its primary (a shard without one is absent)'),
  terms: z.record(z.string(), z.number().int()).describe('shard -> its newest election term'),
  status: z.literal('success'),
});

/** POST /primary_elect: per shard the outcome of the election run now. */
export const PrimaryElectOk = z.object({
  elected: z.record(z.string(), z.object({ primary: z.string().optional(), term: z.number().int(), reason: z.string().optional().describe('why no primary was elected') })),
  status: z.literal('success'),
});

const ReplicaChange = z.object({
  before: z.number().int(),
  after: z.number().int(),
  serving_before: z.number().int(),
  serving_after: z.number().int(),
  serving_after_min: z.number().int().optional(),
});

/** The answer of /init, /add or /rm with "dry_run": true (core/plans.ts, ChangePlan). */
export const ChangePlan = z.object({
  action: z.enum(['init', 'add', 'rm']),
  dry_run: z.literal(true),
  spawn: z.array(z.object({ server: z.string(), random: z.boolean().describe('a template (Server[5]): the id is picked at random'), shards: z.array(z.string()) })),
  stop: z.array(z.string()),
  random_stop: z.object({ count: z.number().int(), among: z.array(z.string()) }).nullable(),
  create: z.array(z.string()),
  copy: z.array(z.object({ shard: z.string(), to: z.string(), rows: z.number().int(), from: z.array(z.string()) })),
  drop: z.array(z.object({ shard: z.string(), server: z.string(), rows: z.number().int() })),
  rows_copied: z.number().int(),
  rows_lost: z.number().int(),
  replicas: z.record(z.string(), ReplicaChange),
  unavailable: z.array(z.string()).describe('shards left without a serving replica'),
  N_before: z.number().int(),
  N_after: z.number().int(),
  topology: z.object({ schema: TableSchema, shards: z.array(ShardDefOut), servers: Placement }),
  notes: z.array(z.string()),
});

export const InitOk = z.object({ message: z.literal('Configured Database'), status: z.literal('success') });
export const AddOk = z.object({ N: z.number().int(), message: z.string(), status: z.literal('successful') });
export const RmOk = z.object({ message: z.object({ N: z.number().int(), servers: z.array(z.string()) }), status: z.literal('successful') });
export const ReadOk = z.object({ shards_queried: z.array(z.string()), data: z.array(Row), status: z.literal('success') });
export const MessageOk = z.object({ message: z.string(), status: z.literal('success') });
export const ServerRows = z.object({ status: z.literal('success') }).catchall(z.array(Row)).describe('shard id -> every row that server holds');

const ServerState = z.enum(['starting', 'serving', 'fenced', 'recovering', 'gone']);
export const ClusterDetails = z.object({
  configured: z.boolean(),
  servers: z.array(z.object({ name: z.string(), status: ServerState, url: z.string().optional(), shards: z.array(z.string()), stale: z.boolean(), lastSeen: z.number() })),
  shards: z.array(
    ShardDefOut.extend({
      replicas: z.array(z.string()),
      serving: z.array(z.string()),
      rows: z.number().int(),
      valid_idx: z.number().int(),
      orphaned: z.boolean(),
      primary: z.string().nullable().describe('its primary now (null: none)'),
      term: z.number().int().describe('its newest election term'),
      acked: z.number().int().describe('the highest log index the LB had acknowledged: reads ask replicas for at least this'),
      noPrimary: z.string().optional().describe('why it has no primary'),
    }),
  ),
  incidents: z.array(z.record(z.string(), z.unknown())),
  stats: z.record(z.string(), z.number()),
  status: z.literal('success'),
});

export const ClusterEvent = z.object({
  t: z.number(),
  kind: z.string(),
  server: z.string().optional(),
  shard: z.string().optional(),
  detail: z.string().optional(),
  ms: z.number().optional(),
  rows: z.number().optional(),
});
export const Incident = z.object({
  server: z.string(),
  reason: z.string(),
  lastSeenAt: z.number(),
  detectedAt: z.number(),
  servingAt: z.number().optional(),
  timeToDetectMs: z.number(),
  timeToServingMs: z.number().optional(),
  outcome: z.enum(['recovering', 'serving', 'dropped', 'interrupted']),
  rowsCopied: z.number().int(),
});
export const Events = z.object({ events: z.array(ClusterEvent), incidents: z.array(Incident), status: z.literal('success') });

export const VerifyReport = z.object({
  ok: z.boolean().describe("true when every shard's serving replicas agree"),
  shards: z.array(
    z.object({
      shard: z.string(),
      lb_rows: z.number().int().nullable().describe("the LB's key index (null while it is not known, after a restart)"),
      ok: z.boolean(),
      problem: z.string().optional(),
      replicas: z.array(
        z.object({
          server: z.string(),
          verdict: z.enum(['agree', 'differs', 'unreachable', 'not-serving']),
          rows: z.number().int().optional(),
          digest: z.string().optional(),
          error: z.string().optional(),
        }),
      ),
    }),
  ),
  bad: z.array(z.object({ shard: z.string(), servers: z.array(z.string()) })),
  status: z.literal('success'),
});

const Range = z.object({ low: z.number().int(), high: z.number().int() });
export const KeyExplanation = z.object({
  key: z.number().int(),
  shard: z.string(),
  range: Range,
  ring: z.object({ slots: z.number().int(), vnodes: z.number().int() }),
  replicas: z.array(z.object({ server: z.string(), state: z.string(), serving: z.boolean(), slots: z.number().int(), share: z.number() })),
  writes_to: z.array(z.string()),
  primary: z.string().nullable().describe('null until shards have primaries'),
  next_request_id: z.number().int(),
  request: z.object({ id: z.number().int(), slot: z.number().int(), server: z.string().nullable() }).optional(),
  status: z.literal('success'),
});
export const RangeExplanation = z.object({
  low: z.number().int(),
  high: z.number().int(),
  request_id: z.number().int(),
  shards: z.array(z.object({ shard: z.string(), range: Range, slot: z.number().int(), server: z.string().nullable(), serving: z.array(z.string()) })),
  status: z.literal('success'),
});

const intQuery = z.string().regex(/^-?\d{1,15}$/);
export const ExplainQuery = z.object({
  Stud_id: intQuery.optional().describe('the key to explain'),
  low: intQuery.optional().describe('with high: a read range to explain instead of a key'),
  high: intQuery.optional(),
  request_id: intQuery.optional().describe('a read request id: its slot and replica'),
});

// ---------------------------------------------------------------- the route table

export type Method = 'get' | 'post' | 'put' | 'delete';
export interface RouteDef {
  method: Method;
  /** Hono's form: /read/:server */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: 'data' | 'membership' | 'operations';
  body?: z.ZodType;
  query?: z.ZodObject;
  params?: z.ZodObject;
  response: z.ZodType;
  /** what the failure bodies' `code` can be (besides INTERNAL, which any route can answer) */
  errors: ErrorCode[];
  /** where a code answers another status on this route than its usual one (core/errors.ts) */
  errorStatus?: Partial<Record<ErrorCode, number>>;
}

const BODY_ERRORS: ErrorCode[] = ['INVALID_JSON', 'INVALID_FIELD', 'PAYLOAD_TOO_LARGE'];
const DATA_ERRORS: ErrorCode[] = [...BODY_ERRORS, 'NOT_CONFIGURED'];

export const ROUTES: RouteDef[] = [
  {
    method: 'post', path: '/init', operationId: 'init', tag: 'membership',
    summary: 'Configure the database (replaces any existing one); with dry_run, the plan only',
    body: InitBody, response: z.union([InitOk, ChangePlan]),
    errors: [...BODY_ERRORS, 'BAD_CONFIG', 'UNKNOWN_SHARD', 'SPAWN_FAILED'],
  },
  { method: 'get', path: '/status', operationId: 'status', tag: 'membership', summary: 'The cluster as it is now', response: Topology, errors: [] },
  {
    method: 'get', path: '/primaries', operationId: 'primaries', tag: 'membership',
    summary: "Each shard's primary and the term it leads (the shard manager's record)", response: PrimariesOk, errors: [],
  },
  {
    method: 'post', path: '/primary_elect', operationId: 'primaryElect', tag: 'membership',
    summary: 'Elect the primary of the listed shards now (the most up-to-date replica of a majority wins)',
    description: 'Answers 200 with each shard\'s outcome; a shard that could not elect names why (its writes get 503 NO_PRIMARY until a later attempt succeeds).',
    body: PrimaryElectBody, response: PrimaryElectOk, errors: [...BODY_ERRORS, 'NOT_CONFIGURED', 'UNKNOWN_SHARD', 'CROSS_SITE_REQUEST'],
  },
  {
    method: 'post', path: '/add', operationId: 'add', tag: 'membership',
    summary: 'Add servers (and new shards); Server[5] is a template for a random id; with dry_run, the plan only',
    body: AddBody, response: z.union([AddOk, ChangePlan]),
    errors: [...BODY_ERRORS, 'NOT_CONFIGURED', 'TOO_FEW_NEW_SERVERS', 'SERVER_EXISTS', 'UNKNOWN_SHARD', 'BAD_CONFIG', 'SPAWN_FAILED', 'NO_REPLICA'],
  },
  ...(['delete', 'post'] as const).map(
    (method): RouteDef => ({
      method, path: '/rm', operationId: method === 'delete' ? 'rm' : 'rmPost', tag: 'membership',
      summary: `Remove servers: the named ones and n minus that many at random${method === 'post' ? ' (POST accepted as DELETE)' : ''}; with dry_run, the plan only`,
      body: RmBody, response: z.union([RmOk, ChangePlan]),
      errors: [...BODY_ERRORS, 'NOT_CONFIGURED', 'TOO_MANY_TO_REMOVE', 'UNKNOWN_SERVER', 'LAST_REPLICA'],
      errorStatus: { UNKNOWN_SERVER: 400 },
    }),
  ),
  {
    method: 'post', path: '/read', operationId: 'read', tag: 'data',
    summary: 'Rows with low <= Stud_id <= high, one replica per shard chosen by its ring',
    body: ReadBody, response: ReadOk, errors: [...DATA_ERRORS, 'RANGE_INVERTED', 'NO_REPLICA'],
  },
  {
    method: 'post', path: '/write', operationId: 'write', tag: 'data',
    summary: "Insert rows: each shard's part through its primary, committed on a majority of its replicas",
    description: 'A 200: every part committed. A 503 says per shard which parts committed: `outcome` "refused" (nothing logged) or "indeterminate" (may still commit: read before retrying).',
    body: WriteBody, response: MessageOk, errors: [...DATA_ERRORS, 'KEY_OUT_OF_RANGE', 'DUPLICATE_KEY', 'NO_MAJORITY', 'NO_PRIMARY', 'INDETERMINATE', 'NO_REPLICA'],
  },
  {
    method: 'put', path: '/update', operationId: 'update', tag: 'data', summary: "Replace one row (through its shard's primary)",
    body: UpdateBody, response: MessageOk, errors: [...DATA_ERRORS, 'KEY_NOT_FOUND', 'NO_MAJORITY', 'NO_PRIMARY', 'INDETERMINATE', 'NO_REPLICA'],
  },
  {
    method: 'delete', path: '/del', operationId: 'del', tag: 'data', summary: "Delete one row (through its shard's primary)",
    body: DelBody, response: MessageOk, errors: [...DATA_ERRORS, 'KEY_NOT_FOUND', 'NO_MAJORITY', 'NO_PRIMARY', 'INDETERMINATE', 'NO_REPLICA'],
  },
  {
    method: 'get', path: '/read/:server', operationId: 'readServer', tag: 'data', summary: 'Everything one server holds, per shard',
    params: z.object({ server: z.string() }), response: ServerRows, errors: ['NOT_CONFIGURED', 'UNKNOWN_SERVER', 'NO_REPLICA', 'UPSTREAM_FAILED'],
  },
  { method: 'get', path: '/cluster', operationId: 'cluster', tag: 'operations', summary: 'Health per server and replica, incidents, counters', response: ClusterDetails, errors: [] },
  { method: 'get', path: '/events', operationId: 'events', tag: 'operations', summary: 'Membership and recovery events; incidents with time-to-detect and time-to-serving', response: Events, errors: [] },
  {
    method: 'get', path: '/verify', operationId: 'verify', tag: 'operations',
    summary: "Every shard's replicas compared (row count and digest) at one position of the shard's order",
    description: 'Answers 200 whether or not they agree: `ok` says. Changes nothing.',
    response: VerifyReport, errors: ['NOT_CONFIGURED'],
  },
  {
    method: 'get', path: '/explain', operationId: 'explain', tag: 'operations',
    summary: 'Where a key (Stud_id) or a read range (low, high) goes: shard, replicas, ring shares, states',
    query: ExplainQuery, response: z.union([KeyExplanation, RangeExplanation]),
    errors: ['INVALID_FIELD', 'NOT_CONFIGURED', 'KEY_OUT_OF_RANGE', 'RANGE_INVERTED'],
  },
  {
    method: 'get', path: '/openapi.json', operationId: 'openapi', tag: 'operations', summary: 'This API as an OpenAPI 3.1 document',
    response: z.record(z.string(), z.unknown()), errors: [],
  },
  {
    method: 'get', path: '/', operationId: 'root', tag: 'operations',
    summary: 'The web console (HTML, for a browser whose Accept prefers text/html); JSON with the version and endpoints for any other client',
    response: z.record(z.string(), z.unknown()), errors: [],
  },
  {
    method: 'get', path: '/console/stream', operationId: 'consoleStream', tag: 'operations',
    summary: "The console's live state as Server-Sent Events (text/event-stream): the cluster when it changes, throughput once a second",
    response: z.string(), errors: [],
  },
  {
    method: 'post', path: '/console/kill', operationId: 'consoleKill', tag: 'operations',
    summary: 'Crash one server, as `shardctl kill` does (only on an LB started with --console-actions; a 404 otherwise)',
    body: z.object({ server: z.string() }), response: MessageOk,
    errors: [...BODY_ERRORS, 'UNKNOWN_SERVER', 'CROSS_SITE_REQUEST', 'NOT_FOUND'],
  },
];

/** The status a code answers on a route. */
export function errorStatusOf(r: RouteDef, code: ErrorCode): number {
  return r.errorStatus?.[code] ?? ERROR_CODES[code];
}

/** Every path's methods, upper case, for the 405 answers. */
export function allowedMethods(routes: readonly RouteDef[] = ROUTES): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of routes) (out[r.path] ??= []).push(r.method.toUpperCase());
  return out;
}
