/** A peer call is bounded as a whole: a replica that stops reading (paused) while a large body is sent cannot hold it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { Peers } from './peers.js';

test('a call to a peer that stops reading mid-body fails within its timeout instead of waiting for the peer', async (t) => {
  const sockets: Socket[] = [];
  // accepts the connection, then reads nothing: the socket buffers fill as with a SIGSTOPped replica
  const srv = createServer((s) => {
    sockets.push(s);
    s.pause();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const peers = new Peers(300);
  t.after(() => {
    for (const s of sockets) s.destroy();
    srv.close();
  });
  const t0 = Date.now();
  const big = { rows: Array.from({ length: 400_000 }, (_, i) => [i, `name-${i}`, i % 100]) }; // ~10 MB of JSON
  const outcome = await Promise.race([
    peers.post(`http://127.0.0.1:${port}`, '/repl/copy', big).then(() => 'answered', (e: Error) => `failed: ${e.name}`),
    new Promise<string>((r) => setTimeout(() => r('still waiting after 5 s'), 5000).unref()),
  ]);
  assert.match(outcome, /^failed/, outcome);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});
