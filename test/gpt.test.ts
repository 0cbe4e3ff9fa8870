import { describe, expect, it } from 'vitest';
import { GPT } from '../src/nn/gpt.js';
import { preset, parseConfig, type GPTConfig } from '../src/nn/config.js';
import { AdamW, ADAMW_DEFAULTS } from '../src/optim/adamw.js';
import { TrainStep } from '../src/train/step.js';
import { Graph, withGraph } from '../src/autograd/graph.js';
import { setThreads } from '../src/tensor/registry.js';
import { randomIds } from './helpers.js';

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
