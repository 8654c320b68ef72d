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

export interface Fault {
  atMs: number;
  target: 'server' | 'lb';
  /** chooses the victim among the servers alive at that moment: index = floor(pick * count) */
  pick: number;
}

/**
 * The fault schedule: one fault every `everyMs` (± a quarter, seeded), never in the first second or the last
 * 20 % of the run (so recovery can finish before the audit); with `killLb`, every third fault hits the LB.
 */
export function planFaults(seed: number, durationMs: number, everyMs: number, killLb: boolean, rnd: () => number): Fault[] {
  const out: Fault[] = [];
  void seed;
  let t = 1000 + everyMs * (0.5 + rnd() * 0.5);
  let n = 0;
  while (t < durationMs * 0.8) {
    n++;
    out.push({ atMs: Math.round(t), target: killLb && n % 3 === 0 ? 'lb' : 'server', pick: rnd() });
    t += everyMs * (0.75 + rnd() * 0.5);
  }
  return out;
}
