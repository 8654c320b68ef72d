/**
 * The operator tools through the real CLI against a real LB and real server processes (process runtime):
 * verify exits non-zero and names the replica changed behind the LB's back, explain answers, dry runs change
 * nothing and match the real commands; and the typed client used from a scratch project, its types checked by tsc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShardctlClient, ShardctlError, type KeyExplanation, type ReadResult, type VerifyReport } from 'shardctl';
import { call, row } from '../helpers/lb-process.js';
import { cliRunner, freePort } from '../helpers/cli.js';

// assignment 2's path (no primaries): a replicated shard refuses a write that does not come from its primary, so
// the replica this test changes behind the LB's back needs the path without them; verify compares the same way
const sh = cliRunner('shardctl-ops-', { SHARDCTL_PRIMARIES: '0' });
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('verify, explain and --dry-run through the CLI; the client used by a scratch project', async (t) => {
  const port = await freePort();
  const name = 'opstest';
  const url = `http://127.0.0.1:${port}`;
  const up = await sh(['up', '--runtime', 'process', '--port', String(port), '--name', name]);
  assert.equal(up.code, 0, up.stderr);
  t.after(async () => {
    await sh(['down', '--volumes', '--name', name]);
  });
  const n = ['--name', name];
  assert.equal((await sh(['init', ...n])).code, 0);
  const client = new ShardctlClient(url);
  await client.write([row(1), row(2), row(5000), row(9000)]);

  // --- verify: agree, then one replica changed behind the LB's back
  const good = await sh(['verify', ...n]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /every shard's serving replicas agree/);
  const health = JSON.parse((await sh(['status', '--json', ...n])).stdout).health as { servers: { name: string; url: string }[] };
  const server3 = health.servers.find((s) => s.name === 'Server3')!.url;
  const direct = await call(server3, 'POST', '/write', { shard: 'sh1', curr_idx: 2, data: [row(3)] });
  assert.equal(direct.status, 200, direct.text);
  const bad = await sh(['verify', ...n]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /shard sh1: Server3 differs from Server0, Server5/);
  assert.match(bad.stdout, /sh1\s+2\s+.*differs \(3\).*DIFFERS/);
  const badJson = await sh(['verify', '--json', ...n]);
  assert.equal(badJson.code, 1);
  const report = JSON.parse(badJson.stdout) as VerifyReport;
  assert.deepEqual(report.bad, [{ shard: 'sh1', servers: ['Server3'] }]);
  // repair it the way the message says: the killed replica is refilled from the others
  assert.equal((await sh(['kill', 'Server3', ...n])).code, 0);
  const end = Date.now() + 20_000;
  // the recovery is verified by the LB itself and recorded as an event
  let verified = false;
  while (!verified && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    verified = (await client.events()).events.some((e) => e.kind === 'verified' && e.server === 'Server3');
  }
  assert.ok(verified, 'the recovery was verified and recorded');
  const healed = await sh(['verify', '--json', ...n]);
  assert.equal(healed.code, 0, 'verify agrees again after the differing replica was refilled');
  assert.deepEqual((JSON.parse(healed.stdout) as VerifyReport).shards[0].replicas.map((r) => [r.server, r.verdict, r.rows]), [
    ['Server0', 'agree', 2],
    ['Server3', 'agree', 2],
    ['Server5', 'agree', 2],
  ]);

  // --- explain
  const ex = JSON.parse((await sh(['explain', '5000', '--request-id', '7', '--json', ...n])).stdout) as KeyExplanation;
  assert.equal(ex.shard, 'sh2');
  assert.deepEqual(ex.range, { low: 4096, high: 8191 });
  assert.deepEqual(ex.replicas.map((r) => r.server), ['Server0', 'Server4', 'Server6']);
  assert.ok(ex.request && ex.replicas.some((r) => r.server === ex.request!.server));
  const human = await sh(['explain', '5000', ...n]);
  assert.match(human.stdout, /Stud_id 5000: shard sh2, keys \[4096, 8191\]/);
  const range = JSON.parse((await sh(['explain', '--range', '0', '9000', '--json', ...n])).stdout);
  assert.deepEqual(range.shards.map((s: { shard: string }) => s.shard), ['sh1', 'sh2', 'sh3']);
  assert.equal((await sh(['explain', ...n])).code, 2, 'no key: a usage error');

  // --- dry runs: nothing changes, and the plan is what the real command does
  const snapshot = async () => JSON.stringify([await client.status(), (await client.read(0, 20000)).data]);
  const before = await snapshot();
  const initPlan = JSON.parse((await sh(['init', 'a2', '--dry-run', '--json', ...n])).stdout);
  assert.equal(initPlan.rows_lost, 4);
  assert.equal(initPlan.N_after, 7);
  const add = '{"n":1,"servers":{"Server9":["sh1","sh4"]}}';
  const addPlan = JSON.parse((await sh(['add', add, '--dry-run', '--json', ...n])).stdout);
  const randomPlan = await sh(['rm', '--n', '2', '--dry-run', ...n]);
  assert.match(randomPlan.stdout, /stop: +2 picked at random among Server0, Server1/);
  assert.equal(await snapshot(), before, 'dry runs changed nothing');
  assert.deepEqual(addPlan.copy.map((c: { shard: string; rows: number }) => [c.shard, c.rows]), [['sh1', 2], ['sh4', 0]]);
  assert.equal((await sh(['add', add, ...n])).code, 0);
  const afterAdd = await client.status();
  assert.deepEqual(afterAdd.servers.Server9, ['sh1', 'sh4']);
  assert.equal(afterAdd.N, addPlan.N_after);
  const beforeRm = await snapshot();
  const rmPlan = JSON.parse((await sh(['rm', 'Server0', '--dry-run', '--json', ...n])).stdout);
  assert.equal(await snapshot(), beforeRm, 'a dry-run rm changed nothing');
  const rm = await sh(['rm', 'Server0', '--json', ...n]);
  assert.deepEqual(JSON.parse(rm.stdout).message.servers, rmPlan.stop);
  const details = await client.cluster();
  for (const s of details.shards) assert.equal(s.serving.length, rmPlan.replicas[s.Shard_id].serving_after, s.Shard_id);

  // --- errors carry their code
  await assert.rejects(client.del(123456), (e: ShardctlError) => e instanceof ShardctlError && e.code === 'KEY_NOT_FOUND' && e.status === 404);

  // --- the client from a scratch project: `npm i shardctl` stood in for by a link; tsc checks its types
  const dir = mkdtempSync(join(tmpdir(), 'shardctl-scratch-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules', 'shardctl'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', type: 'module', private: true }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, outDir: 'out' }, include: ['main.ts'] }),
  );
  writeFileSync(
    join(dir, 'main.ts'),
    `import { ShardctlClient, ShardctlError, type ReadResult } from 'shardctl';
declare const process: { argv: string[] }; // no @types/node here: the client's types must not need them
const c = new ShardctlClient(process.argv[2]);
const r: ReadResult = await c.read(0, 100);
// @ts-expect-error a key is a number (never called: only the types are checked)
void (() => c.del('1'));
let code = '';
try { await c.write([{ Stud_id: 1, Stud_name: 'dup', Stud_marks: 1 }]); } catch (e) { if (e instanceof ShardctlError) code = e.code; }
const plan = await c.rm({ n: 1, servers: ['Server1'] }, { dryRun: true });
console.log(JSON.stringify({ rows: r.data.map((x) => x.Stud_id), code, stop: plan.stop, dry: plan.dry_run }));
`,
  );
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { stdio: 'pipe' });
  const out = JSON.parse(execFileSync(process.execPath, [join(dir, 'out', 'main.js'), url], { encoding: 'utf8' }));
  assert.deepEqual(out, { rows: [1, 2], code: 'DUPLICATE_KEY', stop: ['Server1'], dry: true });
});

/** Compile-time checks of the client's types (this file is part of the test build: tsc fails if they are wrong). */
export async function typeChecks(c: ShardctlClient): Promise<void> {
  const r: ReadResult = await c.read(0, 1);
  const n: number = r.data[0].Stud_id;
  const plan = await c.add({ n: 1, servers: { S: ['sh1'] } }, { dryRun: true });
  const spawn: string = plan.spawn[0].server;
  const real = await c.add({ n: 1, servers: { S: ['sh1'] } });
  const N: number = real.N;
  // @ts-expect-error a real add answers no plan
  void real.spawn;
  // @ts-expect-error rows need every column
  await c.write([{ Stud_id: 1 }]);
  void [n, spawn, N];
}
