/**
 * Native vs reference for the row kernels: LayerNorm, RMSNorm, RoPE, cross-entropy
 * and log-probabilities, under every ISA path and 1/2/3 threads, with backward
 * kernels accumulating onto nonzero gradients.
 */
import { describe, expect, it } from 'vitest';
import { randomF32, randomIds } from './helpers.js';
import { native, eachConfig, checkClose, checkIdentical, copy } from './kernels-ops-util.js';
import * as norms from '../src/tensor/ref/norms.js';
import { ropeForward, ropeBackward, ropeTables } from '../src/tensor/ref/rope.js';
import { crossEntropyForwardBackward, logprobForward, logprobBackward } from '../src/tensor/ref/loss.js';

// rows×dim: scalars, odd widths (vector tails), GPT widths, and enough rows for 3 threads.
const NORM_SHAPES: Array<[number, number]> = [[1, 1], [3, 5], [17, 768], [67, 257], [2, 4097], [40, 1024]];

function normInput(rows: number, dim: number, seed: number): Float32Array {
  // An offset, so the mean really has to be subtracted.
  const x = randomF32(rows * dim, seed, 2);
  for (let i = 0; i < x.length; i++) x[i] += 3;
  return x;
}

describe.skipIf(!native)('layernorm: native vs reference', () => {
  const k = native!;

  for (const withBias of [true, false]) {
    it(`forward and backward${withBias ? '' : ' without bias'}`, () => {
      for (const [rows, dim] of NORM_SHAPES) {
        const x = normInput(rows, dim, 1);
        const weight = randomF32(dim, 2, 0.5).map((w) => w + 1);
        const bias = withBias ? randomF32(dim, 3) : null;
        const dout = randomF32(rows * dim, 4);
        const dx0 = randomF32(rows * dim, 5);
        const dw0 = randomF32(dim, 6);
        const db0 = randomF32(dim, 7);
        const out = new Float32Array(rows * dim);
        const mean = new Float32Array(rows);
        const rstd = new Float32Array(rows);
        norms.layernormForward(x, weight, bias, out, mean, rstd, rows, dim, 1e-5);
        const dx = copy(dx0);
        const dw = copy(dw0);
        const db = copy(db0);
        norms.layernormBackward(dout, x, weight, mean, rstd, dx, dw, withBias ? db : null, rows, dim);
        eachConfig((cfg) => {
          const label = `${rows}x${dim} ${cfg}`;
          const o = new Float32Array(rows * dim);
          const mu = new Float32Array(rows);
          const rs = new Float32Array(rows);
          k.layernormForward(x, weight, bias, o, mu, rs, rows, dim, 1e-5);
          checkClose(`layernormForward out ${label}`, o, out, 1e-5, 1e-5);
          checkClose(`layernormForward mean ${label}`, mu, mean, 1e-6, 1e-6);
          checkClose(`layernormForward rstd ${label}`, rs, rstd, 0, 1e-5);
          const gx = copy(dx0);
          const gw = copy(dw0);
          const gb = copy(db0);
          k.layernormBackward(dout, x, weight, mean, rstd, gx, gw, withBias ? gb : null, rows, dim);
          checkClose(`layernormBackward dx ${label}`, gx, dx, 1e-5, 1e-4);
          checkClose(`layernormBackward dweight ${label}`, gw, dw, 1e-5, 1e-5);
          checkClose(`layernormBackward dbias ${label}`, gb, db, 1e-5, 1e-5);
        });
      }
    });
  }

  it('backward is deterministic for a given thread count', () => {
    const rows = 300;
    const dim = 257;
    const x = normInput(rows, dim, 8);
    const weight = randomF32(dim, 9);
    const dout = randomF32(rows * dim, 10);
    const mean = new Float32Array(rows);
    const rstd = new Float32Array(rows);
    k.layernormForward(x, weight, null, new Float32Array(rows * dim), mean, rstd, rows, dim, 1e-5);
    eachConfig((cfg) => {
      const grads = [0, 1].map(() => {
        const g = { dx: new Float32Array(rows * dim), dw: new Float32Array(dim), db: new Float32Array(dim) };
        k.layernormBackward(dout, x, weight, mean, rstd, g.dx, g.dw, g.db, rows, dim);
        return g;
      });
      checkIdentical(`dx ${cfg}`, grads[0].dx, grads[1].dx);
      checkIdentical(`dweight ${cfg}`, grads[0].dw, grads[1].dw);
      checkIdentical(`dbias ${cfg}`, grads[0].db, grads[1].db);
    });
  });
});

describe.skipIf(!native)('rmsnorm: native vs reference', () => {
  const k = native!;

  it('forward and backward', () => {
    for (const [rows, dim] of NORM_SHAPES) {
      const x = randomF32(rows * dim, 11, 2);
      const weight = randomF32(dim, 12, 0.5).map((w) => w + 1);
      const dout = randomF32(rows * dim, 13);
      const dx0 = randomF32(rows * dim, 14);
      const dw0 = randomF32(dim, 15);
      const out = new Float32Array(rows * dim);
      const rstd = new Float32Array(rows);
      norms.rmsnormForward(x, weight, out, rstd, rows, dim, 1e-6);
      const dx = copy(dx0);
      const dw = copy(dw0);
      norms.rmsnormBackward(dout, x, weight, rstd, dx, dw, rows, dim);
      eachConfig((cfg) => {
        const label = `${rows}x${dim} ${cfg}`;
        const o = new Float32Array(rows * dim);
        const rs = new Float32Array(rows);
        k.rmsnormForward(x, weight, o, rs, rows, dim, 1e-6);
        checkClose(`rmsnormForward out ${label}`, o, out, 1e-5, 1e-5);
        checkClose(`rmsnormForward rstd ${label}`, rs, rstd, 0, 1e-5);
        const gx = copy(dx0);
        const gw = copy(dw0);
        k.rmsnormBackward(dout, x, weight, rstd, gx, gw, rows, dim);
        checkClose(`rmsnormBackward dx ${label}`, gx, dx, 1e-5, 1e-4);
        checkClose(`rmsnormBackward dweight ${label}`, gw, dw, 1e-5, 1e-5);
      });
    }
  });

  it('backward is deterministic for a given thread count', () => {
    const rows = 300;
    const dim = 100;
    const x = randomF32(rows * dim, 16);
    const weight = randomF32(dim, 17);
    const dout = randomF32(rows * dim, 18);
    const rstd = new Float32Array(rows);
    k.rmsnormForward(x, weight, new Float32Array(rows * dim), rstd, rows, dim, 1e-6);
    eachConfig((cfg) => {
      const dws = [0, 1].map(() => {
        const dw = new Float32Array(dim);
        k.rmsnormBackward(dout, x, weight, rstd, new Float32Array(rows * dim), dw, rows, dim);
        return dw;
      });
      checkIdentical(`dweight ${cfg}`, dws[0], dws[1]);
    });
  });
});

describe.skipIf(!native)('rope: native vs reference', () => {
  const k = native!;
  // rows, seq, rowWidth, rotHeads, headDim, posOffset
  const CASES: Array<[number, number, number, number, number, number]> = [
    [1, 1, 2, 1, 2, 0], // one pair
    [6, 3, 24, 2, 8, 0], // q and k heads rotated, v head copied
    [5, 5, 13, 2, 6, 7], // half = 3 (vector tail) and an odd unrotated rest
    [64, 16, 512, 6, 64, 5], // packed qkv of GQA: 4 q + 2 k heads rotated, 2 v heads copied
    [128, 64, 768, 12, 64, 0], // enough rows for 3 threads
    [3, 4, 40, 1, 40, 1000], // decoding with a position offset; fewer rows than seq
  ];

  it('forward (also in place) and backward', () => {
    for (const [rows, seq, width, rotHeads, headDim, posOffset] of CASES) {
      const { cos, sin } = ropeTables(posOffset + seq, headDim, 10000);
      const x = randomF32(rows * width, 20);
      const dout = randomF32(rows * width, 21);
      const dx0 = randomF32(rows * width, 22);
      const want = new Float32Array(rows * width);
      ropeForward(x, want, cos, sin, rows, seq, width, rotHeads, headDim, posOffset);
      const wantDx = copy(dx0);
      ropeBackward(dout, wantDx, cos, sin, rows, seq, width, rotHeads, headDim, posOffset);
      eachConfig((cfg) => {
        const label = `rows=${rows} width=${width} heads=${rotHeads}x${headDim} ${cfg}`;
        const out = new Float32Array(rows * width);
        k.ropeForward(x, out, cos, sin, rows, seq, width, rotHeads, headDim, posOffset);
        checkClose(`ropeForward ${label}`, out, want, 1e-6, 1e-6);
        const inPlace = copy(x);
        k.ropeForward(inPlace, inPlace, cos, sin, rows, seq, width, rotHeads, headDim, posOffset);
        checkClose(`ropeForward in place ${label}`, inPlace, want, 1e-6, 1e-6);
        const dx = copy(dx0);
        k.ropeBackward(dout, dx, cos, sin, rows, seq, width, rotHeads, headDim, posOffset);
        checkClose(`ropeBackward ${label}`, dx, wantDx, 1e-6, 1e-6);
      });
    }
  });

  it('with position ids (packed sequences restart at 0 inside a row)', () => {
    // rows, rowWidth, rotHeads, headDim, posOffset; ids are random in [0, maxId].
    const ID_CASES: Array<[number, number, number, number, number, number]> = [
      [7, 24, 2, 8, 0, 5], [128, 768, 12, 64, 0, 63], [9, 13, 2, 6, 4, 3],
    ];
    for (const [rows, width, rotHeads, headDim, posOffset, maxId] of ID_CASES) {
      const { cos, sin } = ropeTables(posOffset + maxId + 1, headDim, 10000);
      const ids = randomIds(rows, maxId + 1, 23);
      ids[rows - 1] = maxId; // the last table row is reachable
      const x = randomF32(rows * width, 24);
      const dout = randomF32(rows * width, 25);
      const dx0 = randomF32(rows * width, 26);
      const want = new Float32Array(rows * width);
      ropeForward(x, want, cos, sin, rows, rows, width, rotHeads, headDim, posOffset, ids);
      const wantDx = copy(dx0);
      ropeBackward(dout, wantDx, cos, sin, rows, rows, width, rotHeads, headDim, posOffset, ids);
      // Row r with id p is exactly the unpacked rope of a row at position p.
      const r = rows - 1;
      const single = new Float32Array(width);
      ropeForward(x.subarray(r * width, (r + 1) * width), single, cos, sin, 1, 1, width, rotHeads, headDim, posOffset + maxId);
      checkClose('one row at its position', want.subarray(r * width), single, 0, 0);
      eachConfig((cfg) => {
        const label = `rows=${rows} width=${width} ids<=${maxId} ${cfg}`;
        const out = new Float32Array(rows * width);
        k.ropeForward(x, out, cos, sin, rows, rows, width, rotHeads, headDim, posOffset, ids);
        checkClose(`ropeForward ${label}`, out, want, 1e-6, 1e-6);
        const dx = copy(dx0);
        k.ropeBackward(dout, dx, cos, sin, rows, rows, width, rotHeads, headDim, posOffset, ids);
        checkClose(`ropeBackward ${label}`, dx, wantDx, 1e-6, 1e-6);
      });
      // Bad ids are refused by both before anything is written.
      const bad = copy(want);
      const tooFar = Int32Array.from(ids);
      tooFar[0] = maxId + 1;
      for (const f of [ropeForward, k.ropeForward]) {
        expect(() => f(x, bad, cos, sin, rows, rows, width, rotHeads, headDim, posOffset, tooFar)).toThrow(/position .* needs cos\/sin tables/);
        expect(() => f(x, bad, cos, sin, rows, rows, width, rotHeads, headDim, posOffset, ids.subarray(1))).toThrow(/positions has/);
        tooFar[0] = -1;
        expect(() => f(x, bad, cos, sin, rows, rows, width, rotHeads, headDim, posOffset, tooFar)).toThrow(/position id -1 at row 0 is negative/);
        tooFar[0] = maxId + 1;
      }
      checkIdentical('untouched after refused calls', bad, want);
    }
  });
});

describe('ropeTables', () => {
  it('follows the Hugging Face Llama float32 computation', () => {
    const headDim = 64;
    const { cos, sin } = ropeTables(4096, headDim, 10000);
    expect(cos.length).toBe(4096 * 32);
    // Position 0 is the identity rotation.
    for (let i = 0; i < 32; i++) {
      expect(cos[i]).toBe(1);
      expect(sin[i]).toBe(0);
    }
    // Pair 0 turns by one radian per position.
    expect(cos[1 * 32]).toBeCloseTo(Math.cos(1), 7);
    expect(sin[5 * 32]).toBeCloseTo(Math.sin(5), 7);
    // Pair i turns by theta^(-2i/headDim) per position.
    expect(sin[3 * 32 + 10]).toBeCloseTo(Math.sin(3 * 10000 ** (-20 / 64)), 7);
    // At a large position the angle is the float32 product, as torch computes it:
    // 4000 · invFreq[1] rounded to float32, not the exact angle.
    const inv1 = Math.fround(1 / Math.fround(10000 ** Math.fround(2 / 64)));
    const angle = Math.fround(4000 * inv1);
    expect(cos[4000 * 32 + 1]).toBe(Math.fround(Math.cos(angle)));
  });

  it('rejects an odd headDim', () => {
    expect(() => ropeTables(8, 7, 10000)).toThrow(RangeError);
  });
});

/** Logits with a spread, a large outlier, and a masked (-inf) entry per row. */
function lossLogits(rows: number, vocab: number, seed: number): Float32Array {
  const x = randomF32(rows * vocab, seed, 4);
  for (let r = 0; r < rows; r++) {
    if (vocab > 2) x[r * vocab + ((r * 7) % vocab)] = r % 2 ? 60 : -80;
    if (vocab > 3) x[r * vocab + vocab - 1] = -Infinity;
  }
  return x;
}

/** Targets in [0, vocab - 1) (never the masked last column), some rows ignored. */
function lossTargets(rows: number, vocab: number, seed: number): Int32Array {
  const t = randomIds(rows, Math.max(1, vocab - 1), seed);
  for (let r = 2; r < rows; r += 5) t[r] = r % 2 ? -1 : -100;
  return t;
}

describe.skipIf(!native)('cross-entropy and logprob: native vs reference', () => {
  const k = native!;
  const SHAPES: Array<[number, number]> = [[1, 1], [3, 5], [7, 1023], [13, 4096], [3, 50257]];

  it('crossEntropyForwardBackward (separate, in place, and without gradient)', () => {
    for (const [rows, vocab] of SHAPES) {
      const logits = lossLogits(rows, vocab, 30);
      const targets = lossTargets(rows, vocab, 31);
      const losses = new Float32Array(rows);
      const dlogits = new Float32Array(rows * vocab);
      const count = crossEntropyForwardBackward(logits, targets, losses, dlogits, rows, vocab, 1 / rows);
      eachConfig((cfg) => {
        const label = `${rows}x${vocab} ${cfg}`;
        const l = new Float32Array(rows).fill(NaN);
        const g = new Float32Array(rows * vocab).fill(NaN);
        expect(k.crossEntropyForwardBackward(logits, targets, l, g, rows, vocab, 1 / rows), label).toBe(count);
        checkClose(`losses ${label}`, l, losses, 1e-5, 1e-5);
        checkClose(`dlogits ${label}`, g, dlogits, 1e-7, 1e-5);
        const inPlace = copy(logits);
        k.crossEntropyForwardBackward(inPlace, targets, l, inPlace, rows, vocab, 1 / rows);
        checkClose(`losses (in place) ${label}`, l, losses, 1e-5, 1e-5);
        checkClose(`dlogits (in place) ${label}`, inPlace, dlogits, 1e-7, 1e-5);
        l.fill(NaN);
        expect(k.crossEntropyForwardBackward(logits, targets, l, null, rows, vocab, 1), label).toBe(count);
        checkClose(`losses (no gradient) ${label}`, l, losses, 1e-5, 1e-5);
      });
    }
  });

  it('ignored rows have zero loss and zero gradient', () => {
    const rows = 4;
    const vocab = 37;
    const logits = randomF32(rows * vocab, 32);
    const targets = new Int32Array([3, -1, 36, -100]);
    const losses = new Float32Array(rows).fill(NaN);
    const dlogits = new Float32Array(rows * vocab).fill(NaN);
    expect(k.crossEntropyForwardBackward(logits, targets, losses, dlogits, rows, vocab, 0.5)).toBe(2);
    expect(losses[1]).toBe(0);
    expect(losses[3]).toBe(0);
    expect(losses[0]).toBeGreaterThan(0);
    for (const r of [1, 3]) expect(dlogits.subarray(r * vocab, (r + 1) * vocab).every((v) => v === 0)).toBe(true);
    // A kept row's gradient sums to zero: gradScale·(Σ softmax - 1).
    let s = 0;
    for (let j = 0; j < vocab; j++) s += dlogits[j];
    expect(Math.abs(s)).toBeLessThan(1e-6);
    // Every row ignored: count 0, all zero.
    targets.fill(-1);
    expect(k.crossEntropyForwardBackward(logits, targets, losses, dlogits, rows, vocab, 0.5)).toBe(0);
    expect(dlogits.every((v) => v === 0) && losses.every((v) => v === 0)).toBe(true);
  });

  it('logprobForward and logprobBackward', () => {
    for (const [rows, vocab] of SHAPES) {
      const logits = lossLogits(rows, vocab, 40);
      const targets = lossTargets(rows, vocab, 41);
      const dlogp = randomF32(rows, 42);
      const dl0 = randomF32(rows * vocab, 43, 0.01);
      const logp = new Float32Array(rows);
      logprobForward(logits, targets, logp, rows, vocab);
      const dl = copy(dl0);
      logprobBackward(logits, targets, dlogp, dl, rows, vocab);
      eachConfig((cfg) => {
        const label = `${rows}x${vocab} ${cfg}`;
        const lp = new Float32Array(rows).fill(NaN);
        k.logprobForward(logits, targets, lp, rows, vocab);
        checkClose(`logprobForward ${label}`, lp, logp, 1e-5, 1e-5);
        const g = copy(dl0);
        k.logprobBackward(logits, targets, dlogp, g, rows, vocab);
        checkClose(`logprobBackward ${label}`, g, dl, 1e-7, 1e-5);
      });
    }
  });

  it('is deterministic and stable for huge logits', () => {
    const rows = 13;
    const vocab = 4096;
    const logits = lossLogits(rows, vocab, 50);
    for (let i = 0; i < logits.length; i += 3) logits[i] *= 1e3; // up to ±4000: exp would overflow unshifted
    const targets = lossTargets(rows, vocab, 51);
    eachConfig((cfg) => {
      const runs = [0, 1].map(() => {
        const l = new Float32Array(rows);
        const g = new Float32Array(rows * vocab);
        k.crossEntropyForwardBackward(logits, targets, l, g, rows, vocab, 1);
        return { l, g };
      });
      checkIdentical(`losses ${cfg}`, runs[0].l, runs[1].l);
      checkIdentical(`dlogits ${cfg}`, runs[0].g, runs[1].g);
      expect(runs[0].l.every(Number.isFinite) && runs[0].g.every(Number.isFinite), cfg).toBe(true);
    });
  });
});
