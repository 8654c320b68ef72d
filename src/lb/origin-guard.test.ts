/**
 * No cross-site writes: the pure rule as a table, then every changing endpoint of the LB app in-process
 * (app.request): refused with 403 CROSS_SITE_REQUEST from another origin, untouched without an Origin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crossSiteReason, isAddressHost } from './origin-guard.js';
import { createLbApp } from './app.js';
import { Cluster } from './cluster.js';
import { HttpShardClient } from './shard-client.js';
import { InProcessRuntime } from '../runtime/fake.js';
import { createLogger } from '../shared/log.js';

test('crossSiteReason: which browser requests are refused, and why', () => {
  const table: { h: { origin?: string; host?: string; secFetchSite?: string }; refused: RegExp | false }[] = [
    { h: { host: '127.0.0.1:5000' }, refused: false }, // curl, scripts, the CLI: no Origin
    { h: { host: '127.0.0.1:5000', origin: 'http://127.0.0.1:5000' }, refused: false }, // the console itself
    { h: { host: 'localhost:5000', origin: 'http://localhost:5000' }, refused: false },
    { h: { host: '[::1]:5000', origin: 'http://[::1]:5000' }, refused: false },
    { h: { host: '127.0.0.1:5000', origin: 'http://127.0.0.1:5000', secFetchSite: 'same-origin' }, refused: false },
    { h: { host: '127.0.0.1:5000', secFetchSite: 'none' }, refused: false }, // typed into the address bar
    { h: { host: '127.0.0.1:5000', origin: 'HTTP://127.0.0.1:5000' }, refused: false }, // case does not matter
    { h: { host: '127.0.0.1:5000', origin: 'http://127.0.0.1:5999' }, refused: /Origin http:\/\/127\.0\.0\.1:5999 is not this load balancer's own \(http:\/\/127\.0\.0\.1:5000\)/ },
    { h: { host: '127.0.0.1:5000', origin: 'https://127.0.0.1:5000' }, refused: /is not this load balancer's own/ },
    { h: { host: '127.0.0.1:5000', origin: 'https://evil.example' }, refused: /Origin https:\/\/evil\.example/ },
    { h: { host: '127.0.0.1:5000', origin: 'null' }, refused: /Origin null/ }, // sandboxed frames, file://
    { h: { origin: 'http://127.0.0.1:5000' }, refused: /no Host header/ },
    { h: { host: '127.0.0.1:5000', secFetchSite: 'cross-site' }, refused: /Sec-Fetch-Site: cross-site/ },
    { h: { host: '127.0.0.1:5000', origin: 'http://127.0.0.1:5000', secFetchSite: 'cross-site' }, refused: /cross-site/ },
    { h: { host: 'evil.example:5000', origin: 'http://evil.example:5000' }, refused: /by the name evil\.example.*DNS rebinding/ },
  ];
  for (const { h, refused } of table) {
    const why = crossSiteReason(h);
    if (refused === false) assert.equal(why, undefined, JSON.stringify(h));
    else {
      assert.ok(why, `${JSON.stringify(h)} must be refused`);
      assert.match(why, refused);
      assert.match(why, /Cross-site request refused/);
    }
  }
});

test('isAddressHost: loopback and IP addresses, with or without a port', () => {
  for (const h of ['127.0.0.1', '127.0.0.1:5000', 'localhost:5000', 'app.localhost', '10.1.2.3:80', '[::1]:5000', '[::1]']) assert.ok(isAddressHost(h), h);
  for (const h of ['evil.example', 'evil.example:5000', '127.0.0.1.nip.io:5000', 'localhost.evil.example']) assert.ok(!isAddressHost(h), h);
});

test('every changing endpoint refuses another origin with 403 CROSS_SITE_REQUEST; no Origin works as before', async (t) => {
  const cluster = new Cluster({ runtime: new InProcessRuntime(), client: new HttpShardClient(), log: createLogger('lb-test') });
  const app = createLbApp({ cluster, log: createLogger('lb-test'), console: { actions: true, kill: async () => undefined } });
  t.after(() => cluster.shutdown(true));
  const send = async (method: string, path: string, headers: Record<string, string>) => {
    const res = await app.request(`http://127.0.0.1:5000${path}`, { method, body: '{}', headers: { 'content-type': 'application/json', host: '127.0.0.1:5000', ...headers } });
    return { status: res.status, body: (await res.json()) as { message: string; status: string } };
  };
  const changing: [string, string][] = [
    ['POST', '/init'],
    ['POST', '/add'],
    ['DELETE', '/rm'],
    ['POST', '/rm'],
    ['POST', '/write'],
    ['PUT', '/update'],
    ['DELETE', '/del'],
    ['POST', '/console/kill'],
  ];
  for (const [method, path] of changing) {
    const evil = await send(method, path, { origin: 'http://127.0.0.1:5999' });
    assert.equal(evil.status, 403, `${method} ${path} from another origin`);
    assert.equal(evil.body.status, 'failure');
    assert.match(evil.body.message, /^<Error> Cross-site request refused: Origin http:\/\/127\.0\.0\.1:5999/);
    const fetchSite = await send(method, path, { 'sec-fetch-site': 'cross-site' });
    assert.equal(fetchSite.status, 403, `${method} ${path} with Sec-Fetch-Site: cross-site`);
    // the same request without an Origin, or from the LB's own origin, reaches the handler (which rejects the
    // empty body or the unconfigured database: anything but 403)
    for (const headers of [{}, { origin: 'http://127.0.0.1:5000', 'sec-fetch-site': 'same-origin' }] as Record<string, string>[]) {
      const ok = await send(method, path, headers);
      assert.ok(ok.status !== 403 && ok.status < 500, `${method} ${path} ${JSON.stringify(headers)}: ${ok.status} ${ok.body.message}`);
    }
  }
  // reading is not refused: a cross-site page cannot read the answer anyway (no CORS)
  const read = await send('POST', '/read', { origin: 'http://127.0.0.1:5999' });
  assert.notEqual(read.status, 403);
  const status = await app.request('http://127.0.0.1:5000/status', { headers: { origin: 'http://127.0.0.1:5999' } });
  assert.equal(status.status, 200);
});
