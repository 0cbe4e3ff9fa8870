/**
 * Loading a model for generation: the checkpoint (a run folder's latest, or a checkpoint
 * folder), its tokenizer, and the tokens that frame a document (src/model/framing.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GPT } from '../nn/gpt.js';
import { loadModel } from '../model/checkpoint.js';
import { loadModelWithAdapter } from '../model/adapter.js';
import { documentStartToken, endTokenIds } from '../model/framing.js';
import { loadTokenizer } from '../tokenizer/index.js';
import type { BpeTokenizer } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';

export { DOCUMENT_START_TOKENS, END_TOKENS, documentStartToken, endTokenIds, encodePrompt } from '../model/framing.js';

export interface LoadedModel {
  model: GPT;
  /** The checkpoint directory that was loaded. */
  dir: string;
  tokenizer: Tokenizer;
  /** The document-start token prompts begin with, or null when the tokenizer has none. */
  documentStart: number | null;
  /** Ids that end generation by default: the document separator and end-of-text tokens. */
  endTokens: number[];
}

/**
 * Loads the model and tokenizer of a checkpoint. `tokenizerPath` overrides the checkpoint's
 * tokenizer.json, but must fit the model: its vocabulary size must be the one the model was
 * trained with (the checkpoint's own tokenizer's; without one, the model's rows), and one of
 * that size that is still another tokenizer (another hash) gets one warning — its ids would
 * mean other text. Every failure is one error naming the file and the problem.
 */
export async function loadForGeneration(
  modelPath: string,
  tokenizerPath?: string,
  warn: (message: string) => void = (m) => process.stderr.write(`llmforge: warning: ${m}\n`),
  adapterPath?: string,
): Promise<LoadedModel> {
  // An adapter runs unmerged: the base's Linear layers carry it, in training and in the engine alike.
  const { model, dir } = adapterPath === undefined ? loadModel(modelPath) : loadModelWithAdapter(modelPath, adapterPath);
  const ownPath = join(dir, 'tokenizer.json');
  const hasOwn = existsSync(ownPath);
  if (tokenizerPath === undefined && !hasOwn) {
    throw new Error(`${dir}: the checkpoint has no tokenizer.json (pass --tokenizer PATH)`);
  }
  const tokenizer = await loadTokenizer(tokenizerPath ?? ownPath);
  const V = model.config.vocabSize;
  if (tokenizerPath === undefined) {
    if (tokenizer.vocabSize > V) throw new Error(`${ownPath}: the tokenizer has ${tokenizer.vocabSize} ids but the model in ${dir} only ${V}`);
  } else {
    const own = hasOwn ? await ownTokenizer(ownPath, warn) : null;
    // A model may have more rows than its tokenizer has ids (padding), so the own tokenizer decides.
    const want = own?.vocabSize ?? V;
    if (tokenizer.vocabSize !== want) {
      throw new Error(`--tokenizer ${tokenizerPath}: ${tokenizer.vocabSize} tokens, but the model in ${dir} was trained with ${want} ` +
        `(${own ? 'its tokenizer.json' : 'its embedding rows; the checkpoint has no tokenizer.json'}); a tokenizer must match the model it is used with`);
    }
    if (own && own.hash !== tokenizer.hash) {
      warn(`--tokenizer ${tokenizerPath} is not the tokenizer the model in ${dir} was trained with: same ${want} tokens, but another ` +
        `vocabulary (hash ${tokenizer.hash.slice(0, 12)}, the checkpoint's ${own.hash.slice(0, 12)}), so ids may mean other text`);
    }
  }
  return { model, dir, tokenizer, documentStart: documentStartToken(tokenizer), endTokens: endTokenIds(tokenizer) };
}

/** The checkpoint's own tokenizer, to check --tokenizer against; unreadable, it cannot decide (one warning). */
async function ownTokenizer(path: string, warn: (message: string) => void): Promise<BpeTokenizer | null> {
  try {
    return await loadTokenizer(path);
  } catch (err) {
    warn(`cannot check --tokenizer against the checkpoint's own tokenizer (${err instanceof Error ? err.message : String(err)})`);
    return null;
  }
}
