/**
 * Lead.written must be on disk before a shard's first change is sent (found by the second review): a failed metadata
 * save used to be logged and the write sent and acknowledged anyway; an LB restart then read `written: []` and let
 * lost volumes vote the acknowledged row away. Now the first change is refused until the save works.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStore } from './metadata.js';
import { oneShardOfThree, readIds, restartLosingVolumes, row, sleep } from './testkit.js';

test('a failed save of Lead.written does not let an acknowledged write be lost after an LB restart', async (t) => {
  const meta = await MetaStore.open();
  const first = await oneShardOfThree({ extra: { meta }, hb: 5000 });
  t.after(() => first.runtime.stopAll());
  const { primary, x, y } = first;
  first.runtime.pause(y);
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
  meta.save = save;
  const again = await restartLosingVolumes(first, meta, [primary, x], y);
  t.after(again.close);
  assert.deepEqual(meta.load()!.written, [], 'the saved metadata does not know sh1 was written');
  await sleep(1500);
  const r = await readIds(again.call);
  assert.ok(r.status !== 200 || r.ids.includes(1), `read ${r.status} ${JSON.stringify(r.ids)} (primaries ${JSON.stringify((await again.call('GET', '/primaries')).body)}): acknowledged row 1 is gone`);
});
