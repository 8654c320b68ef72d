import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstAckAfter } from './primary-kill.js';
import { failoverRows, markdown, type BenchResults, type PrimaryKillResult } from './report.js';

test('firstAckAfter: the earliest 200 of the shard among writes sent at or after the kill', () => {
  const sent = [
    { id: 1, target: true, sentAt: 90, status: 200, doneAt: 150 }, // sent before the kill: proves nothing
    { id: 2, target: false, sentAt: 100, status: 200, doneAt: 110 }, // another shard
    { id: 3, target: true, sentAt: 100, status: 503, doneAt: 120 },
    { id: 4, target: true, sentAt: 105, status: 200, doneAt: 400 },
    { id: 5, target: true, sentAt: 130, status: 200, doneAt: 300 },
    { id: 6, target: true, sentAt: 140 }, // in flight
  ];
  assert.equal(firstAckAfter(sent, 100), 300);
  assert.equal(firstAckAfter(sent.slice(0, 4).concat(sent[5]), 100), 400);
  assert.equal(firstAckAfter(sent.slice(0, 3), 100), undefined);
});

test('the analysis table and report.md show the primary kill; an old results.json without it still renders', () => {
  const pk: PrimaryKillResult = { label: 'primary kill', shard: 'sh1', server: 'Server0', role: 'replica', ratePerSec: 200, writesAcked: 311, writesFailed: 2, writesUntilWritable: 9, killToWritableMs: 90, rowsLost: 0, replicasIdentical: true };
  const base = { tool: 't', version: '0', startedAt: 'now', machine: { cores: 2, cpuModel: 'x', memoryGiB: 1, node: 'v20', platform: 'linux', hostname: 'h' }, runtime: 'process', commit: 'abc', url: 'u', options: {}, runs: [], recovery: [] };
  const r: BenchResults = { ...base, failover: [pk] };
  assert.deepEqual(failoverRows(r), [['primary kill', 'sh1', 'Server0 (a replica: no /primaries)', '200', '90 ms', '311', '2', '0', 'yes']]);
  assert.equal(failoverRows({ ...r, failover: [{ ...pk, role: 'primary', killToWritableMs: -1 }] })[0][2], 'Server0 (primary)');
  assert.equal(failoverRows({ ...r, failover: [{ ...pk, killToWritableMs: -1 }] })[0][4], 'never');
  assert.match(markdown(r), /## Primary kill under steady writes\n\n\| run \| shard \| killed .*\n.*\n\| primary kill \| sh1 \| Server0/);
  assert.doesNotMatch(markdown(base), /Primary kill/);
  assert.deepEqual(failoverRows(base), []);
});
