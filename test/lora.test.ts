// LoRA: the adapter math inside ops.linear (gradients by finite differences, dropout),
// the frozen base (no gradients, no optimizer state), targets per family, and the
// inference engine running the adapters exactly as the training forward does.
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/tensor/tensor.js';
import { Graph, withGraph } from '../src/autograd/graph.js';
import * as ops from '../src/autograd/ops.js';
import { useBackend } from '../src/tensor/registry.js';
import { GPT } from '../src/nn/gpt.js';
import type { GPTConfig } from '../src/nn/config.js';
import { parseLoraTargets, peftTargetModules, rolesFromPeft, type LoraConfig } from '../src/nn/lora.js';
import { AdamW } from '../src/optim/adamw.js';
import { InferenceEngine } from '../src/infer/engine.js';
import { expectClose, randomF32, randomIds } from './helpers.js';

const param = (shape: number[], seed: number, scale = 1): Tensor => new Tensor(randomF32(shape.reduce((a, b) => a * b, 1), seed, scale), shape, true);

/** Central differences of Σ linear(...)·R, evaluated on a recording graph so dropout masks are the same as in backward. */
function gradCheckLinear(x: Tensor, w: Tensor, b: Tensor | null, terms: ops.LoraTerm[], eps = 1e-2, tol = 2e-2): void {
  const inputs = [x, w, ...(b ? [b] : []), ...terms.flatMap((t) => [t.a, t.b])];
  let r: Tensor | null = null;
  const loss = (g: Graph): Tensor => withGraph(g, () => {
    g.reset();
    const y = ops.linear(x, w, b, terms);
    r ??= new Tensor(randomF32(y.size, 99), y.shape);
    return ops.sum(ops.mul(y, r));
  });
  const g = new Graph(true);
  for (const t of inputs) t.grad = null;
  g.backward(loss(g));
  const analytic = inputs.map((t) => Float32Array.from(t.grad as Float32Array));
  inputs.forEach((t, ti) => {
    for (let p = 0; p < 5; p++) {
      const i = Math.floor(((p + 0.5) / 5) * t.size);
      const orig = t.data[i];
      t.data[i] = orig + eps;
      const plus = loss(new Graph(true)).item();
      t.data[i] = orig - eps;
      const minus = loss(new Graph(true)).item();
      t.data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      expect(Math.abs(analytic[ti][i] - numeric), `input ${ti} element ${i}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(numeric)));
    }
  });
}

const term = (a: Tensor, b: Tensor, col: number, dropout = 0, seed = 0): ops.LoraTerm => ({ a, b, scale: 2, col, dropout, seed });

for (const backend of ['js', 'native'] as const) {
  describe(`LoRA in ops.linear (${backend} kernels)`, () => {
    it('gradients of x, W, b, A and B match finite differences (one adapter on the full output)', () => {
      useBackend(backend);
      gradCheckLinear(param([5, 6], 1), param([4, 6], 2), param([4], 3), [term(param([3, 6], 4), param([4, 3], 5), 0)]);
    });
    it('adapters on column slices (llama q/k/v in the packed projection)', () => {
      useBackend(backend);
      gradCheckLinear(param([4, 6], 6), param([8, 6], 7), null, [term(param([2, 6], 8), param([4, 2], 9), 0), term(param([2, 6], 10), param([2, 2], 11), 6)]);
    });
    it('with dropout on the adapter input (the mask regenerated in backward)', () => {
      useBackend(backend);
      gradCheckLinear(param([6, 8], 12), param([5, 8], 13), null, [term(param([3, 8], 14), param([5, 3], 15), 0, 0.3, 1234)]);
    });
  });
}

describe('LoRA dropout', () => {
  it('drops about p of the inputs, deterministically, and never at inference', () => {
    useBackend('js');
    const x = new Tensor(new Float32Array(4000).fill(1), [1000, 4]);
    const w = new Tensor(new Float32Array(4), [1, 4]);
    const a = new Tensor(new Float32Array([1, 0, 0, 0]), [1, 4], true); // u = drop(x)[:, 0]
    const b = new Tensor(new Float32Array([1]), [1, 1], true);
    const run = (g: Graph, seed: number): Float32Array => withGraph(g, () => Float32Array.from(ops.linear(x, w, null, [{ a, b, scale: 1, col: 0, dropout: 0.25, seed }]).data));
    const y1 = run(new Graph(true), 7);
    const dropped = y1.filter((v) => v === 0).length;
    expect(dropped).toBeGreaterThan(200);
    expect(dropped).toBeLessThan(300);
    for (const v of y1) if (v !== 0) expect(v).toBeCloseTo(1 / 0.75, 5);
    expect(run(new Graph(true), 7)).toEqual(y1);
    expect(run(new Graph(true), 8)).not.toEqual(y1);
    expect(Array.from(run(new Graph(false), 7)).every((v) => v === 1)).toBe(true);
  });
});

const gpt2Config: GPTConfig = { family: 'gpt2', vocabSize: 40, contextLength: 16, nLayer: 2, nHead: 2, nKvHead: 2, nEmbd: 16, mlpHidden: 64, bias: true, tiedEmbeddings: true, normEps: 1e-5, ropeTheta: 10000 };
const llamaConfig: GPTConfig = { family: 'llama', vocabSize: 40, contextLength: 16, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 16, mlpHidden: 24, bias: false, tiedEmbeddings: false, normEps: 1e-5, ropeTheta: 10000 };
const lora = (c: GPTConfig, targets = 'all', dropout = 0): LoraConfig => ({ rank: 4, alpha: 8, dropout, targets: parseLoraTargets(targets, c.family), seed: 5 });

/** A LoRA model whose B matrices are non-zero, so the adapters change the output. */
function adapted(c: GPTConfig, targets = 'all'): GPT {
  const m = new GPT(c, { frozen: true, lora: lora(c, targets) }).init(3);
  m.adapters.forEach((a, i) => a.b.data.set(randomF32(a.b.size, 100 + i, 0.2)));
  return m;
}

describe('LoRA on the GPT', () => {
  it('targets: roles per family, PEFT module names both ways, clear errors', () => {
    expect(parseLoraTargets('attn', 'llama')).toEqual(['q', 'k', 'v', 'o']);
    expect(parseLoraTargets('mlp', 'gpt2')).toEqual(['up', 'down']);
    expect(parseLoraTargets('down,q', 'llama')).toEqual(['q', 'down']);
    expect(() => parseLoraTargets('q', 'gpt2')).toThrow(/c_attn/);
    expect(() => parseLoraTargets('gate', 'gpt2')).toThrow(/no gate/);
    expect(() => parseLoraTargets('qq', 'llama')).toThrow(/unknown target 'qq'/);
    expect(peftTargetModules('gpt2', parseLoraTargets('all', 'gpt2'))).toEqual(['c_attn', 'attn.c_proj', 'c_fc', 'mlp.c_proj']);
    expect(peftTargetModules('llama', ['q', 'v'])).toEqual(['q_proj', 'v_proj']);
    expect(rolesFromPeft('gpt2', ['c_attn', 'c_proj'], 'x')).toEqual(['q', 'k', 'v', 'o', 'down']);
    expect(rolesFromPeft('llama', ['q_proj', 'o_proj'], 'x')).toEqual(['q', 'o']);
  });

  it('the base is frozen: no gradients, no optimizer state; B = 0 leaves the output unchanged', () => {
    useBackend('js');
    const base = new GPT(llamaConfig).init(3);
    const m = new GPT(llamaConfig, { frozen: true, lora: lora(llamaConfig) }).init(3);
    expect(m.adapters.map((a) => a.module).slice(0, 7)).toEqual([
      'model.layers.0.self_attn.q_proj', 'model.layers.0.self_attn.k_proj', 'model.layers.0.self_attn.v_proj', 'model.layers.0.self_attn.o_proj',
      'model.layers.0.mlp.gate_proj', 'model.layers.0.mlp.up_proj', 'model.layers.0.mlp.down_proj',
    ]);
    for (const [name, t] of m.params.named()) {
      if (!name.includes('lora_')) t.data.set(base.params.get(name).data);
      expect(t.grad === null, name).toBe(!name.includes('lora_'));
    }
    const adapterCount = m.adapters.reduce((s, a) => s + a.a.size + a.b.size, 0);
    expect(new AdamW(m.params).m.length).toBe(adapterCount);
    expect(m.params.grad.length).toBe(adapterCount); // no gradient buffer for the base
    const ids = randomIds(12, 40, 1);
    const g = new Graph(false);
    expectClose(withGraph(g, () => Float32Array.from(m.logits(ids, 2, 6).data)), withGraph(g, () => Float32Array.from(base.logits(ids, 2, 6).data)), 1e-6, 1e-6);
  });

  it('one training step moves only the adapters', () => {
    useBackend('js');
    const m = adapted(gpt2Config);
    const before = Float32Array.from(m.params.data);
    const opt = new AdamW(m.params);
    const g = new Graph(true);
    withGraph(g, () => {
      g.reset();
      m.params.zeroGrad();
      g.backward(m.loss(randomIds(16, 40, 2), randomIds(16, 40, 3), 2, 8));
    });
    opt.step(1e-2);
    for (const [name, t] of m.params.named()) {
      const off = t.data.byteOffset / 4 - m.params.data.byteOffset / 4;
      const moved = t.data.some((v, i) => v !== before[off + i]);
      expect(moved, name).toBe(name.includes('lora_'));
    }
  });

  for (const [family, c] of [['gpt2', gpt2Config], ['llama', llamaConfig]] as const) {
    it(`${family}: engine logits (KV cache, prefill then decode) equal the training forward with adapters`, () => {
      for (const backend of ['js', 'native'] as const) {
        useBackend(backend);
        const m = adapted(c, family === 'llama' ? 'q,v,o,gate,down' : 'all');
        const ids = randomIds(10, 40, 4);
        const want = withGraph(new Graph(false), () => Float32Array.from(m.logits(ids, 1, 10).data)); // (10, V)
        const e = new InferenceEngine(m);
        const got = new Float32Array(10 * 40);
        got.set(e.feedAllLogits(0, ids.subarray(0, 6)));
        for (let t = 6; t < 10; t++) got.set(e.decode([0], [ids[t]]), t * 40);
        expectClose(got, want, 1e-4, 1e-4);
        // and the adapters matter: the base alone gives other logits
        const base = new GPT(c).init(3);
        const plain = withGraph(new Graph(false), () => Float32Array.from(base.logits(ids, 1, 10).data));
        expect(Math.max(...plain.map((v, i) => Math.abs(v - want[i])))).toBeGreaterThan(1e-3);
      }
    });
  }
});
