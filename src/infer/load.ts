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
 * tokenizer.json: one with another vocabulary size than the checkpoint's own tokenizer (or
 * more ids than the model) is refused; the same size but other tokens is only a warning.
 * Every failure is one error naming the file and the problem.
 */
export async function loadForGeneration(
  modelPath: string,
  tokenizerPath?: string,
  onWarning: (message: string) => void = (m) => void process.stderr.write(`warning: ${m}\n`),
  adapterPath?: string,
): Promise<LoadedModel> {
  // An adapter runs unmerged: the base's Linear layers carry it, in training and in the engine alike.
  const { model, dir } = adapterPath === undefined ? loadModel(modelPath) : loadModelWithAdapter(modelPath, adapterPath);
  const own = join(dir, 'tokenizer.json');
  const tokPath = tokenizerPath ?? own;
  if (tokenizerPath === undefined && !existsSync(tokPath)) {
    throw new Error(`${dir}: the checkpoint has no tokenizer.json (pass --tokenizer PATH)`);
  }
  const tokenizer = await loadTokenizer(tokPath);
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new Error(`${tokPath}: the tokenizer has ${tokenizer.vocabSize} ids but the model in ${dir} only ${model.config.vocabSize}`);
  }
  if (tokenizerPath !== undefined && existsSync(own)) {
    const trained = await loadTokenizer(own);
    if (trained.vocabSize !== tokenizer.vocabSize) {
      throw new Error(`--tokenizer ${tokenizerPath}: ${tokenizer.vocabSize} tokens, but the model in ${dir} was trained with ${trained.vocabSize} (its tokenizer.json)`);
    }
    if (trained.hash !== tokenizer.hash) {
      onWarning(`--tokenizer ${tokenizerPath} is not the tokenizer the model in ${dir} was trained with (hash ${tokenizer.hash.slice(0, 12)}, the checkpoint's ${trained.hash.slice(0, 12)}): ids may mean other text`);
    }
  }
  return { model, dir, tokenizer, documentStart: documentStartToken(tokenizer), endTokens: endTokenIds(tokenizer) };
}
