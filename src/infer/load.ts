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
import type { BpeTokenizer } from '../tokenizer/index.js';
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
 * tokenizer.json, but must fit the model: its vocabulary size must be the one the model was
 * trained with (the checkpoint's own tokenizer's; without one, the model's rows), and one of
 * that size that is still another tokenizer (another hash) gets one warning — its ids would
 * mean other text. Every failure is one error naming the file and the problem.
 */
export async function loadForGeneration(
  modelPath: string,
  tokenizerPath?: string,
  warn: (message: string) => void = (m) => process.stderr.write(`llmforge: warning: ${m}\n`),
): Promise<LoadedModel> {
  const { model, dir } = loadModel(modelPath);
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

/** A prompt's ids: the document-start token (when there is one and `bos`), then the text. */
export function encodePrompt(t: Tokenizer, text: string, start: number | null, bos = true): number[] {
  const ids = Array.from(t.encode(text));
  return bos && start !== null ? [start, ...ids] : ids;
}
