/**
 * The per-document work that runs on the tokenization threads: the exact-dedup hash,
 * near-dedup keys, the UTF-8 size and the tokens (separator first).
 */
import type { Tokenizer } from '../tokenizer/types.js';
import { BANDS, NUM_PERM, SHINGLE_WORDS, exactHash, nearKeys } from './dedup.js';

export interface BatchResult {
  count: number;
  hashHi: Uint32Array;
  hashLo: Uint32Array;
  /** UTF-8 bytes of each document's text. */
  textBytes: Uint32Array;
  /** Tokens of all documents, each preceded by the separator. */
  tokens: Uint32Array;
  /** Document i's tokens are tokens[offsets[i] .. offsets[i+1]). */
  offsets: Float64Array;
  /** 1 where the document has near-dedup keys. */
  nearOk: Uint8Array;
  bands: Uint32Array;
  fingerprints: Uint8Array;
}

export interface BatchOptions {
  near: boolean;
  separatorId: number;
}

/** Everything but the tokens: hashes, UTF-8 sizes and near-dedup keys. */
export type Analysis = Omit<BatchResult, 'tokens' | 'offsets'>;

export function analyzeBatch(texts: readonly string[], near: boolean): Analysis {
  const n = texts.length;
  const hashHi = new Uint32Array(n);
  const hashLo = new Uint32Array(n);
  const textBytes = new Uint32Array(n);
  const nearOk = new Uint8Array(n);
  const bands = new Uint32Array(near ? n * BANDS : 0);
  const fingerprints = new Uint8Array(near ? n * NUM_PERM : 0);
  const scratch = new Uint32Array(NUM_PERM + SHINGLE_WORDS);
  for (let i = 0; i < n; i++) {
    const text = texts[i];
    const [hi, lo] = exactHash(text);
    hashHi[i] = hi;
    hashLo[i] = lo;
    textBytes[i] = Buffer.byteLength(text, 'utf8');
    if (near && nearKeys(text, bands, i * BANDS, fingerprints, i * NUM_PERM, scratch)) nearOk[i] = 1;
  }
  return { count: n, hashHi, hashLo, textBytes, nearOk, bands, fingerprints };
}

/** Joins the documents' tokens into one buffer, each document preceded by the separator. */
export function assembleBatch(analysis: Analysis, encoded: readonly Uint32Array[], separatorId: number): BatchResult {
  const n = encoded.length;
  let total = 0;
  for (const ids of encoded) total += ids.length + 1;
  const tokens = new Uint32Array(total);
  const offsets = new Float64Array(n + 1);
  let off = 0;
  for (let i = 0; i < n; i++) {
    offsets[i] = off;
    tokens[off++] = separatorId;
    tokens.set(encoded[i], off);
    off += encoded[i].length;
  }
  offsets[n] = off;
  return { ...analysis, tokens, offsets };
}

export function processBatch(tokenizer: Tokenizer, texts: readonly string[], opts: BatchOptions): BatchResult {
  const analysis = analyzeBatch(texts, opts.near);
  return assembleBatch(analysis, texts.map((t) => tokenizer.encode(t)), opts.separatorId);
}

/** The buffers of a result, for transferring it between threads without copies. */
export function transferList(r: BatchResult): ArrayBuffer[] {
  return [r.hashHi, r.hashLo, r.textBytes, r.tokens, r.offsets, r.nearOk, r.bands, r.fingerprints].map(
    (a) => a.buffer as ArrayBuffer,
  );
}
