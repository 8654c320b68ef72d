/**
 * The primary's append stream (repl-stream.ts) against real sockets: answers matched by id whatever their order,
 * an unanswered call failing every call of its connection and the next call reconnecting, and a server that does
 * not upgrade being called over HTTP instead (Peers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReplStream, serveReplStream, StreamUnsupported, type StreamHandler } from './repl-stream.js';
import { Peers } from './peers.js';
import { until } from '../lb/testkit.js';

/** The connections `s` still holds once they had up to 2 s to go (0 as soon as none is left). */
async function connectionsLeft(s: Server): Promise<number> {
  const open = () => new Promise<number>((r) => s.getConnections((_e, n) => r(n)));
  await until(async () => (await open()) === 0, 2000, 20);
  return open();
}

async function listen(s: Server): Promise<string> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** An HTTP server answering every request {"http":true}, with the stream served by `handle` unless `upgrade` is false. */
async function server(handle: StreamHandler, upgrade = true): Promise<{ url: string; close(): void; connections(): number }> {
  let connections = 0;
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(JSON.stringify({ http: true, path: req.url })));
  });
  s.on('connection', () => connections++);
  if (upgrade) serveReplStream(s, handle, 1024 * 1024);
  const url = await listen(s);
  return {
    url,
    connections: () => connections,
    close: () => {
      s.closeAllConnections();
      s.close();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('calls are answered by id whatever order the server finishes them in', async (t) => {
  const srv = await server(async (_path, body) => {
    await sleep(Number(body.delay));
    return { status: 200, body: { n: body.n } };
  });
  t.after(srv.close);
  const s = new ReplStream(srv.url, 1000);
  t.after(() => s.close());
  const answers = await Promise.all([s.call('/repl/append', { n: 1, delay: 60 }, 1000), s.call('/repl/append', { n: 2, delay: 0 }, 1000), s.call('/repl/append', { n: 3, delay: 30 }, 1000)]);
  assert.deepEqual(
    answers.map((a) => a.body?.n),
    [1, 2, 3],
  );
  assert.equal(srv.connections(), 1, 'one connection carries them all');
});

test('an unanswered call fails with every other call of its connection; the next call opens a new one', async (t) => {
  let stuck = true;
  const srv = await server(async (_path, body) => {
    while (stuck) await sleep(20); // a replica that stopped answering (SIGSTOP)
    return { status: 200, body: { n: body.n } };
  });
  t.after(srv.close);
  const peers = new Peers(1000);
  t.after(() => peers.close());
  const t0 = Date.now();
  const first = peers.post(srv.url, '/repl/append', { n: 1 }, 150);
  const second = peers.post(srv.url, '/repl/append', { n: 2 }, 5000);
  await assert.rejects(first, /no answer within 150 ms/);
  await assert.rejects(second, /no answer within 150 ms/);
  assert.ok(Date.now() - t0 < 1000, 'the second call failed with the first, not at its own deadline');
  stuck = false;
  const again = await peers.post(srv.url, '/repl/append', { n: 3 }, 1000);
  assert.equal(again.status, 200);
  assert.equal(again.body?.n, 3);
  assert.equal(srv.connections(), 2, 'a new connection after the one given up');
});

test('a server that does not upgrade: the stream says so, and Peers calls it over HTTP from then on', async (t) => {
  const srv = await server(async () => ({ status: 200, body: {} }), false);
  t.after(srv.close);
  const s = new ReplStream(srv.url, 1000);
  await assert.rejects(s.call('/repl/append', {}, 1000), StreamUnsupported);
  const peers = new Peers(1000);
  t.after(() => peers.close());
  for (let i = 0; i < 2; i++) {
    const a = await peers.post(srv.url, '/repl/append', { n: i });
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, { http: true, path: '/repl/append' });
  }
});

test('a replica that is down: the call fails at once, before its timeout', async (t) => {
  const peers = new Peers(500);
  t.after(() => peers.close());
  const srv = await server(async (_p, body) => ({ status: 200, body: { n: body.n } }));
  const url = srv.url;
  srv.close();
  const t0 = Date.now();
  await assert.rejects(peers.post(url, '/repl/append', { n: 1 }));
  assert.ok(Date.now() - t0 < 400, 'a refused connection fails before the call timeout');
});

test('line framing: frames cut anywhere, even inside a UTF-8 character, come out whole; several in one chunk too', async () => {
  const { PassThrough } = await import('node:stream');
  const { lines } = await import('./repl-stream.js');
  const frames = ['{"a":"é漢😀"}', '{"id":2,"body":{"rows":[[1,"Ünïcode ✓"]]}}', 'x'.repeat(3000), '{}'];
  const bytes = Buffer.from(`${frames.join('\n')}\n\n`);
  // every split size from one byte to the whole, and the first bytes given as the upgrade's head
  for (const size of [1, 2, 3, 5, 7, 64, 4096, bytes.length]) {
    const socket = new PassThrough();
    const got: string[] = [];
    lines(socket, 1024 * 1024, bytes.subarray(0, 4), (l) => got.push(l));
    for (let at = 4; at < bytes.length; at += size) socket.write(bytes.subarray(at, Math.min(bytes.length, at + size)));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, frames, `chunks of ${size} bytes`);
  }
});

test('line framing: a frame outgrowing the limit closes the socket with an error', async () => {
  const { PassThrough } = await import('node:stream');
  const { lines } = await import('./repl-stream.js');
  const socket = new PassThrough();
  const got: string[] = [];
  lines(socket, 100, Buffer.alloc(0), (l) => got.push(l));
  const err = new Promise<Error>((r) => socket.on('error', r));
  socket.write('{"ok":1}\n');
  for (let i = 0; i < 3; i++) socket.write('y'.repeat(60));
  assert.match((await err).message, /larger than 100 bytes/);
  assert.deepEqual(got, ['{"ok":1}']);
});

test("a stream the primary closes is closed on the replica's side too (no half-open socket left per reconnect)", async (t) => {
  const s = createServer((_req, res) => res.end());
  serveReplStream(s, async () => ({ status: 200, body: {} }), 1024 * 1024);
  const url = await listen(s);
  t.after(() => {
    s.closeAllConnections();
    s.close();
  });
  for (let i = 0; i < 3; i++) {
    const st = new ReplStream(url, 1000);
    assert.equal((await st.call('/repl/append', {}, 1000)).status, 200);
    st.close(); // as Peers does when a call times out, or when the server's replication closes
  }
  assert.equal(await connectionsLeft(s), 0, 'every closed stream is gone on the replica too');
  // and the server can close: it does not wait for streams that nobody uses any more
  await new Promise<void>((r) => s.close(() => r()));
});

test('a stream given up on a stuck replica (paused: alive but silent) is closed on the replica once it runs again', async (t) => {
  let stuck = true;
  const s = createServer((_req, res) => res.end());
  serveReplStream(
    s,
    async () => {
      while (stuck) await sleep(20); // SIGSTOP: nothing answered meanwhile
      return { status: 200, body: {} };
    },
    1024 * 1024,
  );
  const url = await listen(s);
  t.after(() => {
    s.closeAllConnections();
    s.close();
  });
  const st = new ReplStream(url, 1000);
  // the primary's call times out and it gives the connection up (ReplStream.fail destroys its socket)
  await assert.rejects(st.call('/repl/append', {}, 100), /no answer within 100 ms/);
  stuck = false; // resumed
  assert.equal(await connectionsLeft(s), 0, 'the given-up stream is gone on the replica too');
});
