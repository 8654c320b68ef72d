/**
 * The error catalogue: every failure a client of the LB or of a shard server can meet, with its HTTP status.
 * Every body reads {"message": "<Error> ...", "status": "failure"} (API.md, conventions).
 * docs/errors.md lists every code; a test keeps the two in step.
 */
export const ERROR_CODES = {
  INVALID_JSON: 400,
  INVALID_FIELD: 400,
  PAYLOAD_TOO_LARGE: 413,
  NOT_CONFIGURED: 400,
  KEY_OUT_OF_RANGE: 400,
  DUPLICATE_KEY: 400,
  KEY_NOT_FOUND: 404,
  RANGE_INVERTED: 400,
  UNKNOWN_SHARD: 400,
  UNKNOWN_SERVER: 404,
  BAD_CONFIG: 400,
  TOO_FEW_NEW_SERVERS: 400,
  TOO_MANY_TO_REMOVE: 400,
  LAST_REPLICA: 400,
  SERVER_EXISTS: 400,
  NOT_FOUND: 404,
  CROSS_SITE_REQUEST: 403,
  METHOD_NOT_ALLOWED: 405,
  NO_MAJORITY: 503,
  NO_REPLICA: 503,
  SHARD_CORRUPT: 503,
  NOT_PRIMARY: 409,
  NO_PRIMARY: 503,
  REPLICAS_BEHIND: 503,
  METADATA_UNSAVED: 503,
  INDETERMINATE: 503,
  BEHIND: 503,
  LOG_VIOLATION: 500,
  UPSTREAM_FAILED: 502,
  SPAWN_FAILED: 500,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error that maps to one HTTP answer. `message` already carries the "<Error> " prefix. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** more fields of the failure body (a refusal's `term` and `primary`, a write's `outcome`) */
  readonly extra: Readonly<Record<string, unknown>> | undefined;
  constructor(code: ErrorCode, detail: string, status?: number, extra?: Record<string, unknown>) {
    super(detail.startsWith('<Error>') ? detail : `<Error> ${detail}`);
    this.name = 'ApiError';
    this.code = code;
    this.status = status ?? ERROR_CODES[code];
    this.extra = extra;
  }
}

/** Throws an ApiError; `detail` is the human part after "<Error> ". */
export function fail(code: ErrorCode, detail: string): never {
  throw new ApiError(code, detail);
}

/**
 * What a refused or failed change did, by its code (core/REPLICATION.md): `refused` nothing was logged, retrying
 * is safe; `indeterminate` it may still commit, read before retrying. Other codes name no outcome.
 */
export function outcomeOf(code: ErrorCode | undefined): 'refused' | 'indeterminate' | undefined {
  if (code === 'NO_PRIMARY' || code === 'NO_MAJORITY' || code === 'NOT_PRIMARY' || code === 'METADATA_UNSAVED') return 'refused';
  if (code === 'INDETERMINATE') return 'indeterminate';
  return undefined;
}

/** The wire body of a failure (with `outcome` for the codes that name one). */
export function failureBody(message: string, code?: ErrorCode): { message: string; status: 'failure'; code?: ErrorCode; outcome?: 'refused' | 'indeterminate' } {
  const m = message.startsWith('<Error>') ? message : `<Error> ${message}`;
  if (!code) return { message: m, status: 'failure' };
  const outcome = outcomeOf(code);
  return outcome ? { message: m, status: 'failure', code, outcome } : { message: m, status: 'failure', code };
}
