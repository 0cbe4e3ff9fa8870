/** Text samples from fixed prompts (the trainer's eval, the quickstart): the quickest sanity check of a model. */
import type { GPT } from '../nn/gpt.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { documentStartToken, encodePrompt, endTokenIds } from '../model/framing.js';
import { InferenceEngine } from './engine.js';
import { generate } from './generate.js';

/**
 * Continues each prompt by up to `maxNewTokens` tokens (temperature 0.8, top-k 40), in
 * one batch, deterministic per seed. Prompts that don't fit the context give ''.
 */
export function sampleTexts(model: GPT, tokenizer: Tokenizer, prompts: readonly string[], maxNewTokens: number, seed: number): string[] {
  const T = model.config.contextLength;
  // Documents start with the separator token in training, so prompts do too.
  const start = documentStartToken(tokenizer);
  const encoded = prompts.map((p) => encodePrompt(tokenizer, p, start));
  const usable = encoded.filter((ids) => ids.length > 0 && ids.length < T);
  if (usable.length === 0 || maxNewTokens === 0) return prompts.map(() => '');
  const longest = Math.max(...usable.map((ids) => ids.length));
  const engine = new InferenceEngine(model, { maxBatch: usable.length });
  const results = generate(engine, usable, {
    maxNewTokens: Math.min(maxNewTokens, T - longest), temperature: 0.8, topK: 40, topP: 1, seed,
    stopTokens: endTokenIds(tokenizer), contextOverflow: 'stop',
  }, { tokenizer });
  let next = 0;
  return encoded.map((ids) => (ids.length > 0 && ids.length < T ? results[next++].text : ''));
}
