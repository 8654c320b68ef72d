/**
 * For the LB's in-process tests: a Cluster over real shard-server apps on loopback ports (InProcessRuntime), real
 * HTTP between them, the LB app driven with app.request(). Not a test itself.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLbApp } from './app.js';
import { Cluster, type ClusterOptions } from './cluster.js';
import { HttpShardClient } from './shard-client.js';
import { InProcessRuntime } from '../runtime/fake.js';
import { createLogger } from '../shared/log.js';
import type { ServerRuntime } from '../runtime/runtime.js';

export const DEFAULT = JSON.parse(readFileSync(fileURLToPath(new URL('../../../configs/default.json', import.meta.url)), 'utf8'));
export const row = (id: number, marks: number | string = id % 100) => ({ Stud_id: id, Stud_name: `S${id}`, Stud_marks: marks });
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function setup(opts: { autoRecover?: boolean; hb?: number; runtime?: InProcessRuntime; wrap?: (r: InProcessRuntime) => ServerRuntime; extra?: Partial<ClusterOptions> } = {}) {
  const runtime = opts.runtime ?? new InProcessRuntime();
  const cluster = new Cluster({
    runtime: opts.wrap ? opts.wrap(runtime) : runtime,
    client: new HttpShardClient({ timeoutMs: 3000 }),
    log: createLogger('lb-test'),
    heartbeat: { intervalMs: opts.hb ?? 100, timeoutMs: 200, misses: 2 },
    autoRecover: opts.autoRecover ?? true,
    retryBaseMs: 50,
    ...opts.extra,
  });
  const app = createLbApp({ cluster, log: createLogger('lb-test'), maxBody: 64 * 1024 });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  cluster.startHeartbeats();
  const close = async () => cluster.shutdown(true);
  return { runtime, cluster, app, call, close };
}

export type Call = Awaited<ReturnType<typeof setup>>['call'];

/** Polls until pred holds or ms pass; returns whether it held. */
export async function until(pred: () => Promise<boolean> | boolean, ms = 5000, every = 25): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await sleep(every);
  }
  return pred();
}

/** The LB's view of its servers (GET /cluster). */
export async function serverStates(call: Call): Promise<Record<string, string>> {
  const d = (await call('GET', '/cluster')).body as { servers: { name: string; status: string }[] };
  return Object.fromEntries(d.servers.map((s) => [s.name, s.status]));
}

export async function allRows(call: Awaited<ReturnType<typeof setup>>['call']) {
  return (await call('POST', '/read', { Stud_id: { low: 0, high: 16383 } })).body.data as { Stud_id: number; Stud_marks: unknown }[];
}


const SCHEMA = { columns: ['Stud_id', 'Stud_name', 'Stud_marks'], dtypes: ['Number', 'String', 'String'] };

/** An LB over three in-process replicas (Server0..2) of one shard sh1, initialised; its primary and the two others. */
export async function oneShardOfThree(opts: Parameters<typeof setup>[0] = {}) {
  const w = await setup(opts);
  const servers = { Server0: ['sh1'], Server1: ['sh1'], Server2: ['sh1'] };
  const init = await w.call('POST', '/init', { N: 3, schema: SCHEMA, shards: [{ Stud_id_low: 0, Shard_id: 'sh1', Shard_size: 4096 }], servers });
  if (init.status !== 200) throw new Error(`/init answered ${init.status}: ${JSON.stringify(init.body)}`);
  const primary = (await w.call('GET', '/primaries')).body.primaries.sh1 as string;
  const [x, y] = Object.keys(servers).filter((s) => s !== primary);
  return { ...w, primary, x, y };
}

/**
 * The LB goes away (its servers keep running); meanwhile `lost` die with their volumes (the next LB starts them
 * again on nothing: an in-process spawn is a new, empty store) and `back` returns from a pause. A new LB over the
 * same runtime resumes from `meta`.
 */
export async function restartLosingVolumes(w: { cluster: Cluster; runtime: InProcessRuntime }, meta: NonNullable<ClusterOptions['meta']>, lost: string[], back: string) {
  await w.cluster.shutdown(false);
  for (const s of lost) await w.runtime.kill(s);
  w.runtime.resume(back);
  const again = await setup({ runtime: w.runtime, extra: { meta } });
  await again.cluster.resume(meta.load()!);
  return again;
}

/** A /read of keys low..high: its status, body and the Stud_ids it returned. */
export async function readIds(call: Call, low = 0, high = 10) {
  const r = await call('POST', '/read', { Stud_id: { low, high } });
  return { ...r, ids: ((r.body?.data ?? []) as { Stud_id: number }[]).map((d) => d.Stud_id) };
}
