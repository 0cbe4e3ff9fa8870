import { describe, expect, it } from 'vitest';
import { GPT } from '../src/nn/gpt.js';
import { preset, parseConfig, type GPTConfig } from '../src/nn/config.js';
import { AdamW, ADAMW_DEFAULTS } from '../src/optim/adamw.js';
import { TrainStep } from '../src/train/step.js';
import { Graph, withGraph } from '../src/autograd/graph.js';
import { setThreads } from '../src/tensor/registry.js';
import { Tensor } from '../src/tensor/tensor.js';
import * as ops from '../src/autograd/ops.js';
import { packedLayout } from '../src/nn/packing.js';
import { expectClose, randomF32, randomIds } from './helpers.js';

const tinyGpt2: GPTConfig = { ...preset('tiny'), vocabSize: 64, contextLength: 16, nEmbd: 32, nLayer: 2, nHead: 4, bias: true };
const tinyLlama: GPTConfig = {
  family: 'llama', vocabSize: 64, contextLength: 16, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 32, mlpHidden: 48,
  bias: false, tiedEmbeddings: false, normEps: 1e-5, ropeTheta: 10000,
};

function trainSteps(config: GPTConfig, steps: number, seed = 7): Float32Array {
  const model = new GPT(config).init(seed);
  const step = new TrainStep(model, new AdamW(model.params, ADAMW_DEFAULTS), 2, config.contextLength, 1.0);
  for (let i = 0; i < steps; i++) {
    const ids = randomIds(2 * config.contextLength, config.vocabSize, 100 + i);
    const targets = randomIds(2 * config.contextLength, config.vocabSize, 200 + i);
    step.run([{ inputs: ids, targets }], 1e-3);
  }
  return Float32Array.from(model.params.data);
}

for (const [name, config] of [['gpt2', tinyGpt2], ['llama', tinyLlama]] as const) {
  describe(`GPT (${name} family)`, () => {
    it('starts near uniform loss ln(V)', () => {
      const model = new GPT(config).init(1);
      const T = config.contextLength;
      const loss = withGraph(new Graph(false), () => model.loss(randomIds(2 * T, 64, 1), randomIds(2 * T, 64, 2), 2, T).item());
      expect(Math.abs(loss - Math.log(64))).toBeLessThan(0.2);
    });

    it('uses Hugging Face parameter names', () => {
      const names = new GPT(config).params.named().map(([n]) => n);
      if (name === 'gpt2') {
        expect(names).toContain('transformer.h.0.attn.c_attn.weight');
        expect(names).toContain('transformer.wpe.weight');
        expect(names).not.toContain('lm_head.weight'); // tied
      } else {
        expect(names).toContain('model.layers.1.self_attn.k_proj.weight');
        expect(names).toContain('model.layers.0.mlp.gate_proj.weight');
        expect(names).toContain('lm_head.weight');
      }
    });

    it('learns: loss falls on a repeated batch', () => {
      const model = new GPT(config).init(3);
      const step = new TrainStep(model, new AdamW(model.params, ADAMW_DEFAULTS), 2, config.contextLength, 1.0);
      const ids = randomIds(2 * config.contextLength, config.vocabSize, 5);
      const targets = ids.map((v) => (v + 1) % config.vocabSize);
      const first = step.run([{ inputs: ids, targets }], 3e-3).loss;
      let last = first;
      for (let i = 0; i < 30; i++) last = step.run([{ inputs: ids, targets }], 3e-3).loss;
      expect(last).toBeLessThan(first * 0.6);
    });

    it('is deterministic: same seed and threads give bit-identical weights', () => {
      setThreads(2);
      const a = trainSteps(config, 3);
      const b = trainSteps(config, 3);
      expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    });

    it('allocates no new buffers after the first step', () => {
      const model = new GPT(config).init(1);
      const step = new TrainStep(model, new AdamW(model.params, ADAMW_DEFAULTS), 2, config.contextLength, 1.0);
      const ids = randomIds(2 * config.contextLength, config.vocabSize, 1);
      step.run([{ inputs: ids, targets: ids }], 1e-3);
      const after1 = step.graph.allocations;
      step.run([{ inputs: ids, targets: ids }], 1e-3);
      step.run([{ inputs: ids, targets: ids }, { inputs: ids, targets: ids }], 1e-3);
      expect(step.graph.allocations).toBe(after1);
    });
  });
}

/** Runs f on a recording graph with zeroed gradients: f's output and the parameter gradients of its sum. */
function outputAndGrads(model: GPT, f: () => Tensor): { out: Float32Array; grad: Float32Array } {
  model.params.zeroGrad();
  const g = new Graph(true);
  const out = withGraph(g, () => {
    const y = f();
    g.backward(ops.sum(y));
    return Float32Array.from(y.data);
  });
  return { out, grad: Float32Array.from(model.params.grad) };
}

const tinyPreset: GPTConfig = preset('tiny');
for (const [name, config] of [['gpt2 preset tiny', tinyPreset], ['llama tiny', { ...tinyLlama, contextLength: 160 }]] as const) {
  describe(`packed rows (${name})`, () => {
    // Row 0 packs sequences of 70 and 50 tokens (crossing a 64-token kernel tile) plus
    // 8 tokens of padding; row 1 holds one sequence of 9 tokens and padding.
    const T = 128;
    const lengths = [[70, 50], [9]];
    const { positions, segStart } = packedLayout(lengths, T);
    const V = config.vocabSize;
    const ids = randomIds(2 * T, V, 60);
    const targets = randomIds(2 * T, V, 61);
    const starts = [[0, 70], [T]]; // where each sequence begins in the flat (B·T) arrays
    for (let i = 120; i < T; i++) targets[i] = -1; // padding is never scored
    for (let i = T + 9; i < 2 * T; i++) targets[i] = -1;
    const model = new GPT(config).init(11);
    const weights = randomF32(2 * T, 62); // upstream gradient per token

    it('gives the logits and the gradients of the sequences run separately', () => {
      const packedLogits = withGraph(new Graph(false), () => Float32Array.from(model.logits(ids, 2, T, { positions, segStart }).data));
      const packed = outputAndGrads(model, () => {
        const lp = model.tokenLogProbs(ids, targets, 2, T, { positions, segStart });
        return ops.mul(lp, new Tensor(weights, [2 * T]));
      });
      const grad = new Float32Array(packed.grad.length);
      lengths.forEach((row, b) => row.forEach((n, k) => {
        const o = starts[b][k];
        const logits = withGraph(new Graph(false), () => model.logits(ids.subarray(o, o + n), 1, n).data);
        expectClose(packedLogits.subarray(o * V, (o + n) * V), logits, 2e-5, 1e-4);
        const one = outputAndGrads(model, () => {
          const lp = model.tokenLogProbs(ids.slice(o, o + n), targets.slice(o, o + n), 1, n);
          return ops.mul(lp, new Tensor(weights.slice(o, o + n), [n]));
        });
        expectClose(packed.out.subarray(o, o + n), one.out, 2e-5, 1e-4);
        for (let i = 0; i < grad.length; i++) grad[i] += one.grad[i];
      }));
      const scale = grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale).toBeGreaterThan(0);
      expectClose(packed.grad, grad, 1e-5 * scale, 1e-3);
    });

    it('without segStart the sequences do see each other (the mask is what separates them)', () => {
      const leaky = withGraph(new Graph(false), () => Float32Array.from(model.logits(ids, 2, T, { positions }).data));
      const sealed = withGraph(new Graph(false), () => Float32Array.from(model.logits(ids, 2, T, { positions, segStart }).data));
      const first = 70 * V; // the first token of the second sequence
      expect(Math.abs(leaky[first] - sealed[first])).toBeGreaterThan(1e-4);
      expect(leaky.subarray(0, first)).toEqual(sealed.subarray(0, first));
    });

    it('tokenLogProbs agree with the mean loss', () => {
      withGraph(new Graph(false), () => {
        const lp = model.tokenLogProbs(ids, targets, 2, T, { positions, segStart }).data;
        const loss = model.loss(ids, targets, 2, T, { positions, segStart }).item();
        const count = targets.filter((t) => t >= 0).length;
        expect(Math.abs(-lp.reduce((a, v) => a + v, 0) / count - loss)).toBeLessThan(1e-4);
      });
    });
  });
}

describe('packedLayout', () => {
  it('restarts positions per sequence and pads the rest of the row', () => {
    const { positions, segStart } = packedLayout([[2, 3], [4]], 6);
    expect(Array.from(positions)).toEqual([0, 1, 0, 1, 2, 0, 0, 1, 2, 3, 0, 1]);
    expect(Array.from(segStart)).toEqual([0, 0, 2, 2, 2, 5, 0, 0, 0, 0, 4, 4]);
  });

  it('rejects lengths that do not fit', () => {
    expect(() => packedLayout([[4, 3]], 6)).toThrow(/row 0: sequences of 4 \+ 3 tokens exceed T = 6/);
    expect(() => packedLayout([[2], [0]], 6)).toThrow(/row 1, sequence 0: length must be a positive integer, got 0/);
  });

  it('GPT rejects position ids and segment starts of the wrong size or range', () => {
    const model = new GPT(tinyGpt2).init(1);
    const ids = new Int32Array(8);
    withGraph(new Graph(false), () => {
      expect(() => model.hidden(ids, 2, 4, { positions: new Int32Array(7) })).toThrow(/7 position ids for batch 2 × sequence 4/);
      expect(() => model.hidden(ids, 2, 4, { segStart: new Int32Array(9) })).toThrow(/9 segment starts for batch 2 × sequence 4/);
      expect(() => model.hidden(ids, 2, 4, { positions: Int32Array.from([0, 1, 2, 16, 0, 0, 0, 0]) })).toThrow(/position id 16 at token 3 is outside \[0, 16\)/);
      expect(() => model.hidden(ids, 2, 4, { segStart: Int32Array.from([0, 2, 0, 0, 0, 0, 0, 0]) })).toThrow(/segStart\[1\] = 2 must be in \[0, 1\]/);
    });
  });
});

describe('config validation', () => {
  it('rejects unknown presets, unknown keys and bad sizes', () => {
    expect(() => preset('huge')).toThrow(/unknown preset 'huge'/);
    expect(() => parseConfig({ ...tinyGpt2, nLayers: 3 })).toThrow(/nLayers|Unrecognized/);
    expect(() => parseConfig({ ...tinyGpt2, nEmbd: 30 })).toThrow(/nEmbd: n_embd \(30\) must be divisible by n_head \(4\)/);
    expect(() => parseConfig({ ...tinyGpt2, nLayer: 0 })).toThrow(/nLayer/);
  });

  it('rejects a sequence longer than the context', () => {
    const model = new GPT(tinyGpt2).init(1);
    expect(() => withGraph(new Graph(false), () => model.hidden(new Int32Array(34), 2, 17))).toThrow(/exceeds the context length 16/);
  });
});
