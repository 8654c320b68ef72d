import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { installErrorHandlers, methodNotAllowed } from './http-errors.js';
import { createLogger } from './log.js';

test('a real route matches one handler only (Hono fast path); other methods on it are a 405 naming the allowed ones', async () => {
  const app = new Hono();
  installErrorHandlers(app, createLogger('test'));
  app.post('/write', (c) => c.text('ok'));
  app.get('/read/:server', (c) => c.text(c.req.param('server')));
  methodNotAllowed(app, { '/write': ['POST'], '/read/:server': ['GET'] });
  // a second match (even an unreached one) makes Hono compose a middleware chain for every request
  const matches = (m: string, p: string) => (app.router.match(m, p)[0] as unknown[]).length;
  assert.equal(matches('POST', '/write'), 1);
  assert.equal(matches('GET', '/read/Server0'), 1);
  assert.equal((await app.request('/write', { method: 'POST' })).status, 200);
  for (const m of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    const res = await app.request('/write', { method: m });
    assert.equal(res.status, 405, m);
    assert.equal(res.headers.get('allow'), 'POST');
    assert.match((await res.json()).message, /not allowed on \/write/);
  }
  assert.equal((await app.request('/read/S1', { method: 'POST' })).status, 405);
  assert.equal((await app.request('/nowhere', { method: 'GET' })).status, 404);
});
