/**
 * `bench --analysis`, after A-4: a shard's primary killed under a steady write load. Measures how long until that
 * shard accepts writes again (the first 200 for one of its keys, among writes sent after the kill) and how many
 * of its acknowledged writes are not readable once the cluster has recovered (must be 0). Without a
 * `GET /primaries` endpoint on the LB (404), one replica of the shard is killed instead, and the result says so.
 */
import type { ShardDef } from '../core/shard-map.js';
import { LbClient } from './driver.js';
import { benchRow, pickKeys } from './workload.js';
import { readAll, replicasIdentical, type Status } from './bench.js';
import { primaryOrReplica } from './chaos-model.js';
import type { PrimaryKillResult } from './report.js';

export interface PrimaryKillDeps {
  url: string;
  crash: (server: string) => Promise<void>;
  progress: (msg: string) => void;
}

export interface PrimaryKillOptions {
  /** writes started per second, whatever their latency (half of them to the victim's shard) */
  ratePerSec: number;
  /** steady writes before the kill */
  steadyMs: number;
  /** the longest wait for the shard to accept writes again */
  maxWaitMs: number;
  /** writes kept going after the shard answers again */
  afterMs: number;
  seed: number;
}

export const PRIMARY_KILL_DEFAULTS: PrimaryKillOptions = { ratePerSec: 200, steadyMs: 2000, maxWaitMs: 30_000, afterMs: 1000, seed: 1 };

interface Sent {
  id: number;
  target: boolean;
  sentAt: number;
  status?: number;
  doneAt?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const inShard = (s: ShardDef, k: number) => k >= s.Stud_id_low && k < s.Stud_id_low + s.Shard_size;

/**
 * The first write of the shard acknowledged among those sent at or after `killAt`: when it was answered, or
 * undefined when none was. Pure.
 */
export function firstAckAfter(sent: readonly Sent[], killAt: number): number | undefined {
  let best: number | undefined;
  for (const s of sent) if (s.target && s.sentAt >= killAt && s.status === 200 && (best === undefined || s.doneAt! < best)) best = s.doneAt;
  return best;
}

/** Runs the measurement on a freshly initialised cluster `st` (its shards empty of the keys it writes). */
export async function runPrimaryKill(d: PrimaryKillDeps, st: Status, o: PrimaryKillOptions = PRIMARY_KILL_DEFAULTS, label = 'primary kill'): Promise<PrimaryKillResult> {
  const client = new LbClient(d.url, 256);
  try {
    const shards = [...st.shards].sort((a, b) => a.Shard_id.localeCompare(b.Shard_id));
    const target = shards[0];
    const replicas = Object.entries(st.servers).filter(([, sh]) => sh.includes(target.Shard_id)).map(([s]) => s);
    const existing = await readAll(client, st);
    const totalMs = o.steadyMs + o.maxWaitMs + o.afterMs;
    const perSide = Math.ceil((o.ratePerSec / 2) * (totalMs / 1000)) + 10;
    const free = (want: (k: number) => boolean) => {
      const space: number[] = [];
      for (const s of shards) for (let k = s.Stud_id_low; k < s.Stud_id_low + s.Shard_size; k++) if (want(k) && !existing.has(k)) space.push(k);
      return pickKeys(space, Math.min(perSide, space.length), o.seed);
    };
    const targetKeys = free((k) => inShard(target, k));
    const otherKeys = free((k) => !inShard(target, k));

    const sent: Sent[] = [];
    const inflight = new Set<Promise<void>>();
    let stop = false;
    const write = (id: number, isTarget: boolean) => {
      const s: Sent = { id, target: isTarget, sentAt: Date.now() };
      sent.push(s);
      const p = client
        .send('POST', '/write', JSON.stringify({ data: [benchRow(id)] }))
        .then((r) => void (s.status = r.status))
        .catch(() => void (s.status = 0))
        .finally(() => {
          s.doneAt = Date.now();
          inflight.delete(p);
        });
      inflight.add(p);
    };
    // open loop: a write every 1/rate s whatever the answers take, alternating the shard and the rest
    const loop = (async () => {
      const t0 = Date.now();
      const every = 1000 / o.ratePerSec;
      let ti = 0;
      let oi = 0;
      for (let i = 0; !stop && Date.now() - t0 < totalMs + 5000; i++) {
        const due = t0 + i * every - Date.now();
        if (due > 0) await sleep(due);
        if (i % 2 === 0 && ti < targetKeys.length) write(targetKeys[ti++], true);
        else if (oi < otherKeys.length) write(otherKeys[oi++], false);
        else if (ti >= targetKeys.length) break;
      }
    })();

    await sleep(o.steadyMs);
    const victim = primaryOrReplica(target.Shard_id, replicas, await client.send('GET', '/primaries'));
    if (victim.role === 'replica') d.progress(`primary kill: this LB has no /primaries endpoint; killing ${victim.server}, a replica of ${target.Shard_id}, instead`);
    const killAt = Date.now();
    await d.crash(victim.server);
    d.progress(`killed ${victim.server}, ${victim.role === 'primary' ? 'the primary' : 'a replica'} of ${target.Shard_id}, under ${o.ratePerSec} writes/s; waiting for ${target.Shard_id} to accept writes again`);
    let writableAt: number | undefined;
    while (Date.now() - killAt < o.maxWaitMs && (writableAt = firstAckAfter(sent, killAt)) === undefined) await sleep(5);
    await sleep(writableAt === undefined ? 0 : o.afterMs);
    stop = true;
    await loop;
    await Promise.all([...inflight]);

    // recovery, then every acknowledged write of the shard must read back
    d.progress('load stopped; waiting for every replica to serve again before reading the shard back');
    const healthyBy = Date.now() + 90_000;
    while (Date.now() < healthyBy) {
      const c = JSON.parse((await client.send('GET', '/cluster').catch(() => ({ text: '{}' }))).text) as { servers?: { status: string }[] };
      if (c.servers?.length && c.servers.every((x) => x.status === 'serving')) break;
      await sleep(100);
    }
    const after = await readAll(client, st);
    const acked = sent.filter((s) => s.target && s.status === 200);
    const afterKill = sent.filter((s) => s.target && s.sentAt >= killAt && (writableAt === undefined || s.sentAt < writableAt));
    return {
      label,
      shard: target.Shard_id,
      server: victim.server,
      role: victim.role,
      ratePerSec: o.ratePerSec,
      writesAcked: acked.length,
      writesFailed: sent.filter((s) => s.target && s.status !== 200).length,
      writesUntilWritable: afterKill.length,
      killToWritableMs: writableAt === undefined ? -1 : writableAt - killAt,
      rowsLost: acked.filter((s) => !after.has(s.id)).length,
      replicasIdentical: await replicasIdentical(client, JSON.parse((await client.send('GET', '/status')).text) as Status),
    };
  } finally {
    await client.close();
  }
}
