/**
 * Deduplication.
 *
 * exact: SHA-1 of the document with whitespace runs collapsed (`dedupForm`); the first
 *   64 bits go into a compact hash set. The first occurrence (in input order) is kept.
 * near:  MinHash over word 5-gram shingles (lower-cased; words are runs of letters and
 *   digits), 128 values by one-permutation hashing with optimal densification, banded
 *   LSH with 16 bands × 8 rows. A band match makes an earlier kept document a candidate;
 *   it is a near duplicate when the estimated Jaccard similarity of the two shingle sets
 *   (from 8-bit fingerprints of the 128 values) is at least 0.8. The chance that a pair
 *   at similarity s becomes a candidate is 1 − (1 − s^8)^16: 0.95 at 0.8, 0.994 at 0.85,
 *   0.24 at 0.6. `near` also removes exact duplicates.
 */
import { createHash } from 'node:crypto';
import { dedupForm } from './clean.js';

export const NUM_PERM = 128;
export const BANDS = 16;
export const ROWS = 8;
export const SHINGLE_WORDS = 5;
export const NEAR_THRESHOLD = 0.8;

/** murmur3's 32-bit finalizer. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The 64-bit exact-dedup hash of a document as [hi, lo]. */
export function exactHash(text: string): [number, number] {
  const d = createHash('sha1').update(dedupForm(text)).digest();
  return [d.readUInt32LE(0), d.readUInt32LE(4)];
}

/** Open-addressing hash table from 64-bit keys (hi, lo) to int32 values; linear probing. */
export class U64Map {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private val: Int32Array;
  private used: Uint8Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.val = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
  }

  private slot(hi: number, lo: number): number {
    let i = fmix32((hi ^ Math.imul(lo, 0x9e3779b1)) >>> 0) & this.mask;
    while (this.used[i] && (this.hi[i] !== hi || this.lo[i] !== lo)) i = (i + 1) & this.mask;
    return i;
  }

  /** The value for the key, or -1. */
  get(hi: number, lo: number): number {
    const i = this.slot(hi >>> 0, lo >>> 0);
    return this.used[i] ? this.val[i] : -1;
  }

  /** Sets the value unless the key is present; returns true when it was inserted. */
  setIfAbsent(hi: number, lo: number, value: number): boolean {
    hi >>>= 0;
    lo >>>= 0;
    const i = this.slot(hi, lo);
    if (this.used[i]) return false;
    this.used[i] = 1;
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.val[i] = value;
    this.size++;
    if (this.size * 2 > this.mask + 1) this.grow();
    return true;
  }

  private grow(): void {
    const { hi, lo, val, used } = this;
    const cap = (this.mask + 1) * 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.val = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    for (let i = 0; i < used.length; i++) {
      if (!used[i]) continue;
      const j = this.slot(hi[i], lo[i]);
      this.used[j] = 1;
      this.hi[j] = hi[i];
      this.lo[j] = lo[i];
      this.val[j] = val[i];
    }
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.used.length * 13;
  }
}

const isWordCode = (c: number): boolean =>
  (c >= 48 && c <= 57) ||
  (c >= 97 && c <= 122) ||
  (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && !(c >= 0x2000 && c <= 0x206f) && !(c >= 0x3000 && c <= 0x303f) &&
    c !== 0xfeff && c !== 0xa0);

/**
 * Near-dedup keys of a document: 16 band hashes into `bands` and 128 fingerprint bytes
 * into `fp` (at the given offsets). Returns false when the document has no words (such
 * documents are only deduplicated exactly).
 */
export function nearKeys(
  text: string,
  bands: Uint32Array,
  bandOff: number,
  fp: Uint8Array,
  fpOff: number,
  scratch: Uint32Array = new Uint32Array(NUM_PERM + SHINGLE_WORDS),
): boolean {
  const s = text.toLowerCase();
  const mins = scratch.subarray(0, NUM_PERM);
  const ring = scratch.subarray(NUM_PERM, NUM_PERM + SHINGLE_WORDS);
  mins.fill(0xffffffff);
  let filled = 0; // number of non-empty bins
  const filledBins = new Uint8Array(NUM_PERM);
  let words = 0;
  let h = 0;
  let inWord = false;
  const addShingle = (sh: number): void => {
    const bin = sh >>> 25;
    const v = fmix32((sh ^ 0x5bd1e995) >>> 0);
    if (!filledBins[bin]) {
      filledBins[bin] = 1;
      filled++;
      mins[bin] = v;
    } else if (v < mins[bin]) mins[bin] = v;
  };
  const shingleHash = (): number => {
    let x = 0x9747b28c;
    for (let k = 0; k < SHINGLE_WORDS; k++) {
      x = Math.imul(x ^ ring[(words - SHINGLE_WORDS + k) % SHINGLE_WORDS], 0x5bd1e995);
      x ^= x >>> 15;
    }
    return fmix32(x >>> 0);
  };
  const endWord = (): void => {
    ring[words % SHINGLE_WORDS] = fmix32(h >>> 0);
    words++;
    if (words >= SHINGLE_WORDS) addShingle(shingleHash());
    h = 0;
    inWord = false;
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isWordCode(c)) {
      if (!inWord) {
        inWord = true;
        h = 0x811c9dc5;
      }
      h = Math.imul(h ^ c, 0x01000193);
    } else if (inWord) {
      endWord();
    }
  }
  if (inWord) endWord();
  if (words === 0) return false;
  if (words < SHINGLE_WORDS) {
    // One shingle: all the words.
    let x = 0x9747b28c ^ words;
    for (let k = 0; k < words; k++) x = Math.imul(x ^ ring[k], 0x5bd1e995) ^ (x >>> 15);
    addShingle(fmix32(x >>> 0));
  }
  // Optimal densification: an empty bin takes the value of the first filled bin its own
  // seeded probe sequence meets, so two documents with equal filled bins fill the same way.
  if (filled < NUM_PERM) {
    for (let b = 0; b < NUM_PERM; b++) {
      if (filledBins[b]) continue;
      for (let attempt = 1; ; attempt++) {
        const j = fmix32((Math.imul(b + 1, 0x9e3779b1) ^ Math.imul(attempt, 0x85ebca77)) >>> 0) & (NUM_PERM - 1);
        if (filledBins[j]) {
          mins[b] = mins[j];
          break;
        }
      }
    }
  }
  for (let band = 0; band < BANDS; band++) {
    let x = Math.imul(band + 1, 0x27d4eb2f);
    for (let r = 0; r < ROWS; r++) {
      x = Math.imul(x ^ mins[band * ROWS + r], 0x5bd1e995);
      x ^= x >>> 13;
    }
    bands[bandOff + band] = fmix32(x >>> 0);
  }
  for (let k = 0; k < NUM_PERM; k++) {
    const v = mins[k];
    fp[fpOff + k] = (v ^ (v >>> 8) ^ (v >>> 16) ^ (v >>> 24)) & 0xff;
  }
  return true;
}

/** Estimated Jaccard similarity from two 128-byte fingerprints (8-bit MinHash). */
export function estimateJaccard(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  let same = 0;
  for (let k = 0; k < NUM_PERM; k++) if (a[aOff + k] === b[bOff + k]) same++;
  const p = same / NUM_PERM;
  return Math.max(0, (p - 1 / 256) / (1 - 1 / 256));
}

/** The LSH index of kept documents for near dedup. */
export class NearIndex {
  private readonly bandMap = new U64Map(4096);
  private fps = new Uint8Array(NUM_PERM * 1024);
  private count = 0;

  constructor(private readonly threshold = NEAR_THRESHOLD) {}

  /** The kept document this one nearly duplicates, or -1. */
  find(bands: Uint32Array, bandOff: number, fp: Uint8Array, fpOff: number): number {
    let last = -1;
    for (let b = 0; b < BANDS; b++) {
      const o = this.bandMap.get(b, bands[bandOff + b]);
      if (o < 0 || o === last) continue;
      last = o;
      if (estimateJaccard(fp, fpOff, this.fps, o * NUM_PERM) >= this.threshold) return o;
    }
    return -1;
  }

  add(bands: Uint32Array, bandOff: number, fp: Uint8Array, fpOff: number): void {
    const o = this.count++;
    if ((o + 1) * NUM_PERM > this.fps.length) {
      const next = new Uint8Array(this.fps.length * 2);
      next.set(this.fps);
      this.fps = next;
    }
    this.fps.set(fp.subarray(fpOff, fpOff + NUM_PERM), o * NUM_PERM);
    for (let b = 0; b < BANDS; b++) this.bandMap.setIfAbsent(b, bands[bandOff + b], o);
  }

  get bytes(): number {
    return this.bandMap.bytes + this.fps.length;
  }
}
