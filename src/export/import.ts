/**
 * `llmforge import`: a Hugging Face GPT-2 or Llama folder (config.json, model.safetensors or
 * sharded, tokenizer.json) → an llmforge checkpoint folder that generate, train --init-from
 * and export take as --model. Export → import gives back the same config and bit-identical
 * weights (F32 export; F16/BF16 exports import as exactly the rounded values).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPT } from '../nn/gpt.js';
import type { GPTConfig } from '../nn/config.js';
import { writeSafetensors } from '../tensor/safetensors.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { hfConfig } from '../model/hf-config.js';
import { writeFileAtomic } from '../util/atomic.js';
import { fromHfConfig } from './hf-config.js';
import { readHfWeights } from './hf-files.js';
import { gpt2BiasesAreZero, loadHfTensors, withBasePrefix } from './hf-layout.js';
import { checkNewDir, writeDirAtomic } from './out-dir.js';

export interface ImportResult {
  config: GPTConfig;
  parameters: number;
  tokenizerVocab: number;
}

export async function importHf(from: string, out: string): Promise<ImportResult> {
  if (!existsSync(from)) throw new Error(`--from ${from}: no such folder`);
  checkNewDir(out, '--out');
  const configPath = join(from, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new Error(`${configPath}: cannot read the model config (${(err as Error).message})`);
  }
  let config = fromHfConfig(raw, configPath);
  const tokPath = join(from, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new Error(`${from}: no tokenizer.json (llmforge imports models with a Hugging Face fast tokenizer)`);
  const tokenizer = await loadTokenizer(tokPath);
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(`${tokPath}: the tokenizer has ${tokenizer.vocabSize} ids but ${configPath} says vocab_size ${config.vocabSize}`);
  }
  const weights = withBasePrefix(readHfWeights(from), config.family);
  // HF's GPT-2 always has biases; all-zero ones are a bias-free model (what our export writes for one).
  if (config.family === 'gpt2' && gpt2BiasesAreZero(weights)) config = { ...config, bias: false };
  const model = new GPT(config);
  loadHfTensors(model, weights, from);
  await writeDirAtomic(out, '--out', (tmp) => {
    writeSafetensors(join(tmp, 'model.safetensors'), model.params.named(), { format: 'pt', layout: 'llmforge' });
    writeFileAtomic(join(tmp, 'config.json'), `${JSON.stringify(hfConfig(config), null, 2)}\n`);
    writeFileAtomic(join(tmp, 'tokenizer.json'), tokenizer.toTokenizerJson());
  });
  return { config, parameters: model.params.count, tokenizerVocab: tokenizer.vocabSize };
}
