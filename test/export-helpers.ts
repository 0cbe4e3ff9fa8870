/** Shared fixtures of the export tests: a small trained tokenizer and seeded checkpoints of both families. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPT } from '../src/nn/gpt.js';
import { preset, type GPTConfig } from '../src/nn/config.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { trainTokenizer, type BpeTokenizer } from '../src/tokenizer/index.js';

export const BIBLE = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');

export async function testTokenizer(pattern: 'gpt2' | 'gpt4' = 'gpt4', vocabSize = 300): Promise<BpeTokenizer> {
  return trainTokenizer({ texts: [BIBLE], vocabSize, pattern, progress: false });
}

/** Small configs of every shape the export handles: gpt2 with/without biases, tied/untied; llama MHA/GQA. */
export const CONFIGS: Record<string, GPTConfig> = {
  'gpt2 tied, no biases': { ...preset('tiny'), vocabSize: 320, contextLength: 64, nEmbd: 64, nHead: 2, nKvHead: 2, mlpHidden: 128 },
  'gpt2 untied, biases': { ...preset('tiny'), vocabSize: 320, contextLength: 64, nEmbd: 64, nHead: 4, nKvHead: 4, mlpHidden: 96, bias: true, tiedEmbeddings: false },
  'llama tied, GQA': { ...preset('small'), vocabSize: 320, contextLength: 64, nLayer: 2, nEmbd: 64, nHead: 4, nKvHead: 2, mlpHidden: 96 },
  'llama untied, MHA': { ...preset('small'), vocabSize: 320, contextLength: 64, nLayer: 2, nEmbd: 64, nHead: 2, nKvHead: 2, mlpHidden: 160, tiedEmbeddings: false, ropeTheta: 5000 },
};

/**
 * A seeded model whose weights are scaled up so greedy decoding has clear winners (random
 * N(0, 0.02) weights give near-uniform logits, where float rounding could flip a tie); biases
 * and norm gains are perturbed so a dropped or misplaced one changes the output.
 */
export function testModel(config: GPTConfig, seed = 7): GPT {
  const model = new GPT(config).init(seed);
  let k = 0;
  for (const [name, t] of model.params.named()) {
    const norm = /ln_|norm/.test(name);
    for (let i = 0; i < t.data.length; i++) {
      k = (k * 1103515245 + 12345) % 2147483648;
      const jitter = (k / 2147483648 - 0.5) * 0.2;
      t.data[i] = norm ? t.data[i] + jitter : name.endsWith('.bias') ? jitter : t.data[i] * 6;
    }
  }
  return model;
}

export function saveTestCheckpoint(dir: string, model: GPT, tok: BpeTokenizer): string {
  return saveCheckpoint(dir, 'step-000001', { model, tokenizerJson: tok.toTokenizerJson() });
}
