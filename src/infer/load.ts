/**
 * Loading a model for generation: the checkpoint (a run folder's latest, or a checkpoint
 * folder), its tokenizer, and the tokens that frame a document. Token shards put a
 * separator before every document (data stage: <|bos|> preferred), so a prompt starts with
 * that token, and the model producing it — or an end-of-text token — ends the text.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GPT } from '../nn/gpt.js';
import { loadModel } from '../train/checkpoint.js';
import { loadTokenizer } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';

/** Document separators in the data stage's order of preference (src/data/prepare.ts). */
export const DOCUMENT_START_TOKENS = ['<|bos|>', '<|endoftext|>', '<|begin_of_text|>', '<s>'];
/** Special tokens that end generated text when present in the tokenizer. */
export const END_TOKENS = ['<|eos|>', '<|endoftext|>', '<|end_of_text|>', '</s>', '<|eot_id|>', '<|im_end|>', '<|end|>'];

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

/** The document-start token of a tokenizer (null if it has none of DOCUMENT_START_TOKENS). */
export function documentStartToken(t: Tokenizer): number | null {
  for (const name of DOCUMENT_START_TOKENS) {
    const id = t.specialTokens.get(name);
    if (id !== undefined) return id;
  }
  return null;
}

/** Ids of the tokenizer's end tokens (the document separator included). */
export function endTokenIds(t: Tokenizer): number[] {
  const ids = new Set<number>();
  const start = documentStartToken(t);
  if (start !== null) ids.add(start);
  for (const name of END_TOKENS) {
    const id = t.specialTokens.get(name);
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/**
 * Loads the model and tokenizer of a checkpoint. `tokenizerPath` overrides the checkpoint's
 * tokenizer.json. Every failure is one error naming the file and the problem.
 */
export async function loadForGeneration(modelPath: string, tokenizerPath?: string): Promise<LoadedModel> {
  const { model, dir } = loadModel(modelPath);
  const tokPath = tokenizerPath ?? join(dir, 'tokenizer.json');
  if (tokenizerPath === undefined && !existsSync(tokPath)) {
    throw new Error(`${dir}: the checkpoint has no tokenizer.json (pass --tokenizer PATH)`);
  }
  const tokenizer = await loadTokenizer(tokPath);
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new Error(`${tokPath}: the tokenizer has ${tokenizer.vocabSize} ids but the model in ${dir} only ${model.config.vocabSize}`);
  }
  return { model, dir, tokenizer, documentStart: documentStartToken(tokenizer), endTokens: endTokenIds(tokenizer) };
}

/** A prompt's ids: the document-start token (when there is one and `bos`), then the text. */
export function encodePrompt(t: Tokenizer, text: string, start: number | null, bos = true): number[] {
  const ids = Array.from(t.encode(text));
  return bos && start !== null ? [start, ...ids] : ids;
}
