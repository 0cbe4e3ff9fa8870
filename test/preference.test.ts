/**
 * The preference ops (segmentSum, preferenceLoss, rowDot): the kernels against a direct
 * float64 computation and central finite differences, and the DPO/IPO loss of a fused LM
 * head (per-token log-probs → sums per reply → loss) with its gradient against the same
 * loss written out in float64.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/tensor/tensor.js';
import { Graph, withGraph } from '../src/autograd/graph.js';
import * as ops from '../src/autograd/ops.js';
import { preferenceLoss, rowDotBackward, rowDotForward, segmentSumBackward, segmentSumForward } from '../src/tensor/ref/preference.js';
import { randomF32, randomIds } from './helpers.js';

const logSig = (z: number): number => -Math.log(1 + Math.exp(-z));

/** The DPO / IPO loss of one pair, written out (Rafailov et al. eq. 7; Azar et al. eq. 17). */
function direct(pc: number, pr: number, rc: number, rr: number, beta: number, kind: 0 | 1): number {
  const h = pc - rc - (pr - rr);
  return kind === 0 ? -logSig(beta * h) : (h - 1 / (2 * beta)) ** 2;
}

describe('preference kernels (float64)', () => {
  for (const kind of [0, 1] as const) {
    it(`preferenceLoss ${kind === 0 ? 'sigmoid' : 'ipo'}: value and gradient`, () => {
      const P = 5;
      const beta = kind === 0 ? 0.3 : 0.1;
      const s = Float64Array.from(randomF32(2 * P, 3, 4));
      const ref = Float64Array.from(randomF32(2 * P, 4, 4));
      const losses = new Float64Array(P);
      const d = new Float64Array(2 * P);
      preferenceLoss(s, ref, losses, d, P, beta, kind, 0.5);
      for (let p = 0; p < P; p++) expect(losses[p]).toBeCloseTo(direct(s[2 * p], s[2 * p + 1], ref[2 * p], ref[2 * p + 1], beta, kind), 12);
      const total = (x: Float64Array): number => {
        const l = new Float64Array(P);
        preferenceLoss(x, ref, l, null, P, beta, kind, 0);
        return 0.5 * l.reduce((a, b) => a + b, 0);
      };
      for (let i = 0; i < 2 * P; i++) {
        const eps = 1e-6;
        const plus = Float64Array.from(s);
        plus[i] += eps;
        const minus = Float64Array.from(s);
        minus[i] -= eps;
        expect(d[i]).toBeCloseTo((total(plus) - total(minus)) / (2 * eps), 7);
      }
    });
  }

  it('preferenceLoss stays finite for huge margins', () => {
    const l = new Float64Array(2);
    const d = new Float64Array(4);
    preferenceLoss(Float64Array.from([1e4, -1e4, -1e4, 1e4]), new Float64Array(4), l, d, 2, 1, 0, 1);
    expect(l[0]).toBe(0);
    expect(l[1]).toBeCloseTo(2e4, 6);
    expect([...d].every(Number.isFinite)).toBe(true);
  });

  it('segmentSum and rowDot match loops and their backward is the transpose', () => {
    const x = Float64Array.from(randomF32(9, 1));
    const seg = Int32Array.from([0, 0, -1, 2, 2, 2, -1, 1, 0]);
    const out = new Float64Array(3);
    segmentSumForward(x, seg, out, 9, 3);
    expect(out[0]).toBeCloseTo(x[0] + x[1] + x[8], 14);
    expect(out[1]).toBeCloseTo(x[7], 14);
    expect(out[2]).toBeCloseTo(x[3] + x[4] + x[5], 14);
    const dx = new Float64Array(9).fill(1);
    segmentSumBackward(Float64Array.from([10, 20, 30]), seg, dx, 9);
    expect([...dx]).toEqual([11, 11, 1, 31, 31, 31, 1, 21, 11]);
    expect(() => segmentSumForward(x, Int32Array.from([3]), out, 1, 3)).toThrow(/segment 3 at 0/);

    const h = Float64Array.from(randomF32(4 * 3, 2));
    const w = Float64Array.from(randomF32(3, 5));
    const rows = Int32Array.from([3, 1, 3]);
    const r = new Float64Array(3);
    rowDotForward(h, rows, w, r, 3, 3);
    expect(r[1]).toBeCloseTo(h[3] * w[0] + h[4] * w[1] + h[5] * w[2], 14);
    const dh = new Float64Array(12);
    const dw = new Float64Array(3);
    rowDotBackward(h, rows, w, Float64Array.from([1, 2, 3]), dh, dw, 3, 3);
    expect(dh[9]).toBeCloseTo(4 * w[0], 14); // row 3 picked twice, weights 1 and 3
    expect(dw[2]).toBeCloseTo(4 * h[11] + 2 * h[5], 14);
  });
});

/**
 * DPO through the fused LM head: x (N, C) hidden states, w (V, C) head, sequences marked by
 * seg; the loss and dL/dx from the tape against float64 arithmetic written out here.
 */
describe.each(['js', 'native'] as const)('DPO loss through the LM head (%s kernels)', (backendName) => {
  for (const kind of ['sigmoid', 'ipo'] as const) {
    it(`${kind}: loss and gradient equal a direct float64 computation`, async () => {
      const { useBackend } = await import('../src/tensor/registry.js');
      useBackend(backendName);
      const N = 14;
      const C = 6;
      const V = 11;
      const beta = kind === 'sigmoid' ? 0.5 : 0.2;
      const x = new Tensor(randomF32(N * C, 11, 1), [N, C], true);
      const w = new Tensor(randomF32(V * C, 12, 1), [V, C], true);
      const targets = randomIds(N, V, 13);
      // Two pairs: (chosen 0, rejected 1), (chosen 2, rejected 3); -1: prompt or padding.
      const seg = Int32Array.from([-1, 0, 0, 0, -1, 1, 1, -1, 2, 2, -1, 3, 3, 3]);
      for (let i = 0; i < N; i++) if (seg[i] < 0) targets[i] = -1;
      const ref = Float32Array.from([-9.5, -8.25, -7, -10.5]);
      const g = new Graph(true);
      let loss = 0;
      withGraph(g, () => {
        const lp = ops.lmHeadLogProbs(x, w, targets, 4);
        const l = ops.preferenceLoss(ops.segmentSum(lp, seg, 4), ref, beta, kind);
        loss = l.item();
        g.backward(l);
      });
      // float64: logits, log-softmax, sums per sequence, loss, then dL/dx by the chain rule.
      const logits = (i: number): number[] => Array.from({ length: V }, (_, v) => {
        let a = 0;
        for (let c = 0; c < C; c++) a += x.data[i * C + c] * w.data[v * C + c];
        return a;
      });
      const sums = [0, 0, 0, 0];
      const soft: number[][] = [];
      for (let i = 0; i < N; i++) {
        const l = logits(i);
        const m = Math.max(...l);
        const lse = m + Math.log(l.reduce((a, b) => a + Math.exp(b - m), 0));
        soft.push(l.map((z) => Math.exp(z - lse)));
        if (seg[i] >= 0) sums[seg[i]] += l[targets[i]] - lse;
      }
      const k = kind === 'sigmoid' ? 0 : 1;
      const want = (direct(sums[0], sums[1], ref[0], ref[1], beta, k) + direct(sums[2], sums[3], ref[2], ref[3], beta, k)) / 2;
      expect(loss).toBeCloseTo(want, 4);
      const dSum = [0, 0, 0, 0];
      for (const p of [0, 1]) {
        const h = sums[2 * p] - ref[2 * p] - (sums[2 * p + 1] - ref[2 * p + 1]);
        const dh = k === 0 ? -beta / (1 + Math.exp(beta * h)) : 2 * (h - 1 / (2 * beta));
        dSum[2 * p] = dh / 2;
        dSum[2 * p + 1] = -dh / 2;
      }
      for (let i = 0; i < N; i++) {
        for (let c = 0; c < C; c++) {
          let d = 0;
          if (seg[i] >= 0) for (let v = 0; v < V; v++) d += dSum[seg[i]] * ((v === targets[i] ? 1 : 0) - soft[i][v]) * w.data[v * C + c];
          expect(Math.abs((x.grad as Float32Array)[i * C + c] - d), `dx[${i}, ${c}]`).toBeLessThan(1e-4 * Math.max(1, Math.abs(d)));
        }
      }
      useBackend('native');
    });
  }
});

describe('preference ops: shapes', () => {
  it('errors name the op', () => {
    const s = new Tensor(new Float32Array(3), [3], true);
    expect(() => ops.preferenceLoss(s, new Float32Array(3), 0.1, 'sigmoid')).toThrow(/preferenceLoss/);
    expect(() => ops.preferenceLoss(new Tensor(new Float32Array(2), [2]), new Float32Array(2), 0, 'ipo')).toThrow(/beta must be > 0/);
    expect(() => ops.segmentSum(s, new Int32Array(2), 1)).toThrow(/segmentSum: 2 segment ids for 3 values/);
    expect(() => ops.rowDot(new Tensor(new Float32Array(6), [2, 3]), Int32Array.from([2]), new Tensor(new Float32Array(3), [3]))).toThrow(/rowDot: row 2/);
  });
});
