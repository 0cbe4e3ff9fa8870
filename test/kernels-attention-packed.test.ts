/**
 * Causal attention over packed rows (segStart): query t sees keys segStart[t] .. t.
 * The reference backward against finite differences in float64, a packed row against
 * the same sequences run separately, the native kernels against the reference under
 * every ISA path and 1/2/3 threads, determinism, and argument checking.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../src/tensor/kernels.js';
import { nativeAddon, type NativeAddon } from '../src/tensor/native.js';
import { attentionBackward as refBackward, attentionForward as refForward } from '../src/tensor/ref/attention.js';
import { expectClose, randomF32, rng } from './helpers.js';

type AttentionKernels = Pick<Kernels, 'attentionForward' | 'attentionBackward'>;
const ref: AttentionKernels = { attentionForward: refForward, attentionBackward: refBackward };

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

/** segStart for rows cut into consecutive segments of the given lengths (one list per row). */
function segmentsToStarts(rows: number[][], T: number): Int32Array {
  const seg = new Int32Array(rows.length * T);
  rows.forEach((lengths, b) => {
    expect(lengths.reduce((a, n) => a + n, 0)).toBe(T);
    let t = 0;
    for (const n of lengths) for (let i = 0; i < n; i++) seg[b * T + t++] = t - i - 1;
  });
  return seg;
}

/** Each row cut into random segments of 1 .. maxLen tokens. */
function randomSegments(B: number, T: number, maxLen: number, seed: number): Int32Array {
  const r = rng(seed);
  const rows: number[][] = [];
  for (let b = 0; b < B; b++) {
    const lengths: number[] = [];
    for (let left = T; left > 0;) {
      const n = Math.min(left, 1 + Math.floor(r() * maxLen));
      lengths.push(n);
      left -= n;
    }
    rows.push(lengths);
  }
  return segmentsToStarts(rows, T);
}

/** Any window start in [0, t] per query: the contract allows more than segments. */
function randomWindows(B: number, T: number, seed: number): Int32Array {
  const r = rng(seed);
  const seg = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) seg[i] = Math.floor(r() * ((i % T) + 1));
  return seg;
}

const qkvSize = (s: Shape) => s.B * s.T * (s.H + 2 * s.Hkv) * s.D;
const outSize = (s: Shape) => s.B * s.T * s.H * s.D;

function run(k: AttentionKernels, s: Shape, qkv: Float32Array, dout: Float32Array, seg: Int32Array | null,
  scale = 1 / Math.sqrt(s.D)) {
  const { B, T, H, Hkv, D } = s;
  const out = new Float32Array(outSize(s)).fill(NaN);
  const lse = new Float32Array(B * H * T).fill(NaN);
  k.attentionForward(qkv, out, lse, B, T, H, Hkv, D, scale, seg);
  const dqkv = new Float32Array(qkvSize(s)).fill(0.25); // backward accumulates on top
  k.attentionBackward(qkv, out, dout, lse, dqkv, B, T, H, Hkv, D, scale, seg);
  return { out, lse, dqkv };
}

/**
 * Two sequences packed into one row (B = 1) give, position by position, the outputs,
 * lse and gradients of the two run as separate rows.
 */
function checkPackedEqualsSeparate(k: AttentionKernels, a: number, b: number, H: number, Hkv: number, D: number,
  seed: number, atol: number): void {
  const T = a + b;
  const W = (H + 2 * Hkv) * D;
  const packed: Shape = { B: 1, T, H, Hkv, D };
  const qkv = randomF32(T * W, seed, 1.5);
  const dout = randomF32(T * H * D, seed + 1);
  const p = run(k, packed, qkv, dout, segmentsToStarts([[a, b]], T));
  for (const [t0, n] of [[0, a], [a, b]]) {
    const s: Shape = { B: 1, T: n, H, Hkv, D };
    const one = run(k, s, qkv.slice(t0 * W, (t0 + n) * W), dout.slice(t0 * H * D, (t0 + n) * H * D), null);
    expectClose(p.out.subarray(t0 * H * D, (t0 + n) * H * D), one.out, atol, 1e-5);
    expectClose(p.dqkv.subarray(t0 * W, (t0 + n) * W), one.dqkv, 4 * atol, 1e-5);
    for (let h = 0; h < H; h++) expectClose(p.lse.subarray(h * T + t0, h * T + t0 + n), one.lse.subarray(h * n, (h + 1) * n), atol, 1e-6);
  }
}

describe('packed attention reference', () => {
  it('backward matches central finite differences in float64 (segments and free windows)', () => {
    const B = 2, T = 6, H = 4, Hkv = 2, D = 3, scale = 0.7;
    for (const seg of [segmentsToStarts([[2, 3, 1], [4, 2]], T), randomWindows(B, T, 5)]) {
      const n = B * T * (H + 2 * Hkv) * D;
      const qkv = Float64Array.from(randomF32(n, 11, 1.5));
      const g = Float64Array.from(randomF32(B * T * H * D, 12));
      const loss = (x: Float64Array): number => {
        const out = new Float64Array(B * T * H * D);
        refForward(x, out, new Float64Array(B * H * T), B, T, H, Hkv, D, scale, seg);
        let l = 0;
        for (let i = 0; i < out.length; i++) l += out[i] * g[i];
        return l;
      };
      const out = new Float64Array(B * T * H * D);
      const lse = new Float64Array(B * H * T);
      refForward(qkv, out, lse, B, T, H, Hkv, D, scale, seg);
      const init = Float64Array.from(randomF32(n, 13));
      const dqkv = init.slice();
      refBackward(qkv, out, g, lse, dqkv, B, T, H, Hkv, D, scale, seg);
      const eps = 1e-6;
      const numeric = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const x = qkv.slice();
        x[i] = qkv[i] + eps;
        const up = loss(x);
        x[i] = qkv[i] - eps;
        numeric[i] = (up - loss(x)) / (2 * eps);
      }
      expectClose(dqkv.map((v, i) => v - init[i]), numeric, 1e-8, 1e-6);
    }
  });

  it('a packed row equals its sequences run separately', () => {
    checkPackedEqualsSeparate(ref, 3, 5, 4, 2, 4, 40, 1e-6);
  });

  it('a one-token segment attends to itself only: out = v', () => {
    const H = 2, Hkv = 1, D = 3, T = 4;
    const W = (H + 2 * Hkv) * D;
    const qkv = randomF32(T * W, 7);
    const out = new Float32Array(T * H * D);
    refForward(qkv, out, new Float32Array(H * T), 1, T, H, Hkv, D, 0.5, Int32Array.from([0, 0, 2, 3]));
    for (const t of [2, 3]) {
      for (let h = 0; h < H; h++) {
        for (let d = 0; d < D; d++) expect(out[(t * H + h) * D + d]).toBeCloseTo(qkv[t * W + (H + Hkv) * D + d], 6);
      }
    }
  });

  it('rejects segment starts outside [0, t]', () => {
    const s: Shape = { B: 1, T: 3, H: 1, Hkv: 1, D: 2 };
    const qkv = new Float32Array(qkvSize(s));
    const fwd = (seg: Int32Array) => refForward(qkv, new Float32Array(6), new Float32Array(3), 1, 3, 1, 1, 2, 1, seg);
    expect(() => fwd(Int32Array.from([0, 2, 0]))).toThrow(/segStart\[1\] = 2 must be in \[0, 1\]/);
    expect(() => fwd(Int32Array.from([0, 0, -1]))).toThrow(/segStart\[2\] = -1/);
    expect(() => fwd(Int32Array.from([0, 0]))).toThrow(/segStart has 2 elements, needs 3/);
  });
});

const SHAPES: Array<Shape & { maxLen: number }> = [
  { B: 2, T: 7, H: 4, Hkv: 4, D: 8, maxLen: 3 },
  { B: 3, T: 129, H: 8, Hkv: 2, D: 16, maxLen: 40 },
  { B: 1, T: 200, H: 6, Hkv: 1, D: 64, maxLen: 90 }, // segments crossing tile boundaries
  { B: 2, T: 70, H: 2, Hkv: 1, D: 20, maxLen: 13 },
  { B: 1, T: 33, H: 2, Hkv: 2, D: 96, maxLen: 8 },
];

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

describe.skipIf(!native)('packed attention native', () => {
  const n = native as NativeAddon & AttentionKernels;
  const startIsa = native ? native.getIsa() : 'portable';
  const startThreads = native ? native.getThreads() : 1;
  afterAll(() => {
    n.setIsa(startIsa);
    n.setThreads(startThreads);
  });
  const paths = native ? isaPaths(native) : [];

  // Reference results computed once per case; segments, free windows and tile-aligned cuts.
  const cases = SHAPES.flatMap((s, i) => {
    const qkv = randomF32(qkvSize(s), 300 + i, 1.5);
    const dout = randomF32(outSize(s), 400 + i);
    const segs: Array<[string, Int32Array]> = [
      ['segments', randomSegments(s.B, s.T, s.maxLen, 500 + i)],
      ['free windows', randomWindows(s.B, s.T, 600 + i)],
    ];
    if (s.T > 128) segs.push(['cut at 64 and 128', segmentsToStarts(Array.from({ length: s.B }, () => [64, 64, s.T - 128]), s.T)]);
    return segs.map(([kind, seg]) => ({ label: `B=${s.B} T=${s.T} H=${s.H} Hkv=${s.Hkv} D=${s.D}, ${kind}`, s, qkv, dout, seg,
      want: run(ref, s, qkv, dout, seg) }));
  });

  describe.each(paths)('isa %s', (isa) => {
    it.each([1, 2, 3])('matches the reference, %i thread(s)', (threads) => {
      expect(n.setIsa(isa)).toBe(isa);
      n.setThreads(threads);
      for (const c of cases) {
        const got = run(n, c.s, c.qkv, c.dout, c.seg);
        expectClose(got.out, c.want.out, 5e-6, 1e-5);
        expectClose(got.lse, c.want.lse, 5e-6, 1e-6);
        expectClose(got.dqkv, c.want.dqkv, 2e-5, 1e-5);
      }
    });

    it('a packed row equals its sequences run separately', () => {
      n.setIsa(isa);
      n.setThreads(2);
      checkPackedEqualsSeparate(n, 3, 5, 4, 2, 8, 50, 2e-6);
      checkPackedEqualsSeparate(n, 100, 61, 4, 1, 16, 51, 2e-6);
      checkPackedEqualsSeparate(n, 64, 64, 2, 2, 64, 52, 2e-6);
    });

    it('all-zero segment starts are bit-identical to no segStart (same code path)', () => {
      n.setIsa(isa);
      n.setThreads(2);
      const c = cases[2];
      const a = run(n, c.s, c.qkv, c.dout, null);
      const b = run(n, c.s, c.qkv, c.dout, new Int32Array(c.s.B * c.s.T));
      for (const key of ['out', 'lse', 'dqkv'] as const) expect(Buffer.from(a[key].buffer).equals(Buffer.from(b[key].buffer))).toBe(true);
    });

    it('is deterministic across thread counts', () => {
      n.setIsa(isa);
      const c = cases[4];
      const runs = [1, 2, 3].map((t) => {
        n.setThreads(t);
        return run(n, c.s, c.qkv, c.dout, c.seg);
      });
      for (const r of runs.slice(1)) {
        for (const key of ['out', 'lse', 'dqkv'] as const) expect(Buffer.from(r[key].buffer).equals(Buffer.from(runs[0][key].buffer))).toBe(true);
      }
    });
  });

  it('rejects bad segStart before touching memory', () => {
    const s: Shape = { B: 2, T: 5, H: 4, Hkv: 2, D: 8 };
    const { B, T, H, Hkv, D } = s;
    const qkv = new Float32Array(qkvSize(s));
    const out = new Float32Array(outSize(s));
    const lse = new Float32Array(B * H * T);
    type Call = (...args: unknown[]) => void;
    const fwd = (...args: unknown[]) => (n.attentionForward as unknown as Call)(...args);
    const bwd = (...args: unknown[]) => (n.attentionBackward as unknown as Call)(...args);
    const ok = new Int32Array(B * T);
    expect(() => fwd(qkv, out, lse, B, T, H, Hkv, D, 0.3, ok)).not.toThrow();
    expect(() => fwd(qkv, out, lse, B, T, H, Hkv, D, 0.3, undefined)).not.toThrow();
    expect(() => fwd(qkv, out, lse, B, T, H, Hkv, D, 0.3, ok.subarray(1))).toThrow(/segStart has 9 elements, needs 10/);
    expect(() => fwd(qkv, out, lse, B, T, H, Hkv, D, 0.3, new Float32Array(B * T))).toThrow(/Int32Array/);
    const bad = new Int32Array(B * T);
    bad[7] = 3; // position 2 of row 1
    expect(() => fwd(qkv, out, lse, B, T, H, Hkv, D, 0.3, bad)).toThrow(/segStart\[7\] = 3 must be in \[0, 2\]/);
    expect(() => bwd(qkv, out, out, lse, new Float32Array(qkv.length), B, T, H, Hkv, D, 0.3, bad)).toThrow(/attentionBackward: segStart\[7\]/);
    bad[7] = -1;
    expect(() => fwd(qkv, out, lse, B, T, H, Hkv, D, 0.3, bad)).toThrow(/segStart\[7\] = -1/);
  });
});
