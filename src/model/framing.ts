/**
 * The tokens that frame a document. Token shards put a separator before every document
 * (data stage: <|bos|> preferred), so a prompt starts with that token, and the model
 * producing it — or an end-of-text token — ends the text.
 */
import type { Tokenizer } from '../tokenizer/types.js';

/** Document separators in the data stage's order of preference (src/data/prepare.ts). */
export const DOCUMENT_START_TOKENS = ['<|bos|>', '<|endoftext|>', '<|begin_of_text|>', '<s>'];
/** Special tokens that end generated text when present in the tokenizer. */
export const END_TOKENS = ['<|eos|>', '<|endoftext|>', '<|end_of_text|>', '</s>', '<|eot_id|>', '<|im_end|>', '<|end|>'];

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

/** A prompt's ids: the document-start token (when there is one and `bos`), then the text. */
export function encodePrompt(t: Tokenizer, text: string, start: number | null, bos = true): number[] {
  const ids = Array.from(t.encode(text));
  return bos && start !== null ? [start, ...ids] : ids;
}
