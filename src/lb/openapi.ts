/**
 * The OpenAPI 3.1 document of the LB, built from the route table (core/api.ts) with zod's own JSON Schema
 * generator (z.toJSONSchema, draft 2020-12: the dialect OpenAPI 3.1 uses). Served at GET /openapi.json and
 * shipped as docs/openapi.json (a test keeps the two identical: regenerate with `node scripts/openapi.mjs`).
 */
import { z } from 'zod';
import { ROUTES, errorStatusOf, type RouteDef } from '../core/api.js';
import type { ErrorCode } from '../core/errors.js';

type Json = Record<string, unknown>;

/** A request body schema: what a client may send (the input side of transforms). */
function inputSchema(s: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Json;
  return rest;
}

/** A response schema: open objects, since a response may gain fields over time (API.md, conventions). */
function outputSchema(s: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(s, { target: 'draft-2020-12', io: 'output', unrepresentable: 'any' }) as Json;
  return openObjects(rest) as Json;
}

function openObjects(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(openObjects);
  if (v && typeof v === 'object') {
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'additionalProperties' && x === false) continue;
      out[k] = openObjects(x);
    }
    return out;
  }
  return v;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad input: nothing was changed',
  404: 'Not found',
  405: 'Method not allowed on this path',
  413: 'Payload larger than the limit',
  500: 'Internal failure',
  502: 'A shard server did not answer',
  503: 'Not enough live replicas: the change was not applied (or was rolled back)',
};

function failureResponses(r: RouteDef): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of new Set<ErrorCode>([...r.errors, 'METHOD_NOT_ALLOWED', 'INTERNAL'])) {
    const st = errorStatusOf(r, c);
    byStatus.set(st, [...(byStatus.get(st) ?? []), c]);
  }
  const out: Json = {};
  for (const [st, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(st)] = {
      description: `${STATUS_TEXT[st] ?? 'Failure'}: ${list.join(', ')}`,
      content: {
        'application/json': {
          schema: {
            allOf: [{ $ref: '#/components/schemas/Failure' }, { type: 'object', properties: { code: { enum: list } } }],
          },
        },
      },
    };
  }
  return out;
}

function parameters(r: RouteDef): Json[] {
  const out: Json[] = [];
  for (const [where, obj] of [['path', r.params], ['query', r.query]] as const) {
    if (!obj) continue;
    for (const [name, s] of Object.entries(obj.shape as Record<string, z.ZodType>)) {
      const optional = s.safeParse(undefined).success;
      const js = inputSchema(s);
      const { description, ...schema } = js;
      out.push({ name, in: where, required: where === 'path' || !optional, ...(description ? { description } : {}), schema });
    }
  }
  return out;
}

const openApiPath = (p: string) => p.replace(/:([A-Za-z_]+)/g, '{$1}');

export function buildOpenApi(version: string, routes: readonly RouteDef[] = ROUTES): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const op: Json = {
      operationId: r.operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
    };
    const params = parameters(r);
    if (params.length) op.parameters = params;
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: inputSchema(r.body) } } };
    op.responses = {
      '200': { description: 'Success', content: { 'application/json': { schema: outputSchema(r.response) } } },
      ...failureResponses(r),
    };
    (paths[openApiPath(r.path)] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'shardctl load balancer',
      version,
      description:
        'A sharded, replicated student table: the load balancer in front of the shard servers. Every failure answers ' +
        '{"message": "<Error> ...", "status": "failure", "code": "..."}; docs/errors.md lists the codes. Data bodies are ' +
        'shown for the default student table (the columns /init declares).',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: 'http://127.0.0.1:5000' }],
    tags: [
      { name: 'data', description: 'reads and writes (assignment API)' },
      { name: 'membership', description: 'configuration and servers (assignment API)' },
      { name: 'operations', description: 'health, events, verify, explain' },
    ],
    paths,
    components: { schemas: { Failure: outputSchema(z.object({ message: z.string(), status: z.literal('failure'), code: z.string() })) } },
  };
}

let cached: string | undefined;
/** The document as JSON text (built once: the route table does not change at run time). */
export function openApiText(version: string): string {
  return (cached ??= `${JSON.stringify(buildOpenApi(version), null, 2)}\n`);
}
