/**
 * Review: electLocked lets a voter with another store than recorded vote when `sh.indexed && sh.known.size === 0`.
 * An acknowledged delete of the shard's last row makes known empty, so a recreated-empty replica's vote elects a
 * replica that lacks the delete: the deleted row comes back. One lost volume (x) and one server down (P).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { row, setup, sleep, until } from './testkit.js';

const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
const sh1 = { Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 4096 };
const servers = { Server0: ['sh1'], Server1: ['sh1'], Server2: ['sh1'] };

test('an acknowledged delete of the last row survives one lost volume and one server down', async (t) => {
  const w = await setup({ hb: 100 });
  t.after(w.close);
  assert.equal((await w.call('POST', '/init', { N: 3, schema, shards: [sh1], servers })).status, 200);
  assert.equal((await w.call('POST', '/write', { data: [row(1)] })).status, 200);
  const P = (await w.call('GET', '/primaries')).body.primaries.sh1 as string;
  const [x, y] = Object.keys(servers).filter((s) => s !== P);
  w.runtime.pause(y);
  const d = await w.call('DELETE', '/del', { Stud_id: 1 });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  // P goes down (its volume kept: it just is not back yet); x comes back on a new, empty volume
  w.runtime.failSpawn.add(P);
  await w.runtime.kill(P);
  await w.runtime.kill(x);
  await sleep(1500); // every append P had parked at y was aborted
  w.runtime.resume(y);
  const elected = await until(async () => (await w.call('GET', '/primaries')).body.primaries.sh1 !== undefined, 6000);
  const r = await w.call('POST', '/read', { Stud_id: { low: 0, high: 10 } });
  const ids = (r.body?.data ?? []).map((e: { Stud_id: number }) => e.Stud_id);
  const ev = ((await w.call('GET', '/events')).body.events as { kind: string; server?: string; detail?: string }[]).filter((e) => ['elected', 'recreated', 'detected'].includes(e.kind));
  assert.ok(!ids.includes(1), `elected=${elected} (${JSON.stringify((await w.call('GET', '/primaries')).body)}); read ${r.status} ${JSON.stringify(ids)}: the acknowledged delete of row 1 is lost; ${JSON.stringify(ev)}`);
});
