/**
 * A consistent-hash ring for ONE shard's replicas (API.md, "Consistent hashing"): `slots` slots, `vnodes` virtual
 * nodes per server, collisions resolved by linear probing, a request served by the next server slot clockwise.
 * Pure: the hash functions are injected, so tests can use ones with obvious outputs.
 */
export interface RingHash {
  /** H(i): where request i lands, before `mod slots`. */
  request(i: number): number;
  /** Φ(i, j): where virtual node j of server i lands, before `mod slots`. */
  vnode(server: number, j: number): number;
}

/** The assignment's functions: H(i) = i² + 2i + 17, Φ(i, j) = i² + j² + 2j + 25. */
export const ASSIGNMENT_HASH: RingHash = {
  request: (i) => i * i + 2 * i + 17,
  vnode: (i, j) => i * i + j * j + 2 * j + 25,
};

/** murmur3's 32-bit finaliser: every input bit flips about half the output bits. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The default: the same shape as the assignment's functions, but well spread (the assignment invites better ones). */
export const MIX_HASH: RingHash = {
  request: (i) => fmix32(i ^ 0x5bd1e995),
  vnode: (i, j) => fmix32(Math.imul(fmix32(i + 0x27d4eb2f), 31) + j),
};

export const HASHES: Record<string, RingHash> = { mix: MIX_HASH, assignment: ASSIGNMENT_HASH };

/** The number a server is hashed as: the digits of its name (Server12 -> 12), else an FNV-1a hash of the name. */
export function serverNumber(name: string): number {
  const m = /(\d+)$/.exec(name);
  if (m && m[1].length <= 9) return Number(m[1]);
  let h = 0x811c9dc5;
  for (let k = 0; k < name.length; k++) h = Math.imul(h ^ name.charCodeAt(k), 0x01000193);
  return h >>> 0;
}

export interface RingOptions {
  slots?: number;
  vnodes?: number;
  hash?: RingHash;
}

export class HashRing {
  readonly slots: number;
  readonly vnodes: number;
  private readonly hash: RingHash;
  /** slot -> member index, -1 when empty */
  private readonly table: Int32Array;
  /** slot -> member index of the first occupied slot at or after it (clockwise), -1 when the ring is empty */
  private readonly owner: Int32Array;
  private names: (string | undefined)[] = [];

  constructor(opts: RingOptions = {}) {
    this.slots = opts.slots ?? 512;
    this.vnodes = opts.vnodes ?? Math.max(1, Math.round(Math.log2(this.slots)));
    this.hash = opts.hash ?? MIX_HASH;
    if (!Number.isInteger(this.slots) || this.slots < 1) throw new RangeError('slots must be a positive integer');
    this.table = new Int32Array(this.slots).fill(-1);
    this.owner = new Int32Array(this.slots).fill(-1);
  }

  /** Current members, in the order they were added. */
  members(): string[] {
    return this.names.filter((n): n is string => n !== undefined);
  }

  has(name: string): boolean {
    return this.names.includes(name);
  }

  get size(): number {
    return this.members().length;
  }

  /** Places `name`'s virtual nodes; probing clockwise past occupied slots. No-op if already present. */
  add(name: string, num = serverNumber(name)): void {
    if (this.has(name)) return;
    let idx = this.names.indexOf(undefined);
    if (idx < 0) idx = this.names.push(name) - 1;
    else this.names[idx] = name;
    for (let j = 0; j < this.vnodes; j++) {
      let s = mod(this.hash.vnode(num, j), this.slots);
      let probes = 0;
      while (this.table[s] !== -1 && probes < this.slots) {
        s = (s + 1) % this.slots;
        probes++;
      }
      if (probes >= this.slots) break; // ring full: fewer virtual nodes for this server
      this.table[s] = idx;
    }
    this.rebuild();
  }

  /** Frees `name`'s slots. Other servers' slots do not move, so their requests keep their owner. */
  remove(name: string): void {
    const idx = this.names.indexOf(name);
    if (idx < 0) return;
    for (let s = 0; s < this.slots; s++) if (this.table[s] === idx) this.table[s] = -1;
    this.names[idx] = undefined;
    this.rebuild();
  }

  /** The server that serves request `id`: the first server slot clockwise from H(id) mod slots. */
  get(id: number): string | undefined {
    const o = this.owner[mod(this.hash.request(id), this.slots)];
    return o < 0 ? undefined : this.names[o];
  }

  /** The slot request `id` lands on (before walking clockwise to a server slot). */
  slotOf(id: number): number {
    return mod(this.hash.request(id), this.slots);
  }

  /** The server a request landing on `slot` goes to: the first server slot clockwise from it. */
  ownerOfSlot(slot: number): string | undefined {
    const o = this.owner[slot];
    return o === undefined || o < 0 ? undefined : this.names[o];
  }

  /** The slot each server's virtual nodes occupy (for tests and `status`). */
  layout(): Map<string, number[]> {
    const m = new Map<string, number[]>();
    for (let s = 0; s < this.slots; s++) {
      const i = this.table[s];
      if (i < 0) continue;
      const n = this.names[i]!;
      if (!m.has(n)) m.set(n, []);
      m.get(n)!.push(s);
    }
    return m;
  }

  private rebuild(): void {
    // Walk twice round the ring backwards so every slot learns the next occupied slot clockwise in O(slots).
    let cur = -1;
    for (let k = 2 * this.slots - 1; k >= 0; k--) {
      const s = k % this.slots;
      if (this.table[s] !== -1) cur = this.table[s];
      if (k < this.slots) this.owner[s] = cur;
    }
  }
}

function mod(v: number, m: number): number {
  // The assignment's H grows as i²: past 2^53 precision is lost, so reduce through BigInt-free modular steps.
  if (!Number.isSafeInteger(v)) v = Math.floor(v % m);
  const r = v % m;
  return r < 0 ? r + m : r;
}
