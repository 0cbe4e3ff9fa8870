/**
 * The tokenizer as the rest of llmforge sees it. Data prep, training (bits per byte),
 * chat templates, generation and export all go through this interface.
 */
export interface EncodeOptions {
  /**
   * Special-token strings in the text become their special ids only when allowed:
   * 'all', or a set of the allowed strings. Otherwise they are encoded as plain text.
   */
  allowedSpecial?: 'all' | ReadonlySet<string>;
}

export interface Tokenizer {
  /** Number of ids, special tokens included. */
  readonly vocabSize: number;
  encode(text: string, options?: EncodeOptions): Uint32Array;
  /** Encodes many texts spread over all cores; same result as encode on each. */
  encodeBatch(texts: readonly string[], options?: EncodeOptions): Promise<Uint32Array[]>;
  /** Exact inverse of encode for any string. Invalid UTF-8 from partial sequences becomes U+FFFD. */
  decode(ids: ArrayLike<number>): string;
  /** The raw bytes of the ids (streaming decoders use it to never split a UTF-8 character). */
  decodeBytes(ids: ArrayLike<number>): Uint8Array;
  /** Special tokens by name (e.g. '<|eos|>' → id). */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** Byte length of each id's text (0 for special tokens): val bits-per-byte needs it. */
  tokenByteLength(id: number): number;
  /** The Hugging Face tokenizer.json text of this tokenizer. */
  toTokenizerJson(): string;
  /** A stable content hash (hex sha256 of the tokenizer.json text). */
  readonly hash: string;
}
