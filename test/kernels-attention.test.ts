/**
 * Causal self-attention: the native kernels against the reference (every ISA path,
 * several thread counts), the reference backward against finite differences,
 * causality, cached decoding, determinism and argument checking.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../src/tensor/kernels.js';
import { nativeAddon, type NativeAddon } from '../src/tensor/native.js';
import {
  attentionBackward as refBackward,
  attentionCached as refCached,
  attentionForward as refForward,
} from '../src/tensor/ref/attention.js';
import { expectClose, randomF32, rng } from './helpers.js';

type AttentionKernels = Pick<Kernels, 'attentionForward' | 'attentionBackward' | 'attentionCached'>;

const addon = nativeAddon();
const native = addon as (NativeAddon & AttentionKernels) | null;
if (!addon && process.env.LLMFORGE_REQUIRE_NATIVE === '1') throw new Error('native addon required but not loaded');

interface Shape {
  B: number;
  T: number;
  H: number;
  Hkv: number;
  D: number;
}

const SHAPES: Shape[] = [
  { B: 1, T: 1, H: 4, Hkv: 4, D: 16 },
  { B: 2, T: 7, H: 4, Hkv: 4, D: 8 },
  { B: 1, T: 7, H: 6, Hkv: 1, D: 64 },
  { B: 3, T: 129, H: 8, Hkv: 2, D: 16 },
  { B: 1, T: 129, H: 6, Hkv: 1, D: 64 },
  { B: 2, T: 65, H: 4, Hkv: 4, D: 64 },
  { B: 1, T: 70, H: 2, Hkv: 1, D: 20 }, // D not a multiple of any vector width
  { B: 1, T: 33, H: 2, Hkv: 2, D: 96 }, // D spans a full and a partial 64-column block
];

const name = (s: Shape) => `B=${s.B} T=${s.T} H=${s.H} Hkv=${s.Hkv} D=${s.D}`;
const qkvSize = (s: Shape) => s.B * s.T * (s.H + 2 * s.Hkv) * s.D;
const outSize = (s: Shape) => s.B * s.T * s.H * s.D;

/** A problem and its reference results (computed once, shared by every native run). */
interface Case {
  shape: Shape;
  scale: number;
  qkv: Float32Array;
  dout: Float32Array;
  dqkv0: Float32Array; // nonzero initial gradient: backward must accumulate on top
  out: Float32Array;
  lse: Float32Array;
  dqkv: Float32Array;
}

function makeCase(shape: Shape, seed: number): Case {
  const scale = 1 / Math.sqrt(shape.D);
  // Values up to ±1.5 make some score rows peaked, exercising the online-softmax rescaling.
  const qkv = randomF32(qkvSize(shape), seed, 1.5);
  const dout = randomF32(outSize(shape), seed + 1);
  const dqkv0 = randomF32(qkvSize(shape), seed + 2, 0.5);
  const { B, T, H, Hkv, D } = shape;
  const out = new Float32Array(outSize(shape));
  const lse = new Float32Array(B * H * T);
  refForward(qkv, out, lse, B, T, H, Hkv, D, scale);
  const dqkv = dqkv0.slice();
  refBackward(qkv, out, dout, lse, dqkv, B, T, H, Hkv, D, scale);
  return { shape, scale, qkv, dout, dqkv0, out, lse, dqkv };
}

function nativeForward(n: AttentionKernels, c: Case) {
  const { B, T, H, Hkv, D } = c.shape;
  const out = new Float32Array(outSize(c.shape)).fill(NaN); // must be overwritten
  const lse = new Float32Array(B * H * T).fill(NaN);
  n.attentionForward(c.qkv, out, lse, B, T, H, Hkv, D, c.scale);
  return { out, lse };
}

/** Native backward from the reference forward's out and lse, so only backward is compared. */
function nativeBackward(n: AttentionKernels, c: Case): Float32Array {
  const { B, T, H, Hkv, D } = c.shape;
  const dqkv = c.dqkv0.slice();
  n.attentionBackward(c.qkv, c.out, c.dout, c.lse, dqkv, B, T, H, Hkv, D, c.scale);
  return dqkv;
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The ISA paths this CPU can run, best first. */
function isaPaths(a: NativeAddon): string[] {
  const best = a.getIsa();
  const paths: string[] = [];
  for (const want of ['avx512', 'avx2', 'portable']) {
    const got = a.setIsa(want);
    if (!paths.includes(got)) paths.push(got);
  }
  a.setIsa(best);
  return paths;
}

describe('attention reference', () => {
  it('T=1 attends to itself only: out = v, lse = scale·q·k', () => {
    const H = 2, Hkv = 1, D = 3, scale = 0.7;
    const qkv = Float64Array.from(randomF32((H + 2 * Hkv) * D, 3));
    const out = new Float64Array(H * D);
    const lse = new Float64Array(H);
    refForward(qkv, out, lse, 1, 1, H, Hkv, D, scale);
    for (let h = 0; h < H; h++) {
      let dot = 0;
      for (let d = 0; d < D; d++) {
        expect(out[h * D + d]).toBe(qkv[(H + Hkv) * D + d]);
        dot += qkv[h * D + d] * qkv[H * D + d];
      }
      expect(lse[h]).toBeCloseTo(scale * dot, 14);
    }
  });

  it('backward matches central finite differences in float64 (GQA, accumulating)', () => {
    const B = 2, T = 5, H = 4, Hkv = 2, D = 3, scale = 0.7;
    const n = B * T * (H + 2 * Hkv) * D;
    const qkv = Float64Array.from(randomF32(n, 11, 1.5));
    const g = Float64Array.from(randomF32(B * T * H * D, 12)); // L = Σ out · g
    const loss = (x: Float64Array): number => {
      const out = new Float64Array(B * T * H * D);
      refForward(x, out, new Float64Array(B * H * T), B, T, H, Hkv, D, scale);
      let l = 0;
      for (let i = 0; i < out.length; i++) l += out[i] * g[i];
      return l;
    };
    const out = new Float64Array(B * T * H * D);
    const lse = new Float64Array(B * H * T);
    refForward(qkv, out, lse, B, T, H, Hkv, D, scale);
    const init = Float64Array.from(randomF32(n, 13));
    const dqkv = init.slice();
    refBackward(qkv, out, g, lse, dqkv, B, T, H, Hkv, D, scale);

    const eps = 1e-6;
    const numeric = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = qkv.slice();
      x[i] = qkv[i] + eps;
      const up = loss(x);
      x[i] = qkv[i] - eps;
      numeric[i] = (up - loss(x)) / (2 * eps);
    }
    const analytic = dqkv.map((v, i) => v - init[i]);
    expectClose(analytic, numeric, 1e-8, 1e-6);
    // Every part of qkv gets gradient (the check is not vacuous).
    expect(analytic.filter((v) => Math.abs(v) > 1e-3).length).toBeGreaterThan(n * 0.8);
  });

  it('is causal', () => {
    const s: Shape = { B: 1, T: 9, H: 2, Hkv: 1, D: 4 };
    checkCausal(refForward, s);
  });

  it('cached: per-entry positions and cache rows equal single-entry calls', () => {
    for (const Tq of [1, 3, 7]) {
      const p = makeRowsCase(Tq, 4, 2, 700 + Tq);
      refCached(p.q, p.kc, p.vc, p.out, p.B, Tq, p.H, p.Hkv, p.D, p.pos, p.capacity, p.scale, p.rows);
      const span = Tq * p.H * p.D;
      const rowSize = p.Hkv * p.capacity * p.D;
      for (let b = 0; b < p.B; b++) {
        const one = new Float32Array(span);
        const r = p.rows[b];
        refCached(p.q.subarray(b * span, (b + 1) * span), p.kc.subarray(r * rowSize, (r + 1) * rowSize),
          p.vc.subarray(r * rowSize, (r + 1) * rowSize), one, 1, Tq, p.H, p.Hkv, p.D, p.pos[b], p.capacity, p.scale);
        expect(one).toEqual(p.out.subarray(b * span, (b + 1) * span));
      }
    }
  });
});

/** Changing token t0 changes no output (or lse) of an earlier token; it does change later ones. */
function checkCausal(forward: AttentionKernels['attentionForward'], s: Shape): void {
  const { B, T, H, Hkv, D } = s;
  const W = (H + 2 * Hkv) * D;
  const qkv = randomF32(qkvSize(s), 21);
  const run = (x: Float32Array) => {
    const out = new Float32Array(outSize(s));
    const lse = new Float32Array(B * H * T);
    forward(x, out, lse, B, T, H, Hkv, D, 0.5);
    return { out, lse };
  };
  const base = run(qkv);
  const t0 = Math.floor(T / 2);
  const changed = qkv.slice();
  const r = rng(22);
  for (let b = 0; b < B; b++) for (let i = 0; i < W; i++) changed[(b * T + t0) * W + i] = r() * 4 - 2;
  const after = run(changed);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const row = (b * T + t) * H * D;
      const same = base.out.subarray(row, row + H * D).every((v, i) => Object.is(v, after.out[row + i]));
      expect(same, `b=${b} t=${t}`).toBe(t < t0);
      for (let h = 0; h < H; h++) {
        const i = (b * H + h) * T + t;
        if (t < t0) expect(Object.is(base.lse[i], after.lse[i])).toBe(true);
      }
    }
  }
}

describe.skipIf(!native)('attention native', () => {
  const n = native as NativeAddon & AttentionKernels;
  const startIsa = native ? native.getIsa() : 'portable';
  const startThreads = native ? native.getThreads() : 1;
  afterAll(() => {
    n.setIsa(startIsa);
    n.setThreads(startThreads);
  });

  const paths = native ? isaPaths(native) : [];
  const cases = SHAPES.map((s, i) => makeCase(s, 100 + 7 * i));

  describe.each(paths)('isa %s', (isa) => {
    describe.each(cases.map((c) => [name(c.shape), c] as const))('%s', (_label, c) => {
      it.each([1, 2, 3])('forward and backward match the reference, %i thread(s)', (threads) => {
        expect(n.setIsa(isa)).toBe(isa);
        n.setThreads(threads);
        const f = nativeForward(n, c);
        // Observed float32 error vs the float64 reference is ~4e-7 (out, lse) and ~1.5e-6 (dqkv).
        expectClose(f.out, c.out, 5e-6, 1e-5);
        expectClose(f.lse, c.lse, 5e-6, 1e-6);
        expectClose(nativeBackward(n, c), c.dqkv, 2e-5, 1e-5);
      });
    });

    it('is causal', () => {
      n.setIsa(isa);
      n.setThreads(2);
      checkCausal(n.attentionForward, { B: 2, T: 70, H: 4, Hkv: 2, D: 16 });
      checkCausal(n.attentionForward, { B: 1, T: 9, H: 2, Hkv: 1, D: 8 });
    });

    it('is deterministic: bit-identical for repeated runs and across thread counts', () => {
      n.setIsa(isa);
      const c = cases[3];
      const runs: Buffer[][] = [];
      for (const threads of [1, 2, 2, 3, 3]) {
        n.setThreads(threads);
        const f = nativeForward(n, c);
        runs.push([bits(f.out), bits(f.lse), bits(nativeBackward(n, c))]);
      }
      for (const r of runs.slice(1)) for (let k = 0; k < 3; k++) expect(r[k].equals(runs[0][k])).toBe(true);
    });

    it.each([
      { B: 2, T: 40, H: 8, Hkv: 2, D: 16 },
      { B: 1, T: 150, H: 4, Hkv: 4, D: 64 },
      { B: 3, T: 12, H: 6, Hkv: 1, D: 20 },
      { B: 1, T: 21, H: 2, Hkv: 1, D: 96 },
    ])('cached decoding matches the forward rows (%o)', (s) => {
      n.setIsa(isa);
      n.setThreads(2);
      checkCached(n, s);
    });

    it.each([1, 3, 7])('per-entry positions and cache rows match the reference, and single-entry calls bit for bit (Tq=%i)', (Tq) => {
      n.setIsa(isa);
      n.setThreads(2);
      for (const [i, h] of [[4, 2], [6, 1], [2, 2]].entries()) {
        const p = makeRowsCase(Tq, h[0], h[1], 500 + 10 * Tq + i);
        const want = new Float32Array(p.out.length);
        refCached(p.q, p.kc, p.vc, want, p.B, Tq, p.H, p.Hkv, p.D, p.pos, p.capacity, p.scale, p.rows);
        const got = new Float32Array(p.out.length).fill(NaN);
        n.attentionCached(p.q, p.kc, p.vc, got, p.B, Tq, p.H, p.Hkv, p.D, p.pos, p.capacity, p.scale, p.rows);
        expectClose(got, want, 5e-6, 1e-5);
        // One entry at a time, each on its own cache row block with a scalar position.
        const span = Tq * p.H * p.D;
        const rowSize = p.Hkv * p.capacity * p.D;
        for (let b = 0; b < p.B; b++) {
          const one = new Float32Array(span);
          const r = p.rows[b];
          n.attentionCached(p.q.subarray(b * span, (b + 1) * span), p.kc.subarray(r * rowSize, (r + 1) * rowSize),
            p.vc.subarray(r * rowSize, (r + 1) * rowSize), one, 1, Tq, p.H, p.Hkv, p.D, p.pos[b], p.capacity, p.scale);
          expect(bits(one).equals(bits(got.subarray(b * span, (b + 1) * span)))).toBe(true);
        }
      }
    });
  });

  it('reference cached decoding matches the reference forward', () => {
    checkCached({ attentionForward: refForward, attentionCached: refCached }, { B: 2, T: 12, H: 4, Hkv: 2, D: 8 });
  });

  describe('rejects bad arguments before touching memory', () => {
    const s: Shape = { B: 2, T: 5, H: 4, Hkv: 2, D: 8 };
    const { B, T, H, Hkv, D } = s;
    const qkv = new Float32Array(qkvSize(s));
    const out = new Float32Array(outSize(s));
    const lse = new Float32Array(B * H * T);
    const dqkv = new Float32Array(qkvSize(s));
    type Call = (...args: unknown[]) => void;
    const fwd = (...args: unknown[]) => (n.attentionForward as unknown as Call)(...args);
    const bwd = (...args: unknown[]) => (n.attentionBackward as unknown as Call)(...args);
    const cached = (...args: unknown[]) => (n.attentionCached as unknown as Call)(...args);

    it('forward', () => {
      expect(() => fwd(qkv, out, lse, B, T, H, Hkv, D, 0.3)).not.toThrow();
      expect(() => fwd(qkv.subarray(1), out, lse, B, T, H, Hkv, D, 0.3)).toThrow(/qkv has .* needs/);
      expect(() => fwd(qkv, out.subarray(1), lse, B, T, H, Hkv, D, 0.3)).toThrow(/out has/);
      expect(() => fwd(qkv, out, lse.subarray(1), B, T, H, Hkv, D, 0.3)).toThrow(/lse has/);
      expect(() => fwd(new Float64Array(qkv.length), out, lse, B, T, H, Hkv, D, 0.3)).toThrow(/Float32Array/);
      expect(() => fwd(qkv, out, lse, B, T, H, 3, D, 0.3)).toThrow(/divisible/);
      expect(() => fwd(qkv, out, lse, B, T, H, Hkv, 0, 0.3)).toThrow(/>= 1/);
      expect(() => fwd(qkv, out, lse, B, T, 0, Hkv, D, 0.3)).toThrow(/>= 1/);
      expect(() => fwd(qkv, out, lse, -1, T, H, Hkv, D, 0.3)).toThrow(/>= 0/);
      expect(() => fwd(qkv, out, lse, B, 2.5, H, Hkv, D, 0.3)).toThrow(/integer/);
      expect(() => fwd(qkv, out, lse, B, T, H, Hkv, D, NaN)).toThrow(/finite/);
      expect(() => fwd(qkv, out, lse, B, T, H, Hkv, D)).toThrow(/number/);
      expect(() => fwd(qkv, out, lse, 2 ** 40, 2 ** 40, H, Hkv, D, 0.3)).toThrow(/too large/);
      expect(() => fwd(qkv, out, lse, 1e300, T, H, Hkv, D, 0.3)).toThrow();
    });

    it('backward', () => {
      expect(() => bwd(qkv, out, out, lse, dqkv, B, T, H, Hkv, D, 0.3)).not.toThrow();
      expect(() => bwd(qkv, out, out.subarray(2), lse, dqkv, B, T, H, Hkv, D, 0.3)).toThrow(/dout has/);
      expect(() => bwd(qkv, out, out, lse, dqkv.subarray(1), B, T, H, Hkv, D, 0.3)).toThrow(/dqkv has/);
      expect(() => bwd(qkv, out, out, lse.subarray(1), dqkv, B, T, H, Hkv, D, 0.3)).toThrow(/lse has/);
      expect(() => bwd(qkv, out, out, lse, dqkv, B, T, 6, 4, D, 0.3)).toThrow(/divisible/);
      expect(() => bwd(qkv, out, out, lse, null, B, T, H, Hkv, D, 0.3)).toThrow(/Float32Array/);
    });

    it('cached', () => {
      const cap = 6;
      const q = new Float32Array(B * 1 * H * D);
      const kc = new Float32Array(B * Hkv * cap * D);
      const o = new Float32Array(q.length);
      expect(() => cached(q, kc, kc, o, B, 1, H, Hkv, D, 5, cap, 0.3)).not.toThrow();
      expect(() => cached(q, kc, kc, o, B, 1, H, Hkv, D, 6, cap, 0.3)).toThrow(/capacity/);
      expect(() => cached(q, kc, kc, o, B, 1, H, Hkv, D, -1, cap, 0.3)).toThrow(/>= 0/);
      expect(() => cached(q, kc.subarray(D), kc, o, B, 1, H, Hkv, D, 0, cap, 0.3)).toThrow(/kCache has/);
      expect(() => cached(q, kc, kc.subarray(D), o, B, 1, H, Hkv, D, 0, cap, 0.3)).toThrow(/vCache has/);
      expect(() => cached(q.subarray(1), kc, kc, o, B, 1, H, Hkv, D, 0, cap, 0.3)).toThrow(/q has/);
      expect(() => cached(q, kc, kc, o, B, 1, H, 3, D, 0, cap, 0.3)).toThrow(/divisible/);
    });

    it.each([
      ['native', (...args: unknown[]) => (n.attentionCached as unknown as Call)(...args)],
      ['reference', (...args: unknown[]) => (refCached as unknown as Call)(...args)],
    ])('cached with per-entry positions and cache rows (%s)', (_label, call) => {
      const cap = 6;
      const q = new Float32Array(B * 2 * H * D);
      const kc = new Float32Array(3 * Hkv * cap * D);  // three cache rows for B = 2 entries
      const o = new Float32Array(q.length);
      const pos = Int32Array.of(0, 4);
      expect(() => call(q, kc, kc, o, B, 2, H, Hkv, D, pos, cap, 0.3, Int32Array.of(2, 0))).not.toThrow();
      expect(() => call(q, kc.subarray(0, 2 * Hkv * cap * D), kc, o, B, 2, H, Hkv, D, pos, cap, 0.3)).not.toThrow();
      expect(() => call(q, kc, kc, o, B, 2, H, Hkv, D, Int32Array.of(0), cap, 0.3)).toThrow(/pos0 has 1 entries, needs B = 2/);
      expect(() => call(q, kc, kc, o, B, 2, H, Hkv, D, Int32Array.of(0, 4, 1), cap, 0.3)).toThrow(/pos0 has 3 entries/);
      expect(() => call(q, kc, kc, o, B, 2, H, Hkv, D, Int32Array.of(0, 5), cap, 0.3)).toThrow(/pos0\[1\] = 5 must be in \[0, 4\].*capacity 6/);
      expect(() => call(q, kc, kc, o, B, 2, H, Hkv, D, Int32Array.of(-1, 0), cap, 0.3)).toThrow(/pos0\[0\] = -1/);
      expect(() => call(q, kc, kc, o, B, 2, H, Hkv, D, pos, cap, 0.3, Int32Array.of(0))).toThrow(/cacheRows has 1 entries/);
      expect(() => call(q, kc, kc, o, B, 2, H, Hkv, D, pos, cap, 0.3, Int32Array.of(0, 3))).toThrow(/cacheRows\[1\] = 3 must be in \[0, 2\]/);
      expect(() => call(q, kc, kc.subarray(D), o, B, 2, H, Hkv, D, pos, cap, 0.3, Int32Array.of(0, 2))).toThrow(/cacheRows\[1\] = 2/);
    });
  });
});

/**
 * A decode batch whose entries sit at different positions (0 among them) and read
 * scattered cache rows of a larger cache. Entries a query may not see are NaN, so a
 * kernel reading past pos[b]+Tq-1 (or the wrong row) would show.
 */
function makeRowsCase(Tq: number, H: number, Hkv: number, seed: number) {
  const r = rng(seed);
  const B = 1 + Math.floor(r() * 5);
  const D = 16;
  const capacity = 40;
  const held = B + 2;
  const pos = new Int32Array(B);
  for (let b = 0; b < B; b++) pos[b] = b === 0 ? 0 : Math.floor(r() * (capacity - Tq + 1));
  // Distinct cache rows in shuffled order.
  const order = Array.from({ length: held }, (_, i) => i).sort(() => r() - 0.5);
  const rows = Int32Array.from(order.slice(0, B));
  const kc = new Float32Array(held * Hkv * capacity * D).fill(NaN);
  const vc = new Float32Array(kc.length).fill(NaN);
  const kvals = randomF32(kc.length, seed + 1, 1.5);
  const vvals = randomF32(kc.length, seed + 2);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hkv; h++) {
      const base = (rows[b] * Hkv + h) * capacity * D;
      const end = base + (pos[b] + Tq) * D;
      kc.set(kvals.subarray(base, end), base);
      vc.set(vvals.subarray(base, end), base);
    }
  }
  const q = randomF32(B * Tq * H * D, seed + 3, 1.5);
  return { B, H, Hkv, D, capacity, pos, rows, kc, vc, q, out: new Float32Array(q.length), scale: 1 / Math.sqrt(D) };
}

/**
 * Fills a KV cache (B, Hkv, capacity, D) token by token from the k/v of a packed qkv and
 * checks attentionCached against attentionForward: a prefill block (the flash path when
 * it is long), a short block, then one token at a time. Cache entries not yet written are
 * NaN, so reading past pos0+Tq-1 would show.
 */
function checkCached(k: Pick<AttentionKernels, 'attentionForward' | 'attentionCached'>, s: Shape): void {
  const { B, T, H, Hkv, D } = s;
  const W = (H + 2 * Hkv) * D;
  const scale = 1 / Math.sqrt(D);
  const qkv = randomF32(qkvSize(s), 31, 1.5);
  const want = new Float32Array(outSize(s));
  k.attentionForward(qkv, want, new Float32Array(B * H * T), B, T, H, Hkv, D, scale);

  const capacity = T + 3;
  const kCache = new Float32Array(B * Hkv * capacity * D).fill(NaN);
  const vCache = new Float32Array(B * Hkv * capacity * D).fill(NaN);
  const blocks: number[] = [];
  const prefill = Math.max(1, Math.floor(T / 2));
  blocks.push(prefill);
  let pos = prefill;
  if (pos + 3 <= T) {
    blocks.push(3);
    pos += 3;
  }
  while (pos < T) {
    blocks.push(1);
    pos++;
  }
  let pos0 = 0;
  for (const Tq of blocks) {
    const q = new Float32Array(B * Tq * H * D);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < Tq; i++) {
        const row = (b * T + pos0 + i) * W;
        q.set(qkv.subarray(row, row + H * D), (b * Tq + i) * H * D);
        for (let kvh = 0; kvh < Hkv; kvh++) {
          const dst = ((b * Hkv + kvh) * capacity + pos0 + i) * D;
          kCache.set(qkv.subarray(row + (H + kvh) * D, row + (H + kvh + 1) * D), dst);
          vCache.set(qkv.subarray(row + (H + Hkv + kvh) * D, row + (H + Hkv + kvh + 1) * D), dst);
        }
      }
    }
    const out = new Float32Array(B * Tq * H * D).fill(NaN);
    k.attentionCached(q, kCache, vCache, out, B, Tq, H, Hkv, D, pos0, capacity, scale);
    for (let b = 0; b < B; b++) {
      const got = out.subarray(b * Tq * H * D, (b + 1) * Tq * H * D);
      const ref = want.subarray((b * T + pos0) * H * D, (b * T + pos0 + Tq) * H * D);
      expectClose(got, ref, 5e-6, 1e-5);
    }
    pos0 += Tq;
  }
}
