/**
 * Review: awaitHeld counts the primary's progress.match of a replica whose volume the LB already knows is lost
 * (fenced: "restarted with another store"); the primary keeps the old store's match until /repl/members names the
 * new store (rejoin.ts, under the shard lock /rm holds). /rm of a healthy replica then leaves the acknowledged
 * rows on the primary alone while reporting success.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { row, setup, sleep, until } from './testkit.js';

const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
const sh1 = { Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 4096 };
const servers = { Server0: ['sh1'], Server1: ['sh1'], Server2: ['sh1'] };

test('/rm does not count a replica whose volume is known lost as holding the log', async (t) => {
  const w = await setup({ hb: 100, autoRecover: false, extra: { rmCatchUpMs: 800 } });
  t.after(w.close);
  assert.equal((await w.call('POST', '/init', { N: 3, schema, shards: [sh1], servers })).status, 200);
  assert.equal((await w.call('POST', '/write', { data: [row(1), row(2)] })).status, 200);
  const P = (await w.call('GET', '/primaries')).body.primaries.sh1 as string;
  const [r, x] = Object.keys(servers).filter((s) => s !== P);
  // x restarts on a new, empty volume (same name; the LB learns its new address like a container restart)
  await w.runtime.kill(x);
  const h = await w.runtime.spawn(x);
  const c = (w.cluster as any).c;
  c.servers.get(x).url = h.url;
  c.client.setAddress(x, h.url);
  assert.ok(await until(() => JSON.stringify(c.events.list?.() ?? '').includes('another store') || c.servers.get(x).status !== 'serving', 3000));
  await sleep(300);
  const res = await w.call('DELETE', '/rm', { n: 1, servers: [r] });
  const st = await (await fetch(`${h.url}/state`)).json();
  assert.notEqual(res.status, 200, `/rm ${r} succeeded while ${x} (${c.servers.get(x).status}, ${c.servers.get(x).lastError}) holds ${JSON.stringify(st.shards?.sh1 ?? st)}: the rows are on ${P} alone`);
});
