import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { createServerApp } from './app.js';
import { ShardStore } from './store.js';

const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };

async function fresh() {
  const store = await ShardStore.open();
  const app = createServerApp({ store, serverId: 'Server0', maxBody: 10_000 });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  return { store, app, call };
}

test('config, write, read, update, del: the contract bodies', async () => {
  const { call } = await fresh();
  assert.deepEqual(await call('POST', '/config', { schema, shards: ['sh1', 'sh2'] }), { status: 200, body: { message: 'Server0:sh1, Server0:sh2 configured', status: 'success' } });
  const rows = [1, 2, 3, 4, 5].map((i) => ({ Stud_id: 2250 + i, Stud_name: `N${i}`, Stud_marks: i }));
  assert.deepEqual(await call('POST', '/write', { shard: 'sh2', curr_idx: 507, data: rows }), { status: 200, body: { message: 'Data entries added', current_idx: 512, status: 'success' } });
  const r = await call('POST', '/read', { shard: 'sh2', Stud_id: { low: 2252, high: 2254 } });
  assert.deepEqual(r.body, { data: rows.slice(1, 4), status: 'success' });
  assert.deepEqual(await call('PUT', '/update', { shard: 'sh2', Stud_id: 2255, data: { Stud_id: 2255, Stud_name: 'GHI', Stud_marks: 30 } }), { status: 200, body: { message: 'Data entry for Stud_id:2255 updated', status: 'success' } });
  assert.deepEqual(await call('DELETE', '/del', { shard: 'sh2', Stud_id: 2251 }), { status: 200, body: { message: 'Data entry with Stud_id:2251 removed', status: 'success' } });
  const copy = await call('POST', '/copy', { shards: ['sh1', 'sh2'] });
  assert.deepEqual(copy.body.sh1, []);
  assert.deepEqual(copy.body.sh2.map((x: { Stud_id: number }) => x.Stud_id), [2252, 2253, 2254, 2255]);
  assert.equal(copy.body.sh2[3].Stud_marks, 30);
  assert.equal(copy.body.status, 'success');
});

test('a batch write is all or nothing', async () => {
  const { call, store } = await fresh();
  await call('POST', '/config', { schema, shards: ['sh1'] });
  await call('POST', '/write', { shard: 'sh1', curr_idx: 0, data: [{ Stud_id: 1, Stud_name: 'a', Stud_marks: 1 }] });
  const r = await call('POST', '/write', { shard: 'sh1', curr_idx: 1, data: [{ Stud_id: 2, Stud_name: 'b', Stud_marks: 1 }, { Stud_id: 1, Stud_name: 'dup', Stud_marks: 1 }] });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /Duplicate Stud_id 1/);
  assert.deepEqual(store.all('sh1').map((x) => x.Stud_id), [1]);
});

test('bad input: every case is a 4xx JSON failure and changes nothing', async () => {
  const { call, store } = await fresh();
  await call('POST', '/config', { schema, shards: ['sh1'] });
  await call('POST', '/write', { shard: 'sh1', curr_idx: 0, data: [{ Stud_id: 1, Stud_name: 'a', Stud_marks: 1 }] });
  const cases: [string, string, unknown, number, RegExp][] = [
    ['POST', '/write', '{not json', 400, /not valid JSON/],
    ['POST', '/write', { shard: 'sh1', data: [{ Stud_id: 'x', Stud_name: 'a', Stud_marks: 1 }] }, 400, /data\[0\]\.Stud_id must be an integer/],
    ['POST', '/write', { shard: 'sh9', data: [{ Stud_id: 5, Stud_name: 'a', Stud_marks: 1 }] }, 400, /Shard sh9 is not on this server/],
    ['POST', '/write', { data: [] }, 400, /shard must be/],
    ['POST', '/write', { shard: 'sh1', data: 'x' }, 400, /data must be an array/],
    ['POST', '/read', { shard: 'sh1', Stud_id: { low: 5, high: 1 } }, 400, /greater than/],
    ['POST', '/read', { shard: 'sh1' }, 400, /Stud_id must be an object/],
    ['PUT', '/update', { shard: 'sh1', Stud_id: 77, data: { Stud_id: 77, Stud_name: 'a', Stud_marks: 1 } }, 404, /No data entry with Stud_id:77/],
    ['PUT', '/update', { shard: 'sh1', Stud_id: 1, data: { Stud_id: 2, Stud_name: 'a', Stud_marks: 1 } }, 400, /must equal/],
    ['DELETE', '/del', { shard: 'sh1', Stud_id: 77 }, 404, /No data entry/],
    ['POST', '/config', { schema: { columns: ['a'], dtypes: ['String'] }, shards: ['x'] }, 400, /dtypes\[0\]/],
    ['POST', '/config', { schema, shards: ['bad name'] }, 400, /shards must be an array of shard ids/],
    ['GET', '/write', undefined, 405, /not allowed/],
    ['POST', '/nope', {}, 404, /No endpoint/],
    ['POST', '/write', { shard: 'sh1', data: [{ Stud_id: 9, Stud_name: 'x'.repeat(20_000), Stud_marks: 1 }] }, 413, /larger than/],
  ];
  for (const [m, p, b, status, re] of cases) {
    const r = await call(m, p, b);
    assert.equal(r.status, status, `${m} ${p} ${JSON.stringify(b)?.slice(0, 60)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.status, 'failure');
    assert.match(r.body.message, re);
    assert.ok(r.body.message.startsWith('<Error> '));
  }
  assert.deepEqual(store.all('sh1'), [{ Stud_id: 1, Stud_name: 'a', Stud_marks: 1 }]);
});

test('a request before /config is refused', async () => {
  const { call } = await fresh();
  const r = await call('POST', '/read', { shard: 'sh1', Stud_id: { low: 0, high: 1 } });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /not configured/);
});

test('GET /copy with a JSON body, over a real socket', async () => {
  const { call, app } = await fresh();
  await call('POST', '/config', { schema, shards: ['sh1', 'sh2'] });
  await call('POST', '/write', { shard: 'sh2', curr_idx: 0, data: [{ Stud_id: 4100, Stud_name: 'z', Stud_marks: '9' }] });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const port = (server.address() as AddressInfo).port;
  const payload = JSON.stringify({ shards: ['sh1', 'sh2'] });
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'GET', path: '/copy', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let s = '';
      res.on('data', (d) => (s += d));
      res.on('end', () => resolve(s));
    });
    req.on('error', reject);
    req.end(payload);
  });
  server.close();
  assert.deepEqual(JSON.parse(text), { sh1: [], sh2: [{ Stud_id: 4100, Stud_name: 'z', Stud_marks: '9' }], status: 'success' });
});

test('heartbeat: 200 with an empty body', async () => {
  const { app } = await fresh();
  const res = await app.request('/heartbeat');
  assert.equal(res.status, 200);
  assert.equal(await res.text(), '');
});

test('/batch: reads and writes in order, one answer line each, a failed op alone', async () => {
  const { app, call, store } = await fresh();
  await call('POST', '/config', { schema, shards: ['sh1'] });
  const res = await app.request('/batch', {
    method: 'POST',
    body: JSON.stringify({
      ops: [
        { op: 'write', w: { shard: 'sh1', curr_idx: 0, data: [{ Stud_id: 1, Stud_name: 'a', Stud_marks: 1 }] } },
        { op: 'read', shard: 'sh1', low: 0, high: 5 },
        { op: 'write', w: { shard: 'sh9', curr_idx: 0, data: [] } },
        { op: 'write', w: { shard: 'sh1', curr_idx: 1, data: [{ Stud_id: 1, Stud_name: 'dup', Stud_marks: 1 }] } },
      ],
    }),
  });
  assert.equal(res.status, 200);
  const lines = (await res.text()).split('\n');
  assert.equal(lines.length, 4);
  assert.equal(lines[0], '{"current_idx":1}');
  assert.deepEqual(JSON.parse(lines[1]), [{ Stud_id: 1, Stud_name: 'a', Stud_marks: 1 }]);
  assert.match(lines[2], /^!UNKNOWN_SHARD <Error> Shard sh9 is not on this server/);
  assert.match(lines[3], /^!DUPLICATE_KEY <Error> Duplicate Stud_id 1/); // the code travels (LB maps it back to DUPLICATE_KEY)
  assert.equal(store.count('sh1'), 1);
});
