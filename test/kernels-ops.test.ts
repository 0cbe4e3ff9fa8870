/**
 * Native vs reference: elementwise kernels, activations, embedding and AdamW, on odd
 * sizes, under every ISA path and 1/2/3 threads. Backward kernels start from nonzero
 * gradients (they accumulate). Row kernels are in kernels-ops-rows.test.ts, gradient
 * checks of the references in kernels-ops-gradcheck.test.ts, bad arguments in
 * kernels-ops-args.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { randomF32, randomIds } from './helpers.js';
import {
  native, requireNative, eachConfig, checkClose, checkIdentical, copy, resizePool,
} from './kernels-ops-util.js';
import * as ew from '../src/tensor/ref/elementwise.js';
import * as act from '../src/tensor/ref/activations.js';
import { embeddingForward, embeddingBackward } from '../src/tensor/ref/embedding.js';
import { adamw } from '../src/tensor/ref/adamw.js';

// 70001 spreads over 3 threads (threading starts at 2 × 16k elements); the rest are tails.
const SIZES = [1, 7, 16, 33, 1023, 70001];

/** Values that exercise the exp clamps and the far tails of the activations. */
const EXTREMES = new Float32Array([-1e4, -200, -88, -87, -40, -20, -10, -3, -1e-8, -0, 0, 1e-8, 0.5, 3, 10, 20, 40,
  87, 88, 89, 200, 1e4]);

describe('kernels-ops: native addon', () => {
  it('is available when LLMFORGE_REQUIRE_NATIVE=1', () => {
    if (requireNative) expect(native).not.toBeNull();
  });
});

describe.skipIf(!native)('elementwise kernels: native vs reference', () => {
  const k = native!;

  it('add, mul', () => {
    for (const n of SIZES) {
      const a = randomF32(n, 1, 3);
      const b = randomF32(n, 2, 3);
      const wantAdd = new Float32Array(n);
      const wantMul = new Float32Array(n);
      ew.add(a, b, wantAdd, n);
      ew.mul(a, b, wantMul, n);
      eachConfig((cfg) => {
        const out = new Float32Array(n);
        k.add(a, b, out, n);
        checkClose(`add n=${n} ${cfg}`, out, wantAdd, 0, 0);
        k.mul(a, b, out, n);
        checkClose(`mul n=${n} ${cfg}`, out, wantMul, 0, 0);
      });
    }
  });

  it('add and mul may write into an input', () => {
    const n = 1023;
    const a = randomF32(n, 3);
    const b = randomF32(n, 4);
    const want = new Float32Array(n);
    ew.add(a, b, want, n);
    const out = copy(a);
    k.add(out, b, out, n);
    checkClose('add in place', out, want, 0, 0);
  });

  it('mulBackward accumulates', () => {
    for (const n of SIZES) {
      const a = randomF32(n, 5);
      const b = randomF32(n, 6);
      const dout = randomF32(n, 7);
      const da0 = randomF32(n, 8);
      const db0 = randomF32(n, 9);
      const wantDa = copy(da0);
      const wantDb = copy(db0);
      ew.mulBackward(a, b, dout, wantDa, wantDb, n);
      eachConfig((cfg) => {
        const da = copy(da0);
        const db = copy(db0);
        k.mulBackward(a, b, dout, da, db, n);
        checkClose(`mulBackward da n=${n} ${cfg}`, da, wantDa, 1e-6, 1e-6);
        checkClose(`mulBackward db n=${n} ${cfg}`, db, wantDb, 1e-6, 1e-6);
      });
    }
  });

  it('axpy, scaleInPlace', () => {
    for (const n of SIZES) {
      const src = randomF32(n, 10);
      const dst0 = randomF32(n, 11);
      const wantAxpy = copy(dst0);
      ew.axpy(wantAxpy, src, -0.37, n);
      const wantScale = copy(dst0);
      ew.scaleInPlace(wantScale, 1.7, n);
      eachConfig((cfg) => {
        const dst = copy(dst0);
        k.axpy(dst, src, -0.37, n);
        checkClose(`axpy n=${n} ${cfg}`, dst, wantAxpy, 1e-6, 1e-6);
        const x = copy(dst0);
        k.scaleInPlace(x, 1.7, n);
        // alpha is rounded to float32 first: up to ~1.5 ulp from the float64 reference.
        checkClose(`scaleInPlace n=${n} ${cfg}`, x, wantScale, 0, 2e-7);
      });
    }
  });

  it('addBias, biasBackward', () => {
    for (const [rows, dim] of [[1, 1], [3, 5], [17, 768], [100, 1000], [257, 31]]) {
      const x0 = randomF32(rows * dim, 12);
      const bias = randomF32(dim, 13);
      const dbias0 = randomF32(dim, 14);
      const wantX = copy(x0);
      ew.addBias(wantX, bias, rows, dim);
      const wantDb = copy(dbias0);
      ew.biasBackward(x0, wantDb, rows, dim);
      eachConfig((cfg) => {
        const x = copy(x0);
        k.addBias(x, bias, rows, dim);
        checkClose(`addBias ${rows}x${dim} ${cfg}`, x, wantX, 0, 0);
        const db = copy(dbias0);
        k.biasBackward(x0, db, rows, dim);
        // Column sums go through float partials of up to 32 rows: float-level rounding.
        checkClose(`biasBackward ${rows}x${dim} ${cfg}`, db, wantDb, 1e-5, 1e-5);
      });
    }
  });

  it('sum, sumSquares accumulate in float64', () => {
    for (const n of [...SIZES, 300007]) {
      const x = randomF32(n, 15, 2);
      const wantSum = ew.sum(x, n);
      const wantSq = ew.sumSquares(x, n);
      eachConfig((cfg) => {
        // float64 accumulation: error far below float32 resolution of the total.
        expect(Math.abs(k.sum(x, n) - wantSum), `sum n=${n} ${cfg}`).toBeLessThan(1e-9 * n);
        expect(Math.abs(k.sumSquares(x, n) - wantSq), `sumSquares n=${n} ${cfg}`).toBeLessThan(1e-12 * wantSq + 1e-12);
      });
    }
    // A float32 accumulator would lose every small term here (ulp(1e6) = 0.0625).
    const x = new Float32Array(100000).fill(1e-4);
    x[0] = 1e6;
    expect(Math.abs(k.sum(x, x.length) - (1e6 + 99999 * Math.fround(1e-4)))).toBeLessThan(1e-4);
  });

  it('sum and sumSquares do not depend on the thread count', () => {
    const n = 300007;
    const x = randomF32(n, 16);
    const byIsa = new Map<string, string>();
    eachConfig((cfg) => {
      const isa = cfg.split(',')[0];
      const result = `${k.sum(x, n)} ${k.sumSquares(x, n)}`;
      if (!byIsa.has(isa)) byIsa.set(isa, result);
      expect(result, cfg).toBe(byIsa.get(isa));
    });
  });

  it('biasBackward is deterministic for a given thread count', () => {
    const rows = 1000;
    const dim = 333;
    const dout = randomF32(rows * dim, 17);
    eachConfig((cfg) => {
      const a = new Float32Array(dim);
      const b = new Float32Array(dim);
      k.biasBackward(dout, a, rows, dim);
      k.biasBackward(dout, b, rows, dim);
      checkIdentical(`biasBackward ${cfg}`, a, b);
    });
  });
});

describe.skipIf(!native)('activations: native vs reference', () => {
  const k = native!;
  const inputs: Array<[string, Float32Array]> = [
    ...SIZES.map((n): [string, Float32Array] => [`n=${n}`, randomF32(n, 20 + n, 6)]),
    ['extremes', EXTREMES],
    // A fine grid over the range where the curves bend and σ saturates.
    ['grid', new Float32Array(4801).map((_, i) => -12 + i * 0.005)],
  ];

  for (const [name, fwd, bwd] of [
    ['gelu', act.geluForward, act.geluBackward],
    ['silu', act.siluForward, act.siluBackward],
  ] as const) {
    it(`${name} forward and backward`, () => {
      const kf = name === 'gelu' ? k.geluForward : k.siluForward;
      const kb = name === 'gelu' ? k.geluBackward : k.siluBackward;
      for (const [label, x] of inputs) {
        const n = x.length;
        const dout = randomF32(n, 30);
        const dx0 = randomF32(n, 31);
        const wantOut = new Float32Array(n);
        fwd(x, wantOut, n);
        const wantDx = copy(dx0);
        bwd(x, dout, wantDx, n);
        eachConfig((cfg) => {
          const out = new Float32Array(n);
          kf(x, out, n);
          checkClose(`${name}Forward ${label} ${cfg}`, out, wantOut, 1e-6, 1e-5);
          const dx = copy(dx0);
          kb(x, dout, dx, n);
          checkClose(`${name}Backward ${label} ${cfg}`, dx, wantDx, 1e-6, 1e-5);
        });
      }
    });
  }

  it('swiglu forward and backward', () => {
    for (const [label, gate] of inputs) {
      const n = gate.length;
      const up = randomF32(n, 40, 2);
      const dout = randomF32(n, 41);
      const dgate0 = randomF32(n, 42);
      const dup0 = randomF32(n, 43);
      const wantOut = new Float32Array(n);
      act.swigluForward(gate, up, wantOut, n);
      const wantDgate = copy(dgate0);
      const wantDup = copy(dup0);
      act.swigluBackward(gate, up, dout, wantDgate, wantDup, n);
      eachConfig((cfg) => {
        const out = new Float32Array(n);
        k.swigluForward(gate, up, out, n);
        checkClose(`swigluForward ${label} ${cfg}`, out, wantOut, 1e-6, 1e-5);
        const dgate = copy(dgate0);
        const dup = copy(dup0);
        k.swigluBackward(gate, up, dout, dgate, dup, n);
        checkClose(`swigluBackward dgate ${label} ${cfg}`, dgate, wantDgate, 1e-6, 1e-5);
        checkClose(`swigluBackward dup ${label} ${cfg}`, dup, wantDup, 1e-6, 1e-5);
      });
    }
  });

  it('NaN inputs give NaN outputs', () => {
    const x = new Float32Array([NaN, 1, NaN]);
    const out = new Float32Array(3);
    for (const f of [k.geluForward, k.siluForward]) {
      f(x, out, 3);
      expect(Number.isNaN(out[0]) && Number.isNaN(out[2])).toBe(true);
    }
  });
});

describe.skipIf(!native)('embedding: native vs reference', () => {
  const k = native!;

  it('forward and backward, with repeated ids', () => {
    for (const [n, dim, vocab] of [[1, 1, 1], [7, 5, 3], [64, 768, 50], [2048, 256, 4096], [300, 33, 2]]) {
      const ids = randomIds(n, vocab, 50);
      const table = randomF32(vocab * dim, 51);
      const dout = randomF32(n * dim, 52);
      const dtable0 = randomF32(vocab * dim, 53);
      const wantOut = new Float32Array(n * dim);
      embeddingForward(ids, table, wantOut, n, dim, vocab);
      const wantDtable = copy(dtable0);
      embeddingBackward(ids, dout, wantDtable, n, dim, vocab);
      eachConfig((cfg) => {
        const out = new Float32Array(n * dim);
        k.embeddingForward(ids, table, out, n, dim, vocab);
        checkClose(`embeddingForward ${n}x${dim} ${cfg}`, out, wantOut, 0, 0);
        const dtable = copy(dtable0);
        k.embeddingBackward(ids, dout, dtable, n, dim, vocab);
        // Same additions in the same order as the reference: exact.
        checkClose(`embeddingBackward ${n}x${dim} ${cfg}`, dtable, wantDtable, 0, 0);
      });
    }
  });
});

describe.skipIf(!native)('adamw', () => {
  const k = native!;

  it('matches a hand-computed step', () => {
    // p = 1, g = 0.5·gradScale 2 = 1, m = v = 0, step 1: m = 0.1, v = 0.001, m̂ = v̂ = 1,
    // p = 1 - 0.1·(1/(1 + 1e-8) + 0.01·1) = 0.899000001.
    // Step 2 with g = -0.25·2 = -0.5: m = 0.09 - 0.05 = 0.04, v = 0.000999 + 0.00025 = 0.001249,
    // m̂ = 0.04/0.19, v̂ = 0.001249/0.001999, p -= 0.1·(m̂/(sqrt(v̂) + 1e-8) + 0.01·p).
    const lr = 0.1;
    const b1 = 0.9;
    const b2 = 0.999;
    const eps = 1e-8;
    const wd = 0.01;
    const p1 = 1 - lr * (1 / (1 + eps) + wd * 1);
    const m2 = 0.04;
    const v2 = 0.001249;
    const p2 = p1 - lr * ((m2 / 0.19) / (Math.sqrt(v2 / 0.001999) + eps) + wd * p1);
    expect(p1).toBeCloseTo(0.899000001, 12);

    for (const impl of ['ref', 'native'] as const) {
      const F = impl === 'ref' ? Float64Array : Float32Array;
      const p = new F([1]);
      const m = new F([0]);
      const v = new F([0]);
      const run = (g: number, step: number): void => {
        if (impl === 'ref') adamw(p, new F([g]), m, v, 1, lr, b1, b2, eps, wd, step, 2);
        else k.adamw(p as Float32Array, new Float32Array([g]), m as Float32Array, v as Float32Array, 1, lr, b1, b2,
          eps, wd, step, 2);
      };
      run(0.5, 1);
      const digits = impl === 'ref' ? 12 : 6;
      expect(p[0], impl).toBeCloseTo(p1, digits);
      expect(m[0], impl).toBeCloseTo(0.1, digits);
      expect(v[0], impl).toBeCloseTo(0.001, digits + 2);
      run(-0.25, 2);
      expect(p[0], impl).toBeCloseTo(p2, digits);
      expect(m[0], impl).toBeCloseTo(m2, digits);
      expect(v[0], impl).toBeCloseTo(v2, digits + 2);
    }
  });

  it('native matches the reference over several steps', () => {
    for (const n of SIZES) {
      const p0 = randomF32(n, 60);
      const wantP = copy(p0);
      const wantM = new Float32Array(n);
      const wantV = new Float32Array(n);
      const grads = [1, 2, 3].map((s) => randomF32(n, 60 + s, 0.1));
      grads.forEach((g, i) => adamw(wantP, g, wantM, wantV, n, 3e-3, 0.9, 0.95, 1e-8, 0.1, i + 1, 0.5));
      eachConfig((cfg) => {
        const p = copy(p0);
        const m = new Float32Array(n);
        const v = new Float32Array(n);
        grads.forEach((g, i) => k.adamw(p, g, m, v, n, 3e-3, 0.9, 0.95, 1e-8, 0.1, i + 1, 0.5));
        checkClose(`adamw p n=${n} ${cfg}`, p, wantP, 1e-6, 1e-5);
        checkClose(`adamw m n=${n} ${cfg}`, m, wantM, 1e-8, 1e-5);
        checkClose(`adamw v n=${n} ${cfg}`, v, wantV, 1e-10, 1e-5);
      });
    }
  });

  it('runs with the pool at any size', () => {
    resizePool(3);
    const n = 100003;
    const p = randomF32(n, 70);
    const g = randomF32(n, 71);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    k.adamw(p, g, m, v, n, 1e-3, 0.9, 0.999, 1e-12, 0, 1, 1);
    // First step: m̂/sqrt(v̂) = sign(g), so every parameter moves by lr (eps aside).
    const p0 = randomF32(n, 70);
    for (let i = 0; i < n; i += 997) expect(p0[i] - p[i]).toBeCloseTo(1e-3 * Math.sign(g[i]), 6);
    resizePool(2);
  });
});
