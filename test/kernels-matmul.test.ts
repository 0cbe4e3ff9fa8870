/**
 * matmul: the reference against a naive float64 triple loop, then the native SGEMM
 * against the reference on random and odd shapes (every path: blocked, small-m,
 * one-column, batched), all four transpose combinations, accumulate on and off, under
 * every ISA path and 1/2/3 threads; determinism; bad arguments.
 */
import { describe, expect, it } from 'vitest';
import { randomF32 } from './helpers.js';
import type { Kernels } from '../src/tensor/kernels.js';
import { matmul as refMatmul } from '../src/tensor/ref/matmul.js';
import { nativeAddon } from '../src/tensor/native.js';
import { setIsa, setThreads } from '../src/tensor/registry.js';

type Matmul = Kernels['matmul'];

const addon = nativeAddon();
const nativeMatmul: Matmul | null = addon && typeof addon.matmul === 'function' ? (addon.matmul as Matmul) : null;
const requireNative = process.env.LLMFORGE_REQUIRE_NATIVE === '1';

const TRANSPOSES: Array<[boolean, boolean]> = [[false, false], [true, false], [false, true], [true, true]];
const THREADS = [1, 2, 3];
const ISAS = ['avx512', 'avx2', 'portable'] as const;

interface Shape { batch: number; m: number; n: number; k: number; why: string }

// Each shape is here for a reason: a path, a block boundary or a tail. The native paths:
// blocked (packed micro-kernel), unpacked few-row (m <= 48 while k <= 2048), one-column
// (n = 1 runs as m = 1), and batches spread a whole matrix per thread.
const SHAPES: Shape[] = [
  { batch: 1, m: 1, n: 1, k: 1, why: '1×1×1' },
  { batch: 1, m: 17, n: 33, k: 65, why: 'primes, unpacked' },
  { batch: 1, m: 53, n: 37, k: 67, why: 'primes, blocked' },
  { batch: 1, m: 300, n: 257, k: 129, why: 'large-ish, split over threads' },
  { batch: 1, m: 1, n: 300, k: 77, why: 'm = 1 (GEMV)' },
  { batch: 1, m: 2, n: 45, k: 19, why: 'two rows, column tail' },
  { batch: 1, m: 3, n: 1000, k: 300, why: 'few rows, columns split over threads' },
  { batch: 1, m: 48, n: 70, k: 33, why: 'largest unpacked m' },
  { batch: 1, m: 49, n: 70, k: 33, why: 'smallest blocked m' },
  { batch: 1, m: 20, n: 30, k: 2049, why: 'few rows but deep: blocked' },
  { batch: 1, m: 40, n: 1, k: 50, why: 'n = 1 (runs as m = 1)' },
  { batch: 1, m: 29, n: 64, k: 1, why: 'k = 1, unpacked' },
  { batch: 1, m: 60, n: 64, k: 1, why: 'k = 1, blocked' },
  { batch: 1, m: 60, n: 40, k: 769, why: 'three K blocks' },
  { batch: 1, m: 50, n: 1300, k: 129, why: 'two column blocks' },
  { batch: 1, m: 1400, n: 40, k: 20, why: 'two row blocks' },
  { batch: 7, m: 5, n: 6, k: 7, why: 'batch of tiny matrices' },
  { batch: 3, m: 64, n: 48, k: 80, why: 'batch spread over threads' },
  { batch: 2, m: 150, n: 260, k: 120, why: 'batch of matrices split over threads' },
];

/** The shape with this description (keeps the focused tests readable). */
function shape(why: string): Shape {
  const s = SHAPES.find((x) => x.why === why);
  if (!s) throw new Error(`no shape '${why}'`);
  return s;
}

const label = (s: Shape, ta: boolean, tb: boolean, acc: boolean): string =>
  `${s.batch}×${s.m}×${s.n}×${s.k} (${s.why}) transA=${ta} transB=${tb} accumulate=${acc}`;

/** Float32 error bound for sums of k products of values in [-1, 1]. */
const atolFor = (k: number): number => (k + 4) * 2 ** -20;

function checkClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol = 1e-5): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= atol + rtol * Math.abs(want[i]))) {
      expect.fail(`${what}: index ${i}: got ${got[i]}, want ${want[i]} (atol ${atol})`);
    }
  }
}

function checkIdentical(what: string, a: Float32Array, b: Float32Array): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  expect(ua.length, what).toBe(ub.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) expect.fail(`${what}: index ${i}: ${a[i]} vs ${b[i]}`);
}

/** Runs fn under each distinct ISA path of this CPU × THREADS; restores the defaults. */
function eachConfig(fn: (config: string, threads: number) => void): void {
  const seen = new Set<string>();
  try {
    for (const want of ISAS) {
      const isa = setIsa(want);
      if (seen.has(isa)) continue;
      seen.add(isa);
      for (const t of THREADS) {
        setThreads(t);
        fn(`${isa}, ${t} thread${t > 1 ? 's' : ''}`, t);
      }
    }
  } finally {
    setIsa('avx512');
    setThreads(2);
  }
}

/**
 * The naive product, written independently of the reference: materialize op(A) and
 * op(B) as 2-D arrays by explicit transposition, then the textbook triple loop.
 */
function naive(a: Float64Array, b: Float64Array, c: Float64Array, s: Shape, ta: boolean, tb: boolean,
  acc: boolean): void {
  const { batch, m, n, k } = s;
  for (let bi = 0; bi < batch; bi++) {
    const A = a.subarray(bi * m * k, (bi + 1) * m * k);
    const B = b.subarray(bi * k * n, (bi + 1) * k * n);
    const opA: number[][] = [];
    for (let i = 0; i < m; i++) {
      opA.push([]);
      for (let p = 0; p < k; p++) opA[i].push(ta ? A[p * m + i] : A[i * k + p]);
    }
    const opB: number[][] = [];
    for (let p = 0; p < k; p++) {
      opB.push([]);
      for (let j = 0; j < n; j++) opB[p].push(tb ? B[j * k + p] : B[p * n + j]);
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += opA[i][p] * opB[p][j];
        const at = bi * m * n + i * n + j;
        c[at] = (acc ? c[at] : 0) + sum;
      }
    }
  }
}

describe('reference matmul', () => {
  it('matches a naive float64 triple loop', () => {
    const shapes = SHAPES.filter((s) => s.batch * s.m * s.n * s.k <= 200_000);
    for (const s of shapes) {
      for (const [ta, tb] of TRANSPOSES) {
        for (const acc of [false, true]) {
          const a = Float64Array.from(randomF32(s.batch * s.m * s.k, 1));
          const b = Float64Array.from(randomF32(s.batch * s.k * s.n, 2));
          const c0 = Float64Array.from(randomF32(s.batch * s.m * s.n, 3));
          const want = c0.slice();
          const got = c0.slice();
          naive(a, b, want, s, ta, tb, acc);
          refMatmul(a, b, got, s.batch, s.m, s.n, s.k, ta, tb, acc);
          checkClose(label(s, ta, tb, acc), got, want, 1e-12, 1e-12);
        }
      }
    }
  });

  it('overwrites C (even NaN) unless accumulating; k = 0 gives zeros', () => {
    const c = new Float32Array([NaN, NaN, NaN, NaN]);
    refMatmul(new Float32Array([1, 2]), new Float32Array([3, 4]), c, 1, 2, 2, 1, false, false, false);
    expect(Array.from(c)).toEqual([3, 4, 6, 8]);
    refMatmul(new Float32Array(0), new Float32Array(0), c, 1, 2, 2, 0, false, false, true);
    expect(Array.from(c)).toEqual([3, 4, 6, 8]);
    refMatmul(new Float32Array(0), new Float32Array(0), c, 1, 2, 2, 0, false, false, false);
    expect(Array.from(c)).toEqual([0, 0, 0, 0]);
  });

  it('rejects negative sizes and short buffers', () => {
    const f = (n: number): Float32Array => new Float32Array(n);
    expect(() => refMatmul(f(4), f(4), f(4), 1, -2, 2, 2, false, false, false)).toThrow(/m must be a non-negative/);
    expect(() => refMatmul(f(4), f(4), f(4), 1, 2, 2, 1.5, false, false, false)).toThrow(/k must be/);
    expect(() => refMatmul(f(3), f(4), f(4), 1, 2, 2, 2, false, false, false)).toThrow(/a has 3 elements, needs 4/);
    expect(() => refMatmul(f(4), f(4), f(7), 2, 2, 2, 1, false, false, false)).toThrow(/c has 7 elements, needs 8/);
  });
});

describe('matmul: native addon', () => {
  it('is available when LLMFORGE_REQUIRE_NATIVE=1', () => {
    if (requireNative) expect(nativeMatmul).not.toBeNull();
  });
});

describe.skipIf(!nativeMatmul)('native matmul vs reference', () => {
  const mm = nativeMatmul!;

  it('random and odd shapes, all transposes, accumulate on/off, every ISA and thread count', () => {
    for (const s of SHAPES) {
      const a = randomF32(s.batch * s.m * s.k, 11);
      const b = randomF32(s.batch * s.k * s.n, 12);
      const c0 = randomF32(s.batch * s.m * s.n, 13);
      for (const [ta, tb] of TRANSPOSES) {
        for (const acc of [false, true]) {
          const want = c0.slice();
          refMatmul(a, b, want, s.batch, s.m, s.n, s.k, ta, tb, acc);
          eachConfig((config) => {
            const got = c0.slice();
            mm(a, b, got, s.batch, s.m, s.n, s.k, ta, tb, acc);
            checkClose(`${label(s, ta, tb, acc)} [${config}]`, got, want, atolFor(s.k));
          });
        }
      }
    }
  });

  it('accepts unaligned views (typed arrays at odd offsets)', () => {
    const s: Shape = { batch: 1, m: 37, n: 45, k: 53, why: 'views' };
    const backing = randomF32(1 + s.m * s.k + 3 + s.k * s.n + 5 + s.m * s.n, 21);
    const a = backing.subarray(1, 1 + s.m * s.k);
    const b = backing.subarray(4 + s.m * s.k, 4 + s.m * s.k + s.k * s.n);
    const c = backing.subarray(9 + s.m * s.k + s.k * s.n);
    for (const [ta, tb] of TRANSPOSES) {
      const want = c.slice();
      refMatmul(a, b, want, 1, s.m, s.n, s.k, ta, tb, true);
      eachConfig((config) => {
        const got = new Float32Array(backing);  // fresh copy of everything
        const off = 9 + s.m * s.k + s.k * s.n;
        mm(got.subarray(1, 1 + s.m * s.k), got.subarray(4 + s.m * s.k, off - 5), got.subarray(off), 1, s.m, s.n, s.k,
          ta, tb, true);
        checkClose(`${label(s, ta, tb, true)} [${config}]`, got.subarray(off), want, atolFor(s.k));
      });
    }
  });

  it('overwrites C even when it holds NaN; k = 0 gives zeros or leaves C', () => {
    // One shape per path: blocked, unpacked, one-column, batched.
    const shapes = ['primes, blocked', 'few rows, columns split over threads', 'n = 1 (runs as m = 1)',
      'batch spread over threads'].map(shape);
    for (const s of shapes) {
      const a = randomF32(s.batch * s.m * s.k, 31);
      const b = randomF32(s.batch * s.k * s.n, 32);
      eachConfig((config) => {
        const c = new Float32Array(s.batch * s.m * s.n).fill(NaN);
        mm(a, b, c, s.batch, s.m, s.n, s.k, false, false, false);
        expect(c.every((v) => Number.isFinite(v)), `${s.why} [${config}]`).toBe(true);
        mm(a, b, c, s.batch, s.m, s.n, 0, false, false, true);
        expect(c.every((v) => Number.isFinite(v)), `${s.why} [${config}]`).toBe(true);
        mm(a, b, c, s.batch, s.m, s.n, 0, false, false, false);
        expect(c.every((v) => v === 0), `${s.why} k=0 [${config}]`).toBe(true);
      });
    }
  });

  it('is deterministic: bit-identical across calls and across thread counts', () => {
    // The partition never splits K, so even different thread counts give the same bits.
    const shapes = ['large-ish, split over threads', 'few rows, columns split over threads', 'three K blocks',
      'batch of matrices split over threads', 'largest unpacked m'].map(shape);
    for (const s of shapes) {
      const a = randomF32(s.batch * s.m * s.k, 41);
      const b = randomF32(s.batch * s.k * s.n, 42);
      const c0 = randomF32(s.batch * s.m * s.n, 43);
      for (const [ta, tb] of TRANSPOSES) {
        const byIsa = new Map<string, Float32Array>();
        eachConfig((config) => {
          const isa = config.split(',')[0];
          const runs = [0, 1, 2].map(() => {
            const c = c0.slice();
            mm(a, b, c, s.batch, s.m, s.n, s.k, ta, tb, true);
            return c;
          });
          checkIdentical(`${label(s, ta, tb, true)} repeat [${config}]`, runs[1], runs[0]);
          checkIdentical(`${label(s, ta, tb, true)} repeat [${config}]`, runs[2], runs[0]);
          const first = byIsa.get(isa);
          if (first) checkIdentical(`${label(s, ta, tb, true)} vs 1 thread [${config}]`, runs[0], first);
          else byIsa.set(isa, runs[0]);
        });
      }
    }
  });
});

describe.skipIf(!nativeMatmul)('native matmul rejects bad arguments', () => {
  const mm = nativeMatmul!;
  // Calls with deliberately wrong types go through an untyped view of the function.
  const raw = nativeMatmul as unknown as (...args: unknown[]) => unknown;
  const f = (n: number): Float32Array => new Float32Array(n);

  it('buffers shorter than the sizes, for every operand and transpose', () => {
    for (const [ta, tb] of TRANSPOSES) {
      expect(() => mm(f(5), f(6), f(4), 1, 2, 2, 3, ta, tb, false)).toThrow(/matmul: a has 5 elements, needs 6/);
      expect(() => mm(f(6), f(5), f(4), 1, 2, 2, 3, ta, tb, false)).toThrow(/matmul: b has 5 elements, needs 6/);
      expect(() => mm(f(6), f(6), f(3), 1, 2, 2, 3, ta, tb, false)).toThrow(/matmul: c has 3 elements, needs 4/);
      expect(() => mm(f(6), f(6), f(4), 2, 2, 2, 3, ta, tb, false)).toThrow(RangeError);
    }
  });

  it('negative, fractional and overflowing sizes', () => {
    expect(() => mm(f(4), f(4), f(4), 1, -1, 2, 2, false, false, false)).toThrow(/matmul: argument 4 must be >= 0/);
    expect(() => mm(f(4), f(4), f(4), -1, 1, 2, 2, false, false, false)).toThrow(/argument 3/);
    expect(() => mm(f(4), f(4), f(4), 1, 2, 2, 1.5, false, false, false)).toThrow(/argument 6 must be an integer/);
    expect(() => mm(f(4), f(4), f(4), 1, NaN, 2, 2, false, false, false)).toThrow(Error);
    expect(() => mm(f(4), f(4), f(4), 1, 2 ** 40, 2 ** 40, 2 ** 40, false, false, false)).toThrow(/overflows/);
  });

  it('wrong array types and missing or non-boolean flags', () => {
    expect(() => raw(new Float64Array(4), f(4), f(4), 1, 2, 2, 2, false, false, false))
      .toThrow(/matmul: argument 0 must be a Float32Array/);
    expect(() => raw(f(4), new Int32Array(4), f(4), 1, 2, 2, 2, false, false, false)).toThrow(/argument 1/);
    expect(() => raw(f(4), f(4), [0, 0, 0, 0], 1, 2, 2, 2, false, false, false)).toThrow(/argument 2/);
    expect(() => raw(f(4), f(4), f(4), 1, 2, 2, 2, false, false)).toThrow(/argument 9 must be a boolean/);
    expect(() => raw(f(4), f(4), f(4), 1, 2, 2, 2, 0, false, false)).toThrow(/argument 7/);
    expect(() => raw(f(4), f(4), f(4), '1', 2, 2, 2, false, false, false)).toThrow(/argument 3 must be an integer/);
    expect(() => raw()).toThrow(TypeError);
  });

  it('C overlapping A or B', () => {
    const buf = f(16);
    expect(() => mm(buf.subarray(0, 4), f(4), buf.subarray(2, 6), 1, 2, 2, 2, false, false, false))
      .toThrow(/c must not overlap/);
    expect(() => mm(f(4), buf, buf, 1, 2, 2, 2, false, false, false)).toThrow(/c must not overlap/);
    // Disjoint parts of one buffer are fine.
    mm(buf.subarray(0, 4), buf.subarray(4, 8), buf.subarray(8, 12), 1, 2, 2, 2, false, false, false);
  });

  it('still works after rejecting bad calls', () => {
    const c = f(4);
    mm(new Float32Array([1, 2, 3, 4]), new Float32Array([1, 0, 0, 1]), c, 1, 2, 2, 2, false, false, false);
    expect(Array.from(c)).toEqual([1, 2, 3, 4]);
  });
});
