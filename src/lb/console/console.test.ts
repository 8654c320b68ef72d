/**
 * The console in-process: content negotiation on GET /, the page's security headers, actions only when enabled,
 * the state the page is built from (a table), and the SSE stream after an /init of the default configuration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLbApp } from '../app.js';
import { Cluster } from '../cluster.js';
import { HttpShardClient } from '../shard-client.js';
import { InProcessRuntime } from '../../runtime/fake.js';
import { createLogger } from '../../shared/log.js';
import { wantsHtml } from './page.js';
import { buildConsoleState, replicaState, summarise, type LbInfo } from './state.js';

const DEFAULT = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../configs/default.json', import.meta.url)), 'utf8'));
const log = createLogger('lb-test');

function setup(consoleOpts: Parameters<typeof createLbApp>[0]['console'] = {}) {
  const cluster = new Cluster({ runtime: new InProcessRuntime(), client: new HttpShardClient({ timeoutMs: 3000 }), log, heartbeat: { intervalMs: 100, timeoutMs: 200, misses: 2 } });
  const app = createLbApp({ cluster, log, console: consoleOpts });
  return { cluster, app };
}

test('wantsHtml: a browser navigating gets HTML; curl, fetch and JSON clients get JSON', () => {
  const table: [string | undefined, boolean][] = [
    ['text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8', true], // Chromium
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', true], // Firefox
    ['*/*', false], // curl, fetch, undici
    [undefined, false],
    ['application/json', false],
    ['application/json, text/html;q=0.5', false],
    ['text/html;q=0', false],
    ['text/html, application/json', true],
    ['TEXT/HTML', true],
  ];
  for (const [accept, html] of table) assert.equal(wantsHtml(accept), html, String(accept));
});

test('GET /: JSON (version and endpoints) for a JSON client, the page for a browser, with a CSP that allows only its own inline blocks', async (t) => {
  const { cluster, app } = setup();
  t.after(() => cluster.shutdown(true));
  const j = await app.request('/');
  assert.equal(j.status, 200);
  assert.match(j.headers.get('content-type')!, /application\/json/);
  assert.equal(j.headers.get('vary'), 'Accept');
  const body = (await j.json()) as { version: string; endpoints: string[]; status: string };
  assert.equal(body.status, 'success');
  assert.match(body.version, /^\d+\.\d+\.\d+/);
  for (const e of ['POST /init', 'GET /status', 'POST /write', 'GET /console/stream']) assert.ok(body.endpoints.includes(e), e);
  assert.ok(!body.endpoints.includes('POST /console/kill'), 'no actions unless enabled');

  const h = await app.request('/', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  assert.equal(h.status, 200);
  assert.match(h.headers.get('content-type')!, /text\/html/);
  const html = await h.text();
  const csp = h.headers.get('content-security-policy')!;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /connect-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(h.headers.get('x-frame-options'), 'DENY');
  // no external resource: no http(s) URL in a src/href, and the inline script is the one the CSP names
  assert.ok(!/(src|href)=["']?https?:/i.test(html), 'nothing loaded from elsewhere');
  const script = html.match(/<script>([\s\S]*)<\/script>/)![1];
  assert.ok(csp.includes(`'sha256-${createHash('sha256').update(script).digest('base64')}'`), 'the CSP hash is the inline script\'s');
  const style = html.match(/<style>([\s\S]*?)<\/style>/)![1];
  assert.ok(csp.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`), 'the CSP hash is the inline style\'s');
  assert.ok(!html.includes('id="add-form"'), 'read-only: no add form');
  assert.equal((await app.request('/', { method: 'POST' })).status, 405);
});

test('actions: /console/kill exists only with actions enabled, checks the server and kills it through the runtime', async (t) => {
  const off = setup();
  t.after(() => off.cluster.shutdown(true));
  assert.equal((await off.app.request('/console/kill', { method: 'POST', body: '{"server":"Server0"}' })).status, 404);

  const killed: string[] = [];
  const on = setup({ actions: true, kill: async (s) => void killed.push(s) });
  t.after(() => on.cluster.shutdown(true));
  const html = await (await on.app.request('/', { headers: { accept: 'text/html' } })).text();
  assert.ok(html.includes('id="add-form"'), 'the add form is on the page');
  assert.equal((await on.app.request('/init', { method: 'POST', body: JSON.stringify(DEFAULT) })).status, 200);
  const unknown = await on.app.request('/console/kill', { method: 'POST', body: '{"server":"Server99"}' });
  assert.equal(unknown.status, 404);
  assert.match(((await unknown.json()) as { message: string }).message, /Server99 is not in the cluster/);
  const bad = await on.app.request('/console/kill', { method: 'POST', body: '{"server":3}' });
  assert.equal(bad.status, 400);
  const ok = await on.app.request('/console/kill', { method: 'POST', body: '{"server":"Server3"}' });
  assert.equal(ok.status, 200);
  assert.deepEqual(killed, ['Server3']);
});

const LB: LbInfo = { version: '0.1.0', runtime: 'process', cluster: 'default', startedAt: 1000, actions: false, settings: {} };

test('replica state words: serving, or the server\'s own state (those of shardctl status)', () => {
  const table: [boolean, string | undefined, string][] = [
    [true, 'serving', 'serving'],
    [false, 'fenced', 'fenced'],
    [false, 'recovering', 'recovering'],
    [false, 'starting', 'starting'],
    [false, 'serving', 'recovering'], // serving, but this shard not filled yet
    [false, undefined, 'gone'],
  ];
  for (const [serving, st, word] of table) assert.equal(replicaState(serving, st), word, `${serving} ${st}`);
});

test('summary: idle, all serving, a server down, a shard with no replica', () => {
  const up = { name: 'Server0', state: 'serving', serving: true };
  const down = { name: 'Server3', state: 'fenced', serving: false };
  const sh = (id: string, serving: number, orphaned = false) => ({ id, replicas: [1, 2, 3], servingCount: serving, orphaned });
  assert.equal(summarise(false, [], []).level, 'idle');
  assert.deepEqual(summarise(true, [up], [sh('sh1', 3)]), { level: 'ok', text: 'All 1 servers and 1 shards are serving, every replica in place.' });
  const w = summarise(true, [up, down], [sh('sh1', 2), sh('sh2', 3)]);
  assert.equal(w.level, 'warn');
  assert.equal(w.text, 'Not serving: Server3 (fenced). Shard sh1 runs on fewer replicas than placed.');
  const b = summarise(true, [down], [sh('sh1', 0, true), sh('sh3', 0, true)]);
  assert.equal(b.level, 'bad');
  assert.match(b.text, /Shards sh1, sh3 have no serving replica/);
});

test('buildConsoleState: grid, uptime from the last spawn, incident steps, primaries when /status has them', () => {
  const status = { N: 2, schema: { columns: ['Stud_id'], dtypes: ['Number'] }, shards: [{ Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 10 }], servers: { A: ['sh1'], B: ['sh1'] }, primaries: { sh1: 'A' } };
  const details = {
    configured: true,
    servers: [
      { name: 'A', status: 'serving', url: 'http://a', shards: ['sh1'], lastSeen: 900 },
      { name: 'B', status: 'recovering', url: 'http://b', shards: ['sh1'], lastSeen: 500, failures: 2, lastError: 'spawn timed out' },
    ],
    shards: [{ Shard_id: 'sh1', Stud_id_low: 0, Shard_size: 10, replicas: ['A', 'B'], serving: ['A'], rows: 7 }],
  };
  const events = [
    { t: 100, kind: 'spawned', server: 'A' },
    { t: 110, kind: 'spawned', server: 'B' },
    { t: 600, kind: 'detected', server: 'B' },
    { t: 700, kind: 'spawned', server: 'B', ms: 90 },
    { t: 750, kind: 'copied', server: 'B', shard: 'sh1', rows: 7 },
  ];
  const incidents = [{ server: 'B', reason: 'heartbeat failed 3 times', lastSeenAt: 500, detectedAt: 600, timeToDetectMs: 100, outcome: 'recovering' as const, rowsCopied: 7 }];
  const s = buildConsoleState(1000, LB, status, details, events, incidents);
  assert.deepEqual(s.shards[0], {
    id: 'sh1', low: 0, high: 9, rows: 7, primary: 'A', servingCount: 1, orphaned: false,
    replicas: [{ server: 'A', state: 'serving', serving: true, primary: true }, { server: 'B', state: 'recovering', serving: false, primary: false }],
  });
  assert.equal(s.servers[0].upSince, 100);
  assert.equal(s.servers[1].upSince, null, 'no uptime while not serving');
  assert.deepEqual(s.incidents[0].steps.map((e) => e.kind), ['spawned', 'copied']);
  assert.equal(s.summary.level, 'warn');
  assert.equal(s.servers[1].note, '2 failed attempts: spawn timed out', 'as shardctl status shows it');
  assert.equal(s.servers[0].note, '');
  const resuming = buildConsoleState(1000, LB, status, { ...details, unavailable: 'The LB is resuming its cluster; try again shortly' }, events, incidents);
  assert.deepEqual(resuming.summary, { level: 'warn', text: 'The LB is resuming its cluster; try again shortly' });
});

test('GET /console/stream: hello, then the state (every shard and server of the default config) and the metrics', async (t) => {
  const { cluster, app } = setup();
  t.after(() => cluster.shutdown(true));
  assert.equal((await app.request('/init', { method: 'POST', body: JSON.stringify(DEFAULT) })).status, 200);
  assert.equal((await app.request('/write', { method: 'POST', body: JSON.stringify({ data: [{ Stud_id: 5, Stud_name: 'A', Stud_marks: 1 }] }) })).status, 200);
  const res = await app.request('/console/stream');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /text\/event-stream/);
  const reader = res.body!.getReader();
  let text = '';
  const deadline = Date.now() + 5000;
  while (!(text.includes('event: state') && text.includes('event: metrics')) && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  const msg = (ev: string) => JSON.parse(text.split(`event: ${ev}\ndata: `)[1].split('\n')[0]);
  const state = msg('state');
  assert.deepEqual(state.servers.map((s: { name: string }) => s.name), Object.keys(DEFAULT.servers));
  assert.deepEqual(state.shards.map((s: { id: string }) => s.id), ['sh1', 'sh2', 'sh3', 'sh4']);
  assert.ok(state.shards.every((s: { replicas: { state: string }[] }) => s.replicas.every((r) => r.state === 'serving')));
  const metrics = msg('metrics');
  assert.equal(metrics.total.write.n, 1);
  assert.equal(metrics.shards.sh1.write.n, 1);
  assert.deepEqual(Object.keys(metrics.heartbeats), Object.keys(DEFAULT.servers));
});

test('the stream stops when the browser goes away (over a real socket): no loop left running', async () => {
  const { serve } = await import('@hono/node-server');
  const { Hono } = await import('hono');
  const { ConsoleHub } = await import('./stream.js');
  const { LbMetrics } = await import('../metrics.js');
  const { EventLog } = await import('../events.js');
  const fakeCluster = { status: () => ({ N: 0, schema: null, shards: [], servers: {} }), details: () => ({ configured: false, servers: [], shards: [] }), events: new EventLog() };
  const hub = new ConsoleHub(fakeCluster as unknown as Cluster, new LbMetrics(), () => LB);
  const app = new Hono();
  app.get('/s', (c) => hub.handle(c));
  const srv = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => srv.once('listening', () => r()));
  try {
    const port = (srv.address() as { port: number }).port;
    const ac = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/s`, { signal: ac.signal });
    await res.body!.getReader().read();
    assert.equal(hub.clients, 1);
    ac.abort();
    for (let i = 0; i < 40 && hub.clients > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(hub.clients, 0, 'the stream loop ended with the connection');
  } finally {
    srv.close();
  }
});
