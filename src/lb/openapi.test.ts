/**
 * The OpenAPI document: valid OpenAPI 3.1 (checked by a validator library), one operation for every route the
 * LB app registers (Hono's app.routes), every error code a route lists, and docs/openapi.json identical to it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { buildOpenApi, openApiText } from './openapi.js';
import { createLbApp } from './app.js';
import { Cluster } from './cluster.js';
import { HttpShardClient } from './shard-client.js';
import { InProcessRuntime } from '../runtime/fake.js';
import { createLogger } from '../shared/log.js';
import { PACKAGE_VERSION } from '../shared/version.js';
import { ROUTES, errorStatusOf } from '../core/api.js';

const SHIPPED = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));
type Doc = { paths: Record<string, Record<string, { operationId: string; responses: Record<string, { description: string }> }>> };

test('the document is valid OpenAPI 3.1', async () => {
  const v = new Validator();
  const res = await v.validate(buildOpenApi(PACKAGE_VERSION));
  assert.equal(v.version, '3.1');
  assert.ok(res.valid, JSON.stringify(res.errors, null, 2));
  // and a broken one is refused, so the check above can fail
  const bad = await new Validator().validate({ openapi: '3.1.0', info: { title: 'x' }, paths: { '/a': { get: { responses: 'no' } } } });
  assert.equal(bad.valid, false);
});

test('docs/openapi.json is the generated document (regenerate: npm run build && node scripts/openapi.mjs)', () => {
  assert.equal(readFileSync(SHIPPED, 'utf8'), openApiText(PACKAGE_VERSION));
});

test('every route the app registers is documented, and every documented route is registered', async () => {
  const cluster = new Cluster({ runtime: new InProcessRuntime(), client: new HttpShardClient(), log: createLogger('t') });
  const app = createLbApp({ cluster, log: createLogger('t'), console: { actions: true } }) // actions on: every documented route registered;
  const doc = buildOpenApi(PACKAGE_VERSION) as Doc;
  const documented = new Set(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)));
  const toOpenApi = (p: string) => p.replace(/:([A-Za-z_]+)/g, '{$1}');
  const registeredPaths = new Set(app.routes.filter((r) => r.method !== 'ALL').map((r) => toOpenApi(r.path)));
  assert.deepEqual([...registeredPaths].sort(), Object.keys(doc.paths).sort(), 'the same paths');
  for (const d of documented) {
    const [m, p] = d.split(' ');
    // the real handler is the first one registered for this method and path (the 405 ones come after, for other methods)
    assert.ok(app.routes.some((r) => r.method === m && toOpenApi(r.path) === p), `${d} documented but not registered`);
  }
  // a registered method that is not documented must be the 405 answer
  for (const r of app.routes) {
    if (r.method === 'ALL' || documented.has(`${r.method} ${toOpenApi(r.path)}`)) continue;
    const res = await app.request(r.path.replace(':server', 'Server0'), { method: r.method });
    assert.equal(res.status, 405, `${r.method} ${r.path} is registered, undocumented, and not a 405`);
  }
  await cluster.shutdown(false);
});

test("every route's error codes appear in its responses, under their status", () => {
  const doc = buildOpenApi(PACKAGE_VERSION) as Doc;
  for (const r of ROUTES) {
    const op = doc.paths[r.path.replace(/:([A-Za-z_]+)/g, '{$1}')][r.method];
    assert.equal(op.operationId, r.operationId);
    for (const code of [...r.errors, 'INTERNAL' as const]) {
      const resp = op.responses[String(errorStatusOf(r, code))];
      assert.ok(resp, `${r.method} ${r.path}: no ${errorStatusOf(r, code)} response for ${code}`);
      assert.match(resp.description, new RegExp(`\\b${code}\\b`));
    }
  }
  assert.equal(new Set(ROUTES.map((r) => r.operationId)).size, ROUTES.length, 'operation ids are unique');
});
