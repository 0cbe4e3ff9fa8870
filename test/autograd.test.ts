/**
 * Wiring checks for every differentiable op: the tape's gradients match central
 * finite differences of the forward pass. (Kernel-level float64 gradient checks
 * live in the kernels-*.test.ts files; this tests that ops route them correctly.)
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/tensor/tensor.js';
import { Graph, withGraph } from '../src/autograd/graph.js';
import * as ops from '../src/autograd/ops.js';
import { ropeTables } from '../src/tensor/ref/rope.js';
import { useBackend } from '../src/tensor/registry.js';
import { randomF32, randomIds } from './helpers.js';

type Build = (inputs: Tensor[]) => Tensor;

/** loss = Σ out · R for a fixed random R, so every output element matters. */
function scalarLoss(build: Build, inputs: Tensor[], weightsSeed: number): Tensor {
  const out = build(inputs);
  if (out.size === 1) return out;
  const r = new Tensor(randomF32(out.size, weightsSeed), out.shape);
  return ops.sum(ops.mul(out, r));
}

function gradCheck(build: Build, inputs: Tensor[], probes = 6, eps = 1e-2, tol = 2e-2): void {
  const g = new Graph(true);
  withGraph(g, () => {
    g.reset();
    for (const t of inputs) t.grad = null;
    const loss = scalarLoss(build, inputs, 99);
    g.backward(loss);
  });
  const analytic = inputs.map((t) => (t.grad ? Float32Array.from(t.grad) : null));
  const evalLoss = (): number => withGraph(new Graph(false), () => scalarLoss(build, inputs, 99).item());
  inputs.forEach((t, ti) => {
    if (!t.requiresGrad) return;
    const grad = analytic[ti];
    expect(grad, `input ${ti} has no gradient`).not.toBeNull();
    for (let p = 0; p < probes; p++) {
      const i = Math.floor(((p + 0.5) / probes) * t.size);
      const orig = t.data[i];
      t.data[i] = orig + eps;
      const plus = evalLoss();
      t.data[i] = orig - eps;
      const minus = evalLoss();
      t.data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const a = (grad as Float32Array)[i];
      expect(Math.abs(a - numeric), `input ${ti} element ${i}: analytic ${a} vs numeric ${numeric}`).toBeLessThanOrEqual(
        tol * Math.max(1, Math.abs(numeric)),
      );
    }
  });
}

const param = (shape: number[], seed: number, scale = 1): Tensor => new Tensor(randomF32(shape.reduce((a, b) => a * b, 1), seed, scale), shape, true);

for (const backend of ['js', 'native'] as const) {
  describe(`autograd ops (${backend} kernels)`, () => {
    it.each([
      ['linear with bias', () => gradCheck(([x, w, b]) => ops.linear(x, w, b), [param([5, 6], 1), param([4, 6], 2), param([4], 3)])],
      ['linear without bias', () => gradCheck(([x, w]) => ops.linear(x, w), [param([3, 7], 4), param([5, 7], 5)])],
      ['matmul', () => gradCheck(([a, b]) => ops.matmul(a, b), [param([3, 4], 6), param([4, 5], 7)])],
      ['batched matmul transB', () => gradCheck(([a, b]) => ops.matmul(a, b, true), [param([2, 3, 4], 8), param([2, 5, 4], 9)])],
      ['embedding', () => {
        const ids = randomIds(7, 5, 10);
        gradCheck(([t]) => ops.embedding(ids, t), [param([5, 3], 11)], 8);
      }],
      ['addPositions', () => gradCheck(([x, p]) => ops.addPositions(x, p, 2, 3), [param([6, 4], 12), param([5, 4], 13)])],
      ['add, mul, scale', () => gradCheck(([a, b]) => ops.scale(ops.mul(ops.add(a, b), b), 0.7), [param([9], 14), param([9], 15)])],
      ['mean', () => gradCheck(([a]) => ops.mean(ops.mul(a, a)), [param([11], 16)])],
      ['layerNorm', () => gradCheck(([x, w, b]) => ops.layerNorm(x, w, b, 1e-5), [param([4, 8], 17), param([8], 18), param([8], 19)])],
      ['rmsNorm', () => gradCheck(([x, w]) => ops.rmsNorm(x, w, 1e-5), [param([4, 8], 20), param([8], 21)])],
      ['gelu', () => gradCheck(([x]) => ops.gelu(x), [param([13], 22, 2)])],
      ['silu', () => gradCheck(([x]) => ops.silu(x), [param([13], 23, 2)])],
      ['swiglu', () => gradCheck(([a, b]) => ops.swiglu(a, b), [param([13], 24, 2), param([13], 25)])],
      ['rope', () => {
        const t = ropeTables(8, 4, 10000);
        const tables = { ...t, maxPos: 8, headDim: 4 };
        gradCheck(([x]) => ops.rope(x, tables, 2, 3, 2, 1), [param([6, 12], 26)], 10);
      }],
      ['causalAttention (GQA)', () => gradCheck(([qkv]) => ops.causalAttention(qkv, 2, 3, 4, 2, 4), [param([6, (4 + 4) * 4], 27)], 12)],
      ['causalAttention over packed rows (segStart)', () => {
        const seg = Int32Array.from([0, 1, 1, 1, 0, 0, 2, 3]); // row 0: [1][3 tokens]; row 1: [2][1][1]
        gradCheck(([qkv]) => ops.causalAttention(qkv, 2, 4, 4, 2, 4, seg), [param([8, (4 + 4) * 4], 32)], 12);
      }],
      ['rope with position ids', () => {
        const t = ropeTables(8, 4, 10000);
        const tables = { ...t, maxPos: 8, headDim: 4 };
        gradCheck(([x]) => ops.rope(x, tables, 2, 3, 2, 1, Int32Array.from([0, 1, 0, 2, 6, 3])), [param([6, 12], 33)], 10);
      }],
      ['addPositions with position ids', () => {
        const ids = Int32Array.from([0, 1, 0, 2, 0, 1]);
        gradCheck(([x, p]) => ops.addPositions(x, p, 2, 3, ids), [param([6, 4], 34), param([5, 4], 35)], 10);
      }],
      ['lmHeadLogProbs in chunks', () => {
        const targets = Int32Array.from([2, 0, -1, 5, 1, 3, 4]);
        gradCheck(([x, w]) => ops.lmHeadLogProbs(x, w, targets, 3), [param([7, 5], 36), param([6, 5], 37)], 10);
      }],
      ['crossEntropy with ignored rows', () => {
        const targets = Int32Array.from([1, -1, 4, 0]);
        gradCheck(([l]) => ops.crossEntropy(l, targets), [param([4, 6], 28, 2)], 10);
      }],
      ['lmHeadCrossEntropy in chunks', () => {
        const targets = Int32Array.from([2, 0, -1, 5, 1, 3, 4]);
        gradCheck(([x, w]) => ops.lmHeadCrossEntropy(x, w, targets, 3), [param([7, 5], 29), param([6, 5], 30)], 10);
      }],
      ['segmentSum', () => gradCheck(([x]) => ops.segmentSum(x, Int32Array.from([0, -1, 1, 1, 0, 2]), 3), [param([6], 41)])],
      ['preferenceLoss sigmoid', () => gradCheck(([s]) => ops.preferenceLoss(s, randomF32(6, 43), 0.7, 'sigmoid'), [param([6], 42, 2)])],
      ['preferenceLoss ipo', () => gradCheck(([s]) => ops.preferenceLoss(s, randomF32(6, 45), 0.4, 'ipo'), [param([6], 44)])],
      ['rowDot', () => gradCheck(([h, w]) => ops.rowDot(h, Int32Array.from([2, 0, 2]), w), [param([3, 5], 46), param([1, 5], 47)])],
      ['logprobs', () => {
        const targets = Int32Array.from([1, 2, -1]);
        gradCheck(([l]) => ops.logprobs(l, targets), [param([3, 5], 31, 2)]);
      }],
    ])('%s', (_name, run) => {
      useBackend(backend);
      try {
        run();
      } finally {
        useBackend('native');
      }
    });
  });
}

describe('fused LM head', () => {
  it('equals linear + crossEntropy', () => {
    const x = param([10, 8], 40);
    const w = param([12, 8], 41);
    const targets = randomIds(10, 12, 42);
    targets[3] = -1;
    const g = new Graph(false);
    withGraph(g, () => {
      const fused = ops.lmHeadCrossEntropy(x, w, targets, 4).item();
      const plain = ops.crossEntropy(ops.linear(x, w), targets).item();
      expect(Math.abs(fused - plain)).toBeLessThan(1e-5);
    });
  });
});

describe('fused LM head log-probabilities', () => {
  it('equal logprobs of linear, forward and gradients', () => {
    const targets = randomIds(9, 12, 43);
    targets[4] = -1;
    const run = (fused: boolean) => {
      const x = param([9, 8], 44);
      const w = param([12, 8], 45);
      const g = new Graph(true);
      const out = withGraph(g, () => {
        const lp = fused ? ops.lmHeadLogProbs(x, w, targets, 4) : ops.logprobs(ops.linear(x, w), targets);
        g.backward(ops.sum(ops.mul(lp, new Tensor(randomF32(9, 46), [9]))));
        return Float32Array.from(lp.data);
      });
      return { out, dx: Float32Array.from(x.grad ?? []), dw: Float32Array.from(w.grad ?? []) };
    };
    const a = run(true);
    const b = run(false);
    expect(a.out[4]).toBe(0);
    for (const k of ['out', 'dx', 'dw'] as const) {
      expect(a[k].length).toBeGreaterThan(0);
      for (let i = 0; i < a[k].length; i++) expect(Math.abs(a[k][i] - b[k][i]), `${k}[${i}]`).toBeLessThan(1e-5);
    }
  });
});

describe('bad input', () => {
  it('names the op and the shapes', () => {
    const g = new Graph(false);
    withGraph(g, () => {
      expect(() => ops.linear(param([2, 3], 1), param([4, 5], 2))).toThrow(/linear: input \[2, 3\] does not match weight \[4, 5\]/);
      expect(() => ops.add(param([2], 1), param([3], 2))).toThrow(/add: shapes \[2\] and \[3\]/);
      expect(() => ops.causalAttention(param([2, 10], 1), 1, 2, 3, 2, 1)).toThrow(/causalAttention: n_head \(3\) must be a multiple/);
      expect(() => ops.crossEntropy(param([2, 3], 1), Int32Array.from([0, 3]))).toThrow(/target 3 at row 1 is outside the vocabulary \(3\)/);
      expect(() => ops.causalAttention(param([4, 12], 1), 2, 2, 1, 1, 4, Int32Array.from([0, 2, 0, 0]))).toThrow(/causalAttention: segStart\[1\] = 2 must be in \[0, 1\]/);
      expect(() => ops.causalAttention(param([4, 12], 1), 2, 2, 1, 1, 4, new Int32Array(3))).toThrow(/causalAttention: 3 segment starts for B·T=4/);
      expect(() => ops.addPositions(param([4, 2], 1), param([3, 2], 2), 2, 2, Int32Array.from([0, 1, 3, 0]))).toThrow(/addPositions: position id 3 at token 2 is outside \[0, 3\)/);
      const t = { ...ropeTables(4, 2, 10000), maxPos: 4, headDim: 2 };
      expect(() => ops.rope(param([2, 2], 1), t, 1, 2, 1, 0, Int32Array.from([0, 4]))).toThrow(/rope: position id 4 at token 1 is outside \[0, 4\)/);
      expect(() => ops.lmHeadLogProbs(param([2, 3], 1), param([5, 3], 2), Int32Array.from([0, 5]))).toThrow(/lmHeadLogProbs: target 5 at row 1/);
    });
  });
});
