/**
 * Stage two of the flow: text → tokens. Byte-level BPE: train on your corpus, or load GPT-2's or any
 * byte-level BPE in Hugging Face tokenizer.json, tiktoken or encoder.json + vocab.bpe form.
 */
export type { EncodeOptions, Tokenizer } from './types.js';
export { BpeTokenizer, type BpeTokenizerInit, type Normalizer } from './tokenizer.js';
export type { BpeModel, Merge } from './bpe.js';
export {
  loadTokenizer,
  tokenizerFromHfJson,
  tokenizerFromTiktoken,
  tokenizerFromGpt2Files,
  TokenizerFileError,
  type LoadOptions,
} from './load.js';
export {
  trainTokenizer,
  trainTokenizerDetailed,
  checkTrainOptions,
  DEFAULT_SPECIAL_TOKENS,
  type TrainOptions,
  type TrainResult,
  type TrainStats,
} from './train.js';
export { GPT2_PATTERN, GPT4_PATTERN, resolvePattern, type Pattern, type PatternName } from './pretokenize.js';
export { setBatchThreads } from './batch.js';
export { setNativeTokenizer } from './native.js';
export { TerminalProgress, silentProgress, type ProgressReporter } from './progress.js';
export { bytesToTokenString } from './bytes.js';
