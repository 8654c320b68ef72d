/**
 * The chaos run's model of what the cluster must hold: per key, what was acknowledged, what is still in flight,
 * and what became indeterminate (a request that failed or timed out may or may not have landed). Pure: the
 * chaos driver feeds it events with timestamps; it answers "is this read right?" and the final audit.
 */

export interface KeyState {
  /** last acknowledged state: present with this version, or deleted */
  present: boolean;
  version: number;
  /** an acknowledged delete is its last state */
  deleted: boolean;
  /** a failed op left it unknown: excluded from every check */
  indeterminate: boolean;
  inflight: number;
  /** when the last op on it ended (ack or failure) */
  lastEnd: number;
}

export interface ChaosTally {
  ackedWrites: number;
  ackedUpdates: number;
  ackedDeletes: number;
  indeterminate: number;
  reads: number;
  readsChecked: number;
  staleReads: number;
  staleExamples: string[];
}

export type RowValue = { Stud_id: number; Stud_name: string; Stud_marks: number };

export function rowAt(id: number, version: number): RowValue {
  return { Stud_id: id, Stud_name: version ? `S${id}v${version}` : `S${id}`, Stud_marks: (id + version) % 100 };
}

export class ChaosModel {
  readonly keys = new Map<number, KeyState>();
  /** every key any writer ever sent */
  readonly attempted = new Set<number>();
  readonly tally: ChaosTally = { ackedWrites: 0, ackedUpdates: 0, ackedDeletes: 0, indeterminate: 0, reads: 0, readsChecked: 0, staleReads: 0, staleExamples: [] };

  begin(id: number, isWrite = false): KeyState {
    if (isWrite) this.attempted.add(id);
    let k = this.keys.get(id);
    if (!k) this.keys.set(id, (k = { present: false, version: 0, deleted: false, indeterminate: false, inflight: 0, lastEnd: 0 }));
    k.inflight++;
    return k;
  }

  /** An op ended: ok with the new state, or failed (indeterminate). */
  end(id: number, now: number, outcome: { ok: true; present: boolean; version: number } | { ok: false; refused?: boolean }): void {
    const k = this.keys.get(id)!;
    k.inflight--;
    k.lastEnd = now;
    if (outcome.ok) {
      k.present = outcome.present;
      k.deleted = !outcome.present;
      k.version = outcome.version;
    } else if (!outcome.refused) {
      // a 5xx or a broken connection: it may have landed; a 4xx refusal changed nothing
      k.indeterminate = true;
      this.tally.indeterminate++;
    }
  }

  /** Keys an updater or deleter may act on: acknowledged present, settled, determinate. */
  settledPresent(): number[] {
    const out: number[] = [];
    for (const [id, k] of this.keys) if (k.present && !k.indeterminate && k.inflight === 0) out.push(id);
    return out;
  }

  /**
   * Checks one read of [low, high] that started at `t0`, against the keys whose state was settled before the
   * read began and stayed so (no op in flight now, none ended after t0). A missing acknowledged row, a row
   * shown with an older version, or a deleted row shown is a stale read.
   */
  checkRead(low: number, high: number, t0: number, rows: readonly Record<string, unknown>[]): void {
    this.tally.reads++;
    const got = new Map<number, Record<string, unknown>>();
    for (const r of rows) got.set(r.Stud_id as number, r);
    let bad: string | undefined;
    let checked = false;
    for (let id = low; id <= high && !bad; id++) {
      const k = this.keys.get(id);
      if (!k || k.indeterminate || k.inflight > 0 || k.lastEnd >= t0) continue;
      checked = true;
      const r = got.get(id);
      if (k.present && !r) bad = `acknowledged row ${id} missing`;
      else if (k.deleted && r) bad = `deleted row ${id} still shown`;
      else if (k.present && r) {
        const want = rowAt(id, k.version);
        if (r.Stud_name !== want.Stud_name || r.Stud_marks !== want.Stud_marks) bad = `row ${id} shows ${String(r.Stud_name)}, acknowledged ${want.Stud_name}`;
      }
    }
    if (checked) this.tally.readsChecked++;
    if (bad) {
      this.tally.staleReads++;
      if (this.tally.staleExamples.length < 5) this.tally.staleExamples.push(bad);
    }
  }

  /** The final audit of everything the cluster holds. */
  audit(all: ReadonlyMap<number, Record<string, unknown>>): { lost: number; stale: number; deletesLost: number; neverWritten: number; examples: string[] } {
    let lost = 0;
    let stale = 0;
    let deletesLost = 0;
    let neverWritten = 0;
    const examples: string[] = [];
    const note = (s: string) => examples.length < 8 && examples.push(s);
    for (const [id, k] of this.keys) {
      if (k.indeterminate) continue;
      const r = all.get(id);
      if (k.present && !r) {
        lost++;
        note(`acknowledged row ${id} is gone`);
      } else if (k.present && r) {
        const want = rowAt(id, k.version);
        if (r.Stud_name !== want.Stud_name || r.Stud_marks !== want.Stud_marks) {
          stale++;
          note(`row ${id} holds ${String(r.Stud_name)}, acknowledged ${want.Stud_name}`);
        }
      } else if (k.deleted && r) {
        deletesLost++;
        note(`deleted row ${id} is back`);
      }
    }
    for (const id of all.keys())
      if (!this.attempted.has(id)) {
        neverWritten++;
        note(`row ${id} was never written`);
      }
    return { lost, stale, deletesLost, neverWritten, examples };
  }
}

/**
 * What a fault does (Jepsen's "nemeses"): `kill` SIGKILLs / `docker kill`s a random serving server; `pause`
 * SIGSTOPs / `docker pause`s one (or every replica of one shard) for a while, then resumes it; `kill-primary` kills
 * the primary of a random shard (a random replica while the LB has no primaries); `restart-all` kills every server
 * and the LB at once and brings the cluster back as `shardctl up` does; `lb` kills the LB and restarts it.
 */
export type Nemesis = 'kill' | 'pause' | 'kill-primary' | 'restart-all' | 'lb';
export const NEMESES: readonly Nemesis[] = ['kill', 'pause', 'kill-primary', 'restart-all', 'lb'];

/** The shortest and longest pause (a seeded duration in between): long enough to be declared dead, short enough to end. */
export const PAUSE_MIN_MS = 1000;
export const PAUSE_MAX_MS = 6000;
/** No schedule holds more faults than this, whatever the duration and the interval. */
export const MAX_FAULTS = 1000;

export interface Fault {
  atMs: number;
  nemesis: Nemesis;
  /** chooses the victim (a server, or a shard) among those alive at that moment: index = floor(pick * count) */
  pick: number;
  /** pause: how long the victims stay stopped */
  pauseMs?: number;
  /** pause: every replica of one shard (the shard unavailable meanwhile) rather than one server */
  wholeShard?: boolean;
}

/**
 * The fault schedule: one fault every `everyMs` (± a quarter, seeded), never in the first second or the last
 * 20 % of the run (so recovery can finish before the audit), at most MAX_FAULTS. The nemeses come in rounds,
 * each round a seeded shuffle of `nemeses`, so every nemesis runs once per round whatever the seed; a pause lasts
 * PAUSE_MIN_MS..PAUSE_MAX_MS and takes a whole shard with probability 1/3. Same `rnd` sequence, same schedule.
 */
export function planFaults(durationMs: number, everyMs: number, nemeses: readonly Nemesis[], rnd: () => number): Fault[] {
  const out: Fault[] = [];
  if (nemeses.length === 0 || !(everyMs > 0)) return out;
  let round: Nemesis[] = [];
  let t = 1000 + everyMs * (0.5 + rnd() * 0.5);
  while (t < durationMs * 0.8 && out.length < MAX_FAULTS) {
    if (round.length === 0) round = shuffle(nemeses, rnd);
    const nemesis = round.shift()!;
    const f: Fault = { atMs: Math.round(t), nemesis, pick: rnd() };
    if (nemesis === 'pause') {
      f.pauseMs = Math.round(PAUSE_MIN_MS + rnd() * (PAUSE_MAX_MS - PAUSE_MIN_MS));
      f.wholeShard = rnd() < 1 / 3;
    }
    out.push(f);
    t += everyMs * (0.75 + rnd() * 0.5);
  }
  return out;
}

/** A seeded Fisher-Yates shuffle (a copy). */
function shuffle<T>(xs: readonly T[], rnd: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * `--nemesis kill,pause,...` (and `--kill-lb`, which adds `lb`): the distinct nemeses in the order given, or the
 * reason the list is refused.
 */
export function parseNemeses(list: string | undefined, killLb = false): { nemeses: Nemesis[] } | { error: string } {
  const names = (list ?? 'kill').split(',').map((x) => x.trim().toLowerCase()).filter(Boolean);
  if (killLb) names.push('lb');
  const out: Nemesis[] = [];
  for (const n of names) {
    if (!(NEMESES as readonly string[]).includes(n)) return { error: `--nemesis: no nemesis ${n}; choose from ${NEMESES.join(', ')} (comma-separated)` };
    if (!out.includes(n as Nemesis)) out.push(n as Nemesis);
  }
  if (out.length === 0) return { error: `--nemesis needs at least one of ${NEMESES.join(', ')}` };
  return { nemeses: out };
}

/**
 * The victim of a primary kill on `shard`: its primary as the LB's `GET /primaries` answer names it, or, when the
 * LB answers 404 there (no primaries yet), the replica `pick` chooses among `replicas` (sorted by name). Any other
 * answer, or a 200 naming no primary for the shard, throws. Pure: the answer comes in as data.
 */
export function primaryOrReplica(
  shard: string,
  replicas: readonly string[],
  answer: { status: number; text: string },
  pick = 0,
): { server: string; role: 'primary' | 'replica' } {
  if (answer.status === 200) {
    const p = (JSON.parse(answer.text) as { primaries?: Record<string, string | null> }).primaries?.[shard];
    if (!p) throw new Error(`GET /primaries names no primary for ${shard}`);
    return { server: p, role: 'primary' };
  }
  if (answer.status !== 404) throw new Error(`GET /primaries answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  if (!replicas.length) throw new Error(`shard ${shard} has no replica`);
  const sorted = [...replicas].sort();
  return { server: sorted[Math.min(sorted.length - 1, Math.floor(pick * sorted.length))], role: 'replica' };
}
