/** The election term on disk before any vote (found by the independent review of session 8): a test that fails without it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetaStore } from './metadata.js';
import { oneShardOfThree, readIds, row, setup, sleep } from './testkit.js';
import type { InProcessRuntime } from '../runtime/fake.js';

type Internals = { running: Map<string, { paused?: unknown; stopLoops: () => void }> };

/**
 * `name` stops sending too (an in-process pause holds only what it is sent; a SIGSTOPped process sends nothing
 * either, so it learns of no newer term from its replicas' answers).
 */
function freezeSending(runtime: InProcessRuntime, name: string): void {
  (runtime as unknown as Internals).running.get(name)?.stopLoops();
}

/** The server answers new requests again; the ones it held while paused are lost (a partition that heals). */
function heal(runtime: InProcessRuntime, name: string): void {
  const r = (runtime as unknown as Internals).running.get(name);
  if (r) r.paused = undefined;
}

test('an election whose term could not be saved never lets a restarted LB adopt the deposed primary and read an acknowledged write away', async (t) => {
  const meta = await MetaStore.open();
  const first = await oneShardOfThree({ extra: { meta }, hb: 60_000 });
  t.after(() => first.runtime.stopAll());
  const { primary, x, y } = first;
  assert.equal((await first.call('POST', '/write', { data: [row(1)] })).status, 200);
  // the primary is cut off; the metadata volume is full for a moment; the operator (or a fence) elects another
  first.runtime.pause(primary);
  freezeSending(first.runtime, primary);
  const save = meta.save.bind(meta);
  meta.save = () => {
    throw new Error('ENOSPC (test)');
  };
  const el = await first.call('POST', '/primary_elect', { shards: ['sh1'] });
  const w2 = await first.call('POST', '/write', { data: [row(2)] });
  if (w2.status !== 200) {
    // not acknowledged (no election without its term on disk): nothing a restarted LB could miss
    await first.cluster.shutdown(false);
    return;
  }
  assert.notEqual(el.body.elected.sh1.primary, primary, JSON.stringify(el.body));
  // row 2 is acknowledged (on x and y). Then x and y are cut off in turn, the old primary's partition heals (what it
  // was sent meanwhile is lost, so it still leads term 1 in its own view), and the LB restarts
  for (const s of [x, y]) {
    first.runtime.pause(s);
    freezeSending(first.runtime, s);
  }
  heal(first.runtime, primary);
  await first.cluster.shutdown(false);
  meta.save = save; // the LB's disk is fine again when it restarts
  const again = await setup({ runtime: first.runtime, extra: { meta }, hb: 60_000 });
  t.after(() => again.cluster.shutdown(false));
  await again.cluster.resume(meta.load()!);
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const r = await readIds(again.call);
    seen.push(`${r.status}:${JSON.stringify(r.ids)}`);
    assert.ok(r.status !== 200 || r.ids.includes(2), `reads ${seen.join(' ')} (primaries ${JSON.stringify((await again.call('GET', '/primaries')).body)}): acknowledged row 2 is missing`);
    await sleep(50);
  }
});
