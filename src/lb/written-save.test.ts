/**
 * Lead.written must be on disk before a shard's first change is sent (found by the second review): a failed metadata
 * save used to be logged and the write sent and acknowledged anyway; an LB restart then read `written: []` and let
 * lost volumes vote the acknowledged row away. Now the first change is refused until the save works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStore } from './metadata.js';
import { row, setup, sleep } from './testkit.js';

const schema = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };
const sh1 = { Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 4096 };

test('a failed save of Lead.written does not let an acknowledged write be lost after an LB restart', async (t) => {
  const meta = await MetaStore.open();
  const first = await setup({ extra: { meta }, hb: 5000 });
  const { runtime } = first;
  t.after(() => runtime.stopAll());
  const servers = { Server0: ['sh1'], Server1: ['sh1'], Server2: ['sh1'] };
  assert.equal((await first.call('POST', '/init', { N: 3, schema, shards: [sh1], servers })).status, 200);
  const primary = (await first.call('GET', '/primaries')).body.primaries.sh1 as string;
  const [x, y] = Object.keys(servers).filter((s) => s !== primary);
  runtime.pause(y);
  // the metadata volume is full for a moment: the save made before the first write fails
  const save = meta.save.bind(meta);
  meta.save = () => { throw new Error('ENOSPC (test)'); };
  const w = await first.call('POST', '/write', { data: [row(1)] });
  if (w.status !== 200) {
    // refused before anything was sent: nothing acknowledged, nothing to lose
    assert.equal(w.status, 503, JSON.stringify(w.body));
    assert.equal(w.body.code, 'METADATA_UNSAVED');
    assert.equal(w.body.outcome, 'refused');
    // once the metadata can be saved again, the same write goes through and the record says sh1 was written
    meta.save = save;
    assert.equal((await first.call('POST', '/write', { data: [row(1)] })).status, 200);
    assert.deepEqual(meta.load()!.written, ['sh1']);
    await first.close();
    return;
  }
  await first.cluster.shutdown(false);
  meta.save = save;
  assert.deepEqual(meta.load()!.written, [], 'the saved metadata does not know sh1 was written');
  for (const s of [primary, x]) await runtime.kill(s);
  runtime.resume(y);
  const again = await setup({ runtime, extra: { meta } });
  t.after(again.close);
  await again.cluster.resume(meta.load()!);
  await sleep(1500);
  const r = await again.call('POST', '/read', { Stud_id: { low: 0, high: 10 } });
  const ids = (r.body?.data ?? []).map((d: { Stud_id: number }) => d.Stud_id);
  assert.ok(r.status !== 200 || ids.includes(1), `read ${r.status} ${JSON.stringify(ids)} (primaries ${JSON.stringify((await again.call('GET', '/primaries')).body)}): acknowledged row 1 is gone`);
});
