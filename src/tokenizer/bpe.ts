/**
 * The BPE model and its JavaScript encoder.
 *
 * A model is a list of token byte strings (ids) and an ordered list of merges (pairs of ids). A piece
 * of text is encoded by starting from one token per byte and repeatedly applying the merge of lowest
 * rank among adjacent pairs (leftmost first on ties): the rule of GPT-2, tiktoken and Hugging Face.
 */

/** A merge: ids `a` and `b` become id `result`; merges apply in list order (rank = index). */
export interface Merge {
  readonly a: number;
  readonly b: number;
  readonly result: number;
}

export interface BpeModel {
  /** Bytes of each id; undefined for ids that are not BPE tokens (special tokens, gaps). */
  readonly tokens: ReadonlyArray<Uint8Array | undefined>;
  readonly merges: readonly Merge[];
  /** id of each single byte. */
  readonly byteIds: Int32Array;
  /**
   * Hugging Face's `ignore_merges`: a piece that is itself a vocabulary token becomes that token
   * without running the merges (Llama 3 style).
   */
  readonly ignoreMerges: boolean;
}

/**
 * Open-addressing hash table from an id pair to (rank, result). Typed arrays and an inlined
 * probe keep lookups cheap in the encoder's inner loop.
 */
export class PairTable {
  readonly mask: number;
  readonly keyA: Int32Array;
  readonly keyB: Int32Array;
  readonly rank: Int32Array;
  readonly result: Int32Array;

  /** `capacity`: the most merges that will be inserted (the table never grows). */
  constructor(merges: readonly Merge[], capacity = merges.length) {
    let cap = 16;
    while (cap < Math.max(capacity, merges.length) * 2) cap *= 2;
    this.mask = cap - 1;
    this.keyA = new Int32Array(cap).fill(-1);
    this.keyB = new Int32Array(cap);
    this.rank = new Int32Array(cap);
    this.result = new Int32Array(cap);
    for (let r = 0; r < merges.length; r++) this.insert(merges[r].a, merges[r].b, r, merges[r].result);
  }

  /** Adds a merge; a pair already present keeps its first (lowest) rank, as Hugging Face does. */
  insert(a: number, b: number, rank: number, result: number): void {
    let h = pairHash(a, b) & this.mask;
    for (;;) {
      const ka = this.keyA[h];
      if (ka === -1) {
        this.keyA[h] = a;
        this.keyB[h] = b;
        this.rank[h] = rank;
        this.result[h] = result;
        return;
      }
      if (ka === a && this.keyB[h] === b) return;
      h = (h + 1) & this.mask;
    }
  }

  /** Slot of the pair, or -1. */
  find(a: number, b: number): number {
    const keyA = this.keyA;
    let h = pairHash(a, b) & this.mask;
    for (;;) {
      const ka = keyA[h];
      if (ka === a && this.keyB[h] === b) return h;
      if (ka === -1) return -1;
      h = (h + 1) & this.mask;
    }
  }
}

export function pairHash(a: number, b: number): number {
  return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
}

const NO_RANK = 0x7fffffff;

/**
 * BPE-encodes one piece (given as bytes) and appends the ids to `out` starting at `n`;
 * returns the new length. `out` must have room for `len` more ids.
 */
export function bpeEncodeBytes(
  table: PairTable,
  byteIds: Int32Array,
  bytes: Uint8Array,
  len: number,
  out: Uint32Array,
  n: number,
): number {
  if (len === 1) {
    out[n] = byteIds[bytes[0]];
    return n + 1;
  }
  if (len > 48) return bpeEncodeLong(table, byteIds, bytes, len, out, n);
  // Short pieces: quadratic scan over a small array is faster than a heap.
  const parts = scratchParts(len);
  const ranks = scratchRanks(len);
  for (let i = 0; i < len; i++) parts[i] = byteIds[bytes[i]];
  let count = len;
  for (let i = 0; i < count - 1; i++) {
    const s = table.find(parts[i], parts[i + 1]);
    ranks[i] = s < 0 ? NO_RANK : table.rank[s];
  }
  while (count > 1) {
    let best = NO_RANK;
    let at = -1;
    for (let i = 0; i < count - 1; i++) {
      if (ranks[i] < best) {
        best = ranks[i];
        at = i;
      }
    }
    if (at < 0) break;
    const s = table.find(parts[at], parts[at + 1]);
    parts[at] = table.result[s];
    for (let i = at + 1; i < count - 1; i++) {
      parts[i] = parts[i + 1];
      ranks[i] = ranks[i + 1];
    }
    count--;
    if (at > 0) {
      const sl = table.find(parts[at - 1], parts[at]);
      ranks[at - 1] = sl < 0 ? NO_RANK : table.rank[sl];
    }
    if (at < count - 1) {
      const sr = table.find(parts[at], parts[at + 1]);
      ranks[at] = sr < 0 ? NO_RANK : table.rank[sr];
    }
  }
  for (let i = 0; i < count; i++) out[n + i] = parts[i];
  return n + count;
}

let partsBuf = new Int32Array(64);
let ranksBuf = new Int32Array(64);
function scratchParts(len: number): Int32Array {
  if (partsBuf.length < len) partsBuf = new Int32Array(len * 2);
  return partsBuf;
}
function scratchRanks(len: number): Int32Array {
  if (ranksBuf.length < len) ranksBuf = new Int32Array(len * 2);
  return ranksBuf;
}

/**
 * O(n log n) BPE for long pieces (long runs of one character, base64 blobs): a linked list of
 * parts and a min-heap of candidate merges keyed by (rank, position).
 */
function bpeEncodeLong(
  table: PairTable,
  byteIds: Int32Array,
  bytes: Uint8Array,
  len: number,
  out: Uint32Array,
  n: number,
): number {
  const sym = new Int32Array(len);
  const next = new Int32Array(len);
  const prev = new Int32Array(len);
  for (let i = 0; i < len; i++) {
    sym[i] = byteIds[bytes[i]];
    next[i] = i + 1 < len ? i + 1 : -1;
    prev[i] = i - 1;
  }
  // Heap entries: rank and position, plus the pair at push time to detect stale entries.
  const heap = new MinHeap(len);
  const pushPair = (i: number): void => {
    const j = next[i];
    if (j < 0) return;
    const s = table.find(sym[i], sym[j]);
    if (s >= 0) heap.push(table.rank[s], i, sym[i], sym[j]);
  };
  for (let i = 0; i < len - 1; i++) pushPair(i);
  while (heap.size > 0) {
    const rank = heap.topRank();
    const i = heap.topPos();
    const a = heap.topA();
    const b = heap.topB();
    heap.pop();
    if (sym[i] !== a) continue;
    const j = next[i];
    if (j < 0 || sym[j] !== b) continue;
    const s = table.find(a, b);
    if (s < 0 || table.rank[s] !== rank) continue;
    sym[i] = table.result[s];
    sym[j] = -1;
    const k = next[j];
    next[i] = k;
    if (k >= 0) prev[k] = i;
    if (prev[i] >= 0) pushPair(prev[i]);
    pushPair(i);
  }
  for (let i = 0; i >= 0; i = next[i]) out[n++] = sym[i];
  return n;
}

/** Min-heap of (rank, pos) with a payload pair; ties by position so the leftmost merge wins. */
class MinHeap {
  private rank: Int32Array;
  private pos: Int32Array;
  private pa: Int32Array;
  private pb: Int32Array;
  size = 0;

  constructor(cap: number) {
    this.rank = new Int32Array(Math.max(cap, 4));
    this.pos = new Int32Array(Math.max(cap, 4));
    this.pa = new Int32Array(Math.max(cap, 4));
    this.pb = new Int32Array(Math.max(cap, 4));
  }

  private less(i: number, j: number): boolean {
    return this.rank[i] < this.rank[j] || (this.rank[i] === this.rank[j] && this.pos[i] < this.pos[j]);
  }

  private swap(i: number, j: number): void {
    let t = this.rank[i];
    this.rank[i] = this.rank[j];
    this.rank[j] = t;
    t = this.pos[i];
    this.pos[i] = this.pos[j];
    this.pos[j] = t;
    t = this.pa[i];
    this.pa[i] = this.pa[j];
    this.pa[j] = t;
    t = this.pb[i];
    this.pb[i] = this.pb[j];
    this.pb[j] = t;
  }

  push(rank: number, pos: number, a: number, b: number): void {
    if (this.size === this.rank.length) {
      const grow = (x: Int32Array): Int32Array => {
        const y = new Int32Array(x.length * 2);
        y.set(x);
        return y;
      };
      this.rank = grow(this.rank);
      this.pos = grow(this.pos);
      this.pa = grow(this.pa);
      this.pb = grow(this.pb);
    }
    let i = this.size++;
    this.rank[i] = rank;
    this.pos[i] = pos;
    this.pa[i] = a;
    this.pb[i] = b;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  topRank(): number {
    return this.rank[0];
  }
  topPos(): number {
    return this.pos[0];
  }
  topA(): number {
    return this.pa[0];
  }
  topB(): number {
    return this.pb[0];
  }

  pop(): void {
    const last = --this.size;
    if (last === 0) return;
    this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && this.less(l, m)) m = l;
      if (r < this.size && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}
