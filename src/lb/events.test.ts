import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventFile } from './event-file.js';
import { EventLog } from './events.js';

const settle = () => new Promise((r) => setTimeout(r, 120));

test('events and incidents outlive an LB restart; a recovery the restart cut short reads "interrupted"', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'shardctl-events-')), 'events.json');
  let t = 1000;
  const log = new EventLog(() => t, 1000, new EventFile(file, 10));
  log.add({ kind: 'init', detail: '6 servers, 4 shards' });
  const done = log.openIncident('Server3', 'heartbeat failed 3 times', 500);
  t = 3000;
  log.closeIncident(done, 'serving');
  log.openIncident('Server1', 'heartbeat failed 3 times', 2900);
  log.add({ kind: 'detected', server: 'Server1' });
  await settle();
  assert.ok(existsSync(file));

  const again = new EventLog(() => t, 1000, new EventFile(file, 10));
  assert.deepEqual(again.list().map((e) => e.kind), ['init', 'detected']);
  assert.deepEqual(again.incidents.map((i) => [i.server, i.outcome, i.timeToServingMs]), [
    ['Server3', 'serving', 2000],
    ['Server1', 'interrupted', undefined],
  ]);

  again.clear();
  await settle();
  assert.ok(!existsSync(file), 'a stopped cluster leaves no events behind');
  assert.deepEqual(new EventLog(() => t, 1000, new EventFile(file, 10)).list(), []);
});

test('an unreadable events file is ignored, not a failed start', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'shardctl-events-')), 'events.json');
  writeFileSync(file, '{not json');
  const log = new EventLog(Date.now, 1000, new EventFile(file, 10));
  assert.deepEqual(log.list(), []);
  assert.deepEqual(log.incidents, []);
});
