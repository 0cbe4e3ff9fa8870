/**
 * Finite-difference checks of every reference backward kernel, run in float64.
 * For a forward f and a fixed random "upstream gradient" w, the scalar
 * L(θ) = Σ w · f(θ) has dL/dθ = what the backward kernel produces from dout = w.
 * Central differences with h = 1e-6 are accurate to ~1e-9 here, so the tolerance
 * is tight enough to catch any wrong term. Backward kernels accumulate, so each is
 * run on a nonzero initial gradient and the initial value is subtracted.
 */
import { describe, expect, it } from 'vitest';
import { rng } from './helpers.js';
import * as norms from '../src/tensor/ref/norms.js';
import * as act from '../src/tensor/ref/activations.js';
import { ropeForward, ropeBackward, ropeTables } from '../src/tensor/ref/rope.js';
import { embeddingForward, embeddingBackward } from '../src/tensor/ref/embedding.js';
import { crossEntropyForwardBackward, logprobForward, logprobBackward } from '../src/tensor/ref/loss.js';
import { mul, mulBackward } from '../src/tensor/ref/elementwise.js';

const H = 1e-6;

function rand64(n: number, seed: number, scale = 1, offset = 0): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale + offset;
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Checks `analytic` (a backward kernel's output) against central differences of the
 * scalar loss() with respect to each element of `param` (perturbed in place).
 */
function checkGradient(label: string, param: Float64Array, loss: () => number, analytic: Float64Array,
  tol = 1e-7): void {
  expect(analytic.length).toBe(param.length);
  for (let i = 0; i < param.length; i++) {
    const saved = param[i];
    param[i] = saved + H;
    const up = loss();
    param[i] = saved - H;
    const down = loss();
    param[i] = saved;
    const numeric = (up - down) / (2 * H);
    if (!(Math.abs(numeric - analytic[i]) <= tol * (1 + Math.abs(numeric)))) {
      expect.fail(`${label}[${i}]: backward gives ${analytic[i]}, finite differences ${numeric}`);
    }
  }
}

/** Runs a backward kernel on a nonzero initial gradient and returns what it added. */
function added(initial: Float64Array, run: (grad: Float64Array) => void): Float64Array {
  const grad = new Float64Array(initial);
  run(grad);
  return grad.map((v, i) => v - initial[i]);
}

describe('finite-difference gradient checks of the reference kernels (float64)', () => {
  it('layernorm: x, weight and bias', () => {
    for (const withBias of [true, false]) {
      const rows = 3;
      const dim = 7;
      const x = rand64(rows * dim, 1, 2, 0.5);
      const weight = rand64(dim, 2, 0.5, 1);
      const bias = rand64(dim, 3);
      const w = rand64(rows * dim, 4);
      const out = new Float64Array(rows * dim);
      const mean = new Float64Array(rows);
      const rstd = new Float64Array(rows);
      const loss = (): number => {
        norms.layernormForward(x, weight, withBias ? bias : null, out, mean, rstd, rows, dim, 1e-5);
        return dot(out, w);
      };
      loss();
      const dx = added(rand64(rows * dim, 5), (g) => norms.layernormBackward(w, x, weight, mean, rstd, g,
        new Float64Array(dim), null, rows, dim));
      const dw = added(rand64(dim, 6), (g) => norms.layernormBackward(w, x, weight, mean, rstd,
        new Float64Array(rows * dim), g, null, rows, dim));
      const db = added(rand64(dim, 7), (g) => norms.layernormBackward(w, x, weight, mean, rstd,
        new Float64Array(rows * dim), new Float64Array(dim), g, rows, dim));
      const tag = withBias ? 'layernorm' : 'layernorm (no bias)';
      checkGradient(`${tag} dx`, x, loss, dx);
      checkGradient(`${tag} dweight`, weight, loss, dw);
      if (withBias) checkGradient(`${tag} dbias`, bias, loss, db);
    }
  });

  it('rmsnorm: x and weight', () => {
    const rows = 3;
    const dim = 6;
    const x = rand64(rows * dim, 10, 2);
    const weight = rand64(dim, 11, 0.5, 1);
    const w = rand64(rows * dim, 12);
    const out = new Float64Array(rows * dim);
    const rstd = new Float64Array(rows);
    const loss = (): number => {
      norms.rmsnormForward(x, weight, out, rstd, rows, dim, 1e-6);
      return dot(out, w);
    };
    loss();
    const dx = added(rand64(rows * dim, 13), (g) => norms.rmsnormBackward(w, x, weight, rstd, g,
      new Float64Array(dim), rows, dim));
    const dw = added(rand64(dim, 14), (g) => norms.rmsnormBackward(w, x, weight, rstd,
      new Float64Array(rows * dim), g, rows, dim));
    checkGradient('rmsnorm dx', x, loss, dx);
    checkGradient('rmsnorm dweight', weight, loss, dw);
  });

  for (const [name, fwd, bwd] of [
    ['gelu', act.geluForward, act.geluBackward],
    ['silu', act.siluForward, act.siluBackward],
  ] as const) {
    it(`${name}`, () => {
      const n = 41;
      const x = rand64(n, 20, 5);
      x[0] = 0;
      x[1] = -12;
      x[2] = 12;
      const w = rand64(n, 21);
      const out = new Float64Array(n);
      const loss = (): number => {
        fwd(x, out, n);
        return dot(out, w);
      };
      const dx = added(rand64(n, 22), (g) => bwd(x, w, g, n));
      checkGradient(`${name} dx`, x, loss, dx);
    });
  }

  it('swiglu: gate and up', () => {
    const n = 33;
    const gate = rand64(n, 30, 5);
    const up = rand64(n, 31, 2);
    const w = rand64(n, 32);
    const out = new Float64Array(n);
    const loss = (): number => {
      act.swigluForward(gate, up, out, n);
      return dot(out, w);
    };
    const dgate = added(rand64(n, 33), (g) => act.swigluBackward(gate, up, w, g, new Float64Array(n), n));
    const dup = added(rand64(n, 34), (g) => act.swigluBackward(gate, up, w, new Float64Array(n), g, n));
    checkGradient('swiglu dgate', gate, loss, dgate);
    checkGradient('swiglu dup', up, loss, dup);
  });

  it('rope, including the unrotated rest of the row and a position offset', () => {
    const rows = 4;
    const seq = 2;
    const width = 11;
    const rotHeads = 2;
    const headDim = 4;
    const posOffset = 3;
    const tables = ropeTables(posOffset + seq, headDim, 10000);
    const cos = Float64Array.from(tables.cos);
    const sin = Float64Array.from(tables.sin);
    const x = rand64(rows * width, 40);
    const w = rand64(rows * width, 41);
    const out = new Float64Array(rows * width);
    const loss = (): number => {
      ropeForward(x, out, cos, sin, rows, seq, width, rotHeads, headDim, posOffset);
      return dot(out, w);
    };
    const dx = added(rand64(rows * width, 42), (g) =>
      ropeBackward(w, g, cos, sin, rows, seq, width, rotHeads, headDim, posOffset));
    checkGradient('rope dx', x, loss, dx);
  });

  it('rope with position ids (packed rows)', () => {
    const rows = 5;
    const width = 10;
    const tables = ropeTables(9, 4, 10000);
    const cos = Float64Array.from(tables.cos);
    const sin = Float64Array.from(tables.sin);
    const ids = Int32Array.from([0, 1, 2, 0, 5]);
    const x = rand64(rows * width, 44);
    const w = rand64(rows * width, 45);
    const out = new Float64Array(rows * width);
    const loss = (): number => {
      ropeForward(x, out, cos, sin, rows, rows, width, 2, 4, 3, ids);
      return dot(out, w);
    };
    const dx = added(rand64(rows * width, 46), (g) => ropeBackward(w, g, cos, sin, rows, rows, width, 2, 4, 3, ids));
    checkGradient('rope dx (position ids)', x, loss, dx);
  });

  it('rope backward inverts rope forward (rotations are orthogonal)', () => {
    const rows = 6;
    const width = 20;
    const { cos, sin } = ropeTables(8, 8, 500000);
    const x = Float64Array.from(rand64(rows * width, 43));
    const y = new Float64Array(rows * width);
    ropeForward(x, y, Float64Array.from(cos), Float64Array.from(sin), rows, 3, width, 2, 8, 5);
    const back = new Float64Array(rows * width);
    ropeBackward(y, back, Float64Array.from(cos), Float64Array.from(sin), rows, 3, width, 2, 8, 5);
    for (let i = 0; i < x.length; i++) expect(back[i]).toBeCloseTo(x[i], 6);
  });

  it('embedding: table, with repeated ids', () => {
    const n = 6;
    const dim = 3;
    const vocab = 4;
    const ids = new Int32Array([2, 0, 2, 3, 2, 0]);
    const table = rand64(vocab * dim, 50);
    const w = rand64(n * dim, 51);
    const out = new Float64Array(n * dim);
    const loss = (): number => {
      embeddingForward(ids, table, out, n, dim, vocab);
      return dot(out, w);
    };
    const dtable = added(rand64(vocab * dim, 52), (g) => embeddingBackward(ids, w, g, n, dim, vocab));
    checkGradient('embedding dtable', table, loss, dtable);
  });

  it('cross-entropy: logits, with an ignored row', () => {
    const rows = 4;
    const vocab = 9;
    const logits = rand64(rows * vocab, 60, 3);
    const targets = new Int32Array([1, -1, 8, 0]);
    const losses = new Float64Array(rows);
    const gradScale = 0.37;
    const loss = (): number => {
      crossEntropyForwardBackward(logits, targets, losses, null, rows, vocab, gradScale);
      return gradScale * losses.reduce((a, b) => a + b, 0);
    };
    const dlogits = new Float64Array(rows * vocab);
    expect(crossEntropyForwardBackward(logits, targets, losses, dlogits, rows, vocab, gradScale)).toBe(3);
    checkGradient('cross-entropy dlogits', logits, loss, dlogits);
  });

  it('logprob: logits, with an ignored row', () => {
    const rows = 3;
    const vocab = 7;
    const logits = rand64(rows * vocab, 70, 3);
    const targets = new Int32Array([6, 2, -5]);
    const dlogp = rand64(rows, 71);
    const logp = new Float64Array(rows);
    const loss = (): number => {
      logprobForward(logits, targets, logp, rows, vocab);
      return dot(logp, dlogp);
    };
    const dlogits = added(rand64(rows * vocab, 72), (g) => logprobBackward(logits, targets, dlogp, g, rows, vocab));
    checkGradient('logprob dlogits', logits, loss, dlogits);
  });

  it('mul: a and b', () => {
    const n = 9;
    const a = rand64(n, 80);
    const b = rand64(n, 81);
    const w = rand64(n, 82);
    const out = new Float64Array(n);
    const loss = (): number => {
      mul(a, b, out, n);
      return dot(out, w);
    };
    const da = added(rand64(n, 83), (g) => mulBackward(a, b, w, g, new Float64Array(n), n));
    const db = added(rand64(n, 84), (g) => mulBackward(a, b, w, new Float64Array(n), g, n));
    checkGradient('mul da', a, loss, da);
    checkGradient('mul db', b, loss, db);
  });
});
