import { describe, expect, it } from 'vitest';
import {
  BANDS,
  NEAR_THRESHOLD,
  NUM_PERM,
  NearIndex,
  U64Map,
  estimateJaccard,
  exactHash,
  nearKeys,
} from '../src/data/dedup.js';
import { rng } from './helpers.js';

const VOCAB = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}x`);

function randomDoc(words: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: words }, () => VOCAB[Math.floor(r() * VOCAB.length)]);
}

/** Replaces `changes` words at seeded positions. */
function mutate(doc: string[], changes: number, seed: number): string[] {
  const r = rng(seed);
  const out = doc.slice();
  for (let k = 0; k < changes; k++) out[Math.floor(r() * out.length)] = `changed${k}`;
  return out;
}

function shingles(words: string[]): Set<string> {
  const s = new Set<string>();
  for (let i = 0; i + 5 <= words.length; i++) s.add(words.slice(i, i + 5).join(' '));
  return s;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

function keys(text: string): { bands: Uint32Array; fp: Uint8Array; ok: boolean } {
  const bands = new Uint32Array(BANDS);
  const fp = new Uint8Array(NUM_PERM);
  const ok = nearKeys(text, bands, 0, fp, 0);
  return { bands, fp, ok };
}

describe('exact dedup', () => {
  it('hashes the whitespace-normalized document', () => {
    expect(exactHash('a  b\n\nc ')).toEqual(exactHash('a b c'));
    expect(exactHash('a b c')).not.toEqual(exactHash('a b d'));
  });

  it('U64Map keeps the first value and grows', () => {
    const m = new U64Map(4);
    for (let i = 0; i < 10000; i++) expect(m.setIfAbsent(i * 7919, i ^ 0x5555, i)).toBe(true);
    expect(m.size).toBe(10000);
    for (let i = 0; i < 10000; i++) expect(m.get(i * 7919, i ^ 0x5555)).toBe(i);
    expect(m.setIfAbsent(7919 * 3, 3 ^ 0x5555, 99)).toBe(false);
    expect(m.get(7919 * 3, 3 ^ 0x5555)).toBe(3);
    expect(m.get(1, 1)).toBe(-1);
  });
});

describe('near dedup (MinHash + LSH)', () => {
  it('estimates Jaccard similarity of word 5-gram shingles', () => {
    const base = randomDoc(400, 1);
    for (const changes of [2, 10, 30, 80]) {
      const other = mutate(base, changes, changes);
      const truth = jaccard(shingles(base), shingles(other));
      const a = keys(base.join(' '));
      const b = keys(other.join(' '));
      const est = estimateJaccard(a.fp, 0, b.fp, 0);
      expect(Math.abs(est - truth)).toBeLessThan(0.13);
    }
  });

  it('is case- and punctuation-insensitive', () => {
    const a = keys('The quick brown fox jumps over the lazy dog, again and again.');
    const b = keys('the QUICK brown fox — jumps over the lazy dog again and again');
    expect(estimateJaccard(a.fp, 0, b.fp, 0)).toBe(1);
    expect(keys('!!! ... ---').ok).toBe(false);
  });

  it('finds constructed near-duplicates and keeps distinct documents', () => {
    const index = new NearIndex();
    let nearFound = 0;
    let falseHits = 0;
    for (let d = 0; d < 60; d++) {
      const base = randomDoc(300, 1000 + d);
      const k = keys(base.join(' '));
      expect(index.find(k.bands, 0, k.fp, 0)).toBe(-1);
      index.add(k.bands, 0, k.fp, 0);
      // 2 changed words out of 300: Jaccard about 0.94.
      const near = keys(mutate(base, 2, d).join(' '));
      if (index.find(near.bands, 0, near.fp, 0) >= 0) nearFound++;
      // 60 changed words: Jaccard well under 0.5.
      const far = keys(mutate(base, 60, d + 1).join(' '));
      if (index.find(far.bands, 0, far.fp, 0) >= 0) falseHits++;
    }
    expect(nearFound).toBeGreaterThanOrEqual(58);
    expect(falseHits).toBe(0);
    expect(NEAR_THRESHOLD).toBe(0.8);
  });

  it('treats short documents (< 5 words) as one shingle', () => {
    const a = keys('hello there world');
    const b = keys('Hello, there world!');
    const c = keys('hello there planet');
    expect(a.ok).toBe(true);
    expect(estimateJaccard(a.fp, 0, b.fp, 0)).toBe(1);
    expect(estimateJaccard(a.fp, 0, c.fp, 0)).toBeLessThan(0.2);
  });
});
