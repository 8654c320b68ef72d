/**
 * Store ids in the LB's metadata (review finding 2 of session 3): a server whose volume was lost while the LB was
 * down comes back with an empty log under a new store id. A restarted LB that did not know the old id adopted it,
 * and its vote (an empty log grants any candidate) let a replica missing an acknowledged write become primary.
 * Real shard-server apps in process (InProcessRuntime: a respawn starts on a new, empty store, as a lost volume).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStore } from './metadata.js';
import { oneShardOfThree, readIds, restartLosingVolumes, row, setup, sleep } from './testkit.js';

const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
const sh1 = { Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 4096 };

test('the metadata keeps each server store id', async () => {
  const meta = await MetaStore.open();
  const { call, close } = await setup({ extra: { meta } });
  try {
    assert.equal((await call('POST', '/init', { N: 2, schema, shards: [sh1], servers: { Server0: ['sh1'], Server1: ['sh1'] } })).status, 200);
    const stores = meta.load()!.stores!;
    assert.deepEqual(Object.keys(stores).sort(), ['Server0', 'Server1']);
    assert.ok(stores.Server0 && stores.Server0 !== stores.Server1, JSON.stringify(stores));
  } finally {
    await close();
  }
});

test('after an LB restart, replicas whose volumes were lost meanwhile do not vote: no primary lacking an acknowledged write is elected', async (t) => {
  const meta = await MetaStore.open();
  const first = await oneShardOfThree({ extra: { meta }, hb: 5000 });
  t.after(() => first.runtime.stopAll());
  const { primary, x, y } = first;
  assert.equal((await first.call('POST', '/write', { data: [row(1)] })).status, 200);
  // y misses the second write: it is acknowledged by the primary and x alone
  first.runtime.pause(y);
  assert.equal((await first.call('POST', '/write', { data: [row(2)] })).status, 200);
  // the LB goes away; meanwhile the primary and x lose their volumes and y returns
  const again = await restartLosingVolumes(first, meta, [primary, x], y);
  t.after(again.close);
  // give the LB time to elect if it (wrongly) would
  await sleep(1500);
  const r = await readIds(again.call);
  assert.ok(r.status !== 200 || r.ids.includes(2), `the read answered ${r.status} with ${JSON.stringify(r.ids)}: acknowledged row 2 is gone`);
  assert.equal(r.status, 503, JSON.stringify(r.body));
  const events = (await again.call('GET', '/events')).body;
  assert.ok(JSON.stringify(events).includes('store-lost'), 'the lost volumes are reported');
  // writes are refused with a reason, never acknowledged on a replica set that lost rows
  const w = await again.call('POST', '/write', { data: [row(3)] });
  assert.equal(w.status, 503, JSON.stringify(w.body));
  assert.equal((await again.call('GET', '/primaries')).body.primaries.sh1, undefined);
});
