import { describe, expect, it } from 'vitest';
import { Sampler, samplingOptions, sequenceSeed } from '../src/infer/sampler.js';

const logits = Float32Array.from([1.0, 3.0, 2.5, -1.0, 3.0, 0.5, 2.9, -4.0]);

function draws(s: Sampler, l: Float32Array, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(s.sample(l));
  return out;
}

function softmax(l: ArrayLike<number>, t = 1): number[] {
  const m = Math.max(...Array.from(l));
  const e = Array.from(l, (x) => Math.exp((x - m) / t));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

function frequencies(xs: number[], V: number): number[] {
  const f = new Array<number>(V).fill(0);
  for (const x of xs) f[x]++;
  return f.map((c) => c / xs.length);
}

describe('sampler', () => {
  it('temperature 0 is greedy: highest logit, lowest id on ties, logits untouched', () => {
    const before = logits.slice();
    const s = new Sampler({ temperature: 0 }, 8);
    expect(draws(s, logits, 5)).toEqual([1, 1, 1, 1, 1]);
    expect(Array.from(logits)).toEqual(Array.from(before));
  });

  it('same seed → same draws; another seed → other draws', () => {
    const l = new Float32Array(50).map((_, i) => Math.sin(i));
    const o = { temperature: 1, topP: 1, minP: 0 };
    const a = draws(new Sampler({ ...o, seed: 42 }, 50), l, 40);
    expect(draws(new Sampler({ ...o, seed: 42 }, 50), l, 40)).toEqual(a);
    expect(draws(new Sampler({ ...o, seed: 43 }, 50), l, 40)).not.toEqual(a);
    expect(sequenceSeed(42, 0)).toBe(42);
    expect(sequenceSeed(42, 1)).not.toBe(42);
  });

  it('plain temperature sampling follows softmax(logits / T)', () => {
    for (const T of [1, 0.5, 2]) {
      const s = new Sampler({ temperature: T, topP: 1, minP: 0, seed: 7 }, 8);
      const f = frequencies(draws(s, logits, 40000), 8);
      const p = softmax(logits, T);
      for (let i = 0; i < 8; i++) expect(Math.abs(f[i] - p[i])).toBeLessThan(0.012);
    }
  });

  it('top-k keeps the k most likely (ties broken by id) and renormalizes', () => {
    const s = new Sampler({ temperature: 1, topK: 3, topP: 1, minP: 0, seed: 1 }, 8);
    const f = frequencies(draws(s, logits, 30000), 8);
    // The three largest: ids 1 and 4 (3.0), then 6 (2.9).
    const p = softmax([3.0, 3.0, 2.9]);
    expect(f[1]).toBeCloseTo(p[0], 1);
    expect(f[4]).toBeCloseTo(p[1], 1);
    expect(f[6]).toBeCloseTo(p[2], 1);
    expect(f[0] + f[2] + f[3] + f[5] + f[7]).toBe(0);
    // k = 1 is greedy; a tie at the threshold keeps the lowest id.
    expect(new Set(draws(new Sampler({ temperature: 1, topK: 1, topP: 1, minP: 0 }, 8), logits, 50))).toEqual(new Set([1]));
    // k ≥ V keeps everything.
    const all = new Set(draws(new Sampler({ temperature: 5, topK: 100, topP: 1, minP: 0, seed: 2 }, 8), logits, 3000));
    expect(all.size).toBe(8);
  });

  it('top-p keeps the smallest most-likely set reaching the mass', () => {
    const l = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
    const fr = (p: number) => frequencies(draws(new Sampler({ temperature: 1, topP: p, minP: 0, seed: 3 }, 4), l, 20000), 4);
    expect(fr(0.4)).toEqual([1, 0, 0, 0]);
    const f8 = fr(0.8); // 0.5 + 0.3 reaches 0.8: ids 0, 1 renormalized to 0.625 / 0.375
    expect(f8[0]).toBeCloseTo(0.625, 1);
    expect(f8[2] + f8[3]).toBe(0);
    const f9 = fr(0.9);
    expect(f9[2]).toBeGreaterThan(0.1);
    expect(f9[3]).toBe(0);
    expect(fr(1)[3]).toBeGreaterThan(0.03);
  });

  it('top-p over a large flat-tailed vocabulary matches a full sort', () => {
    const V = 5000;
    const l = new Float32Array(V).map((_, i) => (i % 97 === 0 ? 4 : Math.cos(i) * 0.5));
    const p = softmax(l);
    const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a] || a - b);
    let cum = 0;
    const nucleus = new Set<number>();
    for (const i of order) {
      nucleus.add(i);
      cum += p[i];
      if (cum >= 0.6) break;
    }
    const got = new Set(draws(new Sampler({ temperature: 1, topP: 0.6, minP: 0, seed: 4 }, V), l, 6000));
    for (const id of got) expect(nucleus.has(id)).toBe(true);
    expect(got.size).toBeGreaterThan(nucleus.size * 0.8);
  });

  it('min-p drops tokens below min_p × the top probability', () => {
    const l = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
    const f = frequencies(draws(new Sampler({ temperature: 1, topP: 1, minP: 0.2, seed: 5 }, 4), l, 20000), 4);
    // Threshold 0.2 × 0.5 = 0.1: id 3 (0.05) goes.
    expect(f[3]).toBe(0);
    expect(f[2]).toBeCloseTo(0.15 / 0.95, 1);
    expect(new Set(draws(new Sampler({ temperature: 1, topP: 1, minP: 1 }, 4), l, 100))).toEqual(new Set([0]));
  });

  it('repetition penalty divides positive and multiplies negative logits of seen tokens', () => {
    const s = new Sampler({ temperature: 0, repetitionPenalty: 1.5 }, 8);
    s.observe([1, 4]);
    // 3.0 / 1.5 = 2.0 < 2.9 (id 6) and 2.5 (id 2): id 6 wins.
    expect(s.sample(logits)).toBe(6);
    s.observe([6, 2]);
    expect(s.sample(logits)).toBe(1);
    const neg = Float32Array.from([-1, -1.2]);
    const t = new Sampler({ temperature: 0, repetitionPenalty: 1.5 }, 2);
    t.observe([0]);
    expect(t.sample(neg)).toBe(1); // -1 × 1.5 = -1.5 < -1.2
    t.clearObserved();
    expect(t.sample(neg)).toBe(0);
  });

  it('rejects out-of-range settings naming the setting', () => {
    expect(() => samplingOptions({ temperature: -0.1 })).toThrow(/temperature must be >= 0/);
    expect(() => samplingOptions({ topP: 0 })).toThrow(/top-p must be in \(0, 1\]/);
    expect(() => samplingOptions({ topP: 1.01 })).toThrow(/top-p must be in \(0, 1\] \(1 = off\), got 1.01/);
    expect(() => samplingOptions({ topK: -1 })).toThrow(/top-k must be an integer >= 0/);
    expect(() => samplingOptions({ topK: 1.5 })).toThrow(/top-k/);
    expect(() => samplingOptions({ minP: 2 })).toThrow(/min-p must be in \[0, 1\]/);
    expect(() => samplingOptions({ repetitionPenalty: 0 })).toThrow(/repetition-penalty must be > 0/);
    expect(() => samplingOptions({ seed: -1 })).toThrow(/seed must be a non-negative integer/);
    expect(() => samplingOptions({ temperature: Number.NaN })).toThrow(/temperature/);
    expect(() => new Sampler({}, 4).sample(new Float32Array(3))).toThrow(/3 logits for a vocabulary of 4/);
  });
});
