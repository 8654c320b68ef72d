import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../core/errors.js';
import { Coalescer } from './coalescer.js';
import { UpstreamError, type ShardClient } from './shard-client.js';
import { writeBody } from '../shared/wire.js';

/** A ShardClient collaborator that records calls and answers when told to. */
function fakeClient() {
  const calls: { kind: string; server: string; ops?: string[] }[] = [];
  let release: () => void = () => undefined;
  const gate = () => new Promise<void>((r) => (release = r));
  let pending = gate();
  const client = {
    async readRaw(server: string, shard: string, _k: string, low: number) {
      calls.push({ kind: 'read', server });
      await pending;
      return `[${low}]`;
    },
    async writeRaw(server: string) {
      calls.push({ kind: 'write', server });
      await pending;
    },
    async batch(server: string, ops: string[]) {
      calls.push({ kind: 'batch', server, ops });
      return ops.map((o) => (o.includes('"bad"') ? new ApiError('UNKNOWN_SHARD', 'Shard bad is not on this server') : o.includes('"broken"') ? new ApiError('SHARD_CORRUPT', 'Shard broken on this server has a damaged log') : o.includes('"read"') ? `[${JSON.parse(o).low}]` : '{"current_idx":1}'));
    },
  } as unknown as ShardClient;
  return { client, calls, open: () => { release(); pending = Promise.resolve(); } };
}

test('one op alone goes to the plain endpoint; ops queued behind it share one /batch call, in order', async () => {
  const f = fakeClient();
  const c = new Coalescer(f.client);
  const first = c.submit('S0', { kind: 'read', shard: 'sh1', keyCol: 'Stud_id', low: 1, high: 2 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.calls.map((x) => x.kind), ['read']);
  const rest = [
    c.submit('S0', { kind: 'read', shard: 'sh1', keyCol: 'Stud_id', low: 5, high: 6 }),
    c.submit('S0', { kind: 'read', shard: 'bad', keyCol: 'Stud_id', low: 7, high: 8 }),
    c.submit('S0', { kind: 'read', shard: 'sh1', keyCol: 'Stud_id', low: 3, high: 4 }),
  ];
  const other = c.submit('S1', { kind: 'read', shard: 'sh2', keyCol: 'Stud_id', low: 9, high: 9 });
  f.open();
  assert.equal(await first, '[1]');
  assert.equal(await rest[0], '[5]');
  await assert.rejects(rest[1], /Shard bad/);
  assert.equal(await rest[2], '[3]');
  assert.equal(await other, '[9]');
  const batch = f.calls.find((x) => x.kind === 'batch')!;
  assert.equal(batch.server, 'S0');
  assert.equal(batch.ops!.length, 3);
  assert.match(batch.ops![0], /"op":"read".*"low":5/);
  assert.match(batch.ops![2], /"op":"read".*"low":3/);
  assert.equal(c.calls, 3, 'S0 plain + S0 batch + S1 plain');
  assert.equal(c.ops, 5);
});

test('a server fault (5xx) inside a batch is that replica failing (UpstreamError); a 4xx stays the op\'s own error', async () => {
  const f = fakeClient();
  const c = new Coalescer(f.client);
  const first = c.submit('S0', { kind: 'read', shard: 'sh1', keyCol: 'Stud_id', low: 1, high: 2 });
  await new Promise((r) => setImmediate(r));
  const bad = c.submit('S0', { kind: 'read', shard: 'bad', keyCol: 'Stud_id', low: 7, high: 8 });
  const broken = c.submit('S0', { kind: 'read', shard: 'broken', keyCol: 'Stud_id', low: 7, high: 8 });
  f.open();
  await first;
  await assert.rejects(bad, (e: Error) => e instanceof ApiError && e.code === 'UNKNOWN_SHARD');
  await assert.rejects(broken, (e: Error) => e instanceof UpstreamError && /S0: .*damaged log/.test(e.message));
});

test('writes have a pipe of their own: never queued behind a read call, batched behind a write call', async () => {
  const f = fakeClient();
  const c = new Coalescer(f.client);
  const read = c.submit('S0', { kind: 'read', shard: 'sh1', keyCol: 'Stud_id', low: 1, high: 2 });
  const w1 = c.submit('S0', { kind: 'write', body: '{"shard":"sh1","curr_idx":0,"data":[]}' });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(f.calls.map((x) => x.kind), ['read', 'write'], 'the write went out while the read was in flight');
  const w2 = c.submit('S0', { kind: 'write', body: '{"shard":"sh2","curr_idx":0,"data":[]}' });
  const w3 = c.submit('S0', { kind: 'write', body: '{"shard":"sh3","curr_idx":0,"data":[]}' });
  f.open();
  assert.equal(await read, '[1]');
  assert.equal(await w1, undefined, "a plain call's answer as the client gave it");
  // each write resolves with its own answer line (a primary's names the log index the LB then reads at)
  assert.equal(await w2, '{"current_idx":1}');
  assert.equal(await w3, '{"current_idx":1}');
  const batch = f.calls.find((x) => x.kind === 'batch')!;
  assert.equal(batch.ops!.length, 2);
  assert.match(batch.ops![0], /"op":"write","w":\{"shard":"sh2"/);
  assert.match(batch.ops![1], /"op":"write","w":\{"shard":"sh3"/);
});

test('under load a write call lingers to gather more; a read call never waits on a timer', async () => {
  const f = fakeClient();
  f.open();
  const c = new Coalescer(f.client, { load: () => 100, lingerAt: 8, write: { lingerMs: 5 } });
  const w = c.submit('S0', { kind: 'write', body: '{"shard":"sh1","curr_idx":0,"data":[]}' });
  const r = c.submit('S0', { kind: 'read', shard: 'sh1', keyCol: 'Stud_id', low: 1, high: 2 });
  assert.deepEqual(f.calls.map((x) => x.kind), ['read'], 'the read went out at once, the write is lingering');
  const w2 = c.submit('S0', { kind: 'write', body: '{"shard":"sh2","curr_idx":0,"data":[]}' });
  await Promise.all([w, w2, r]);
  assert.deepEqual(f.calls.map((x) => x.kind), ['read', 'batch'], 'both writes gathered into one call');
});

test('under primaries a /batch carries each write op\'s term and each read op\'s minIndex; a 503 line keeps its code', async () => {
  const f = fakeClient();
  const c = new Coalescer(f.client);
  const first = c.submit('S0', { kind: 'write', body: writeBody('sh1', 0, '[]', 3) });
  await new Promise((r) => setImmediate(r));
  const w = c.submit('S0', { kind: 'write', body: writeBody('sh1', 0, '[]', 3) });
  // the first read goes out alone (plain /read); the two queued behind it share a /batch
  const r = [c.readRaw('S0', 'sh1', 'Stud_id', 1, 2, 41), c.readRaw('S0', 'sh1', 'Stud_id', 1, 2, 41), c.readRaw('S0', 'sh1', 'Stud_id', 1, 2, 41)];
  const broken = c.submit('S0', { kind: 'write', body: writeBody('broken', 0, '[]', 3) });
  f.open();
  await first;
  await w;
  await Promise.all(r);
  await assert.rejects(broken, (e: UpstreamError) => e instanceof UpstreamError && e.code === 'SHARD_CORRUPT');
  const batches = f.calls.filter((x) => x.kind === 'batch');
  const ops = batches.flatMap((b) => b.ops!);
  assert.match(ops.find((o) => o.includes('"op":"write"'))!, /"w":\{"shard":"sh1","curr_idx":0,"term":3,"data":\[\]\}/);
  assert.match(ops.find((o) => o.includes('"op":"read"'))!, /"low":1,"high":2,"minIndex":41\}$/);
});
