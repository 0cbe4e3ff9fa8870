/**
 * The tokenizer's view of the native addon (native/src/bpe.cc): a pre-tokenizer + BPE encoder for
 * the gpt2/gpt4 patterns, the batch encoder on the addon's thread pool, and the training hot loops.
 * Everything here has a JavaScript twin; these functions are used only when the addon has them.
 */
import { nativeAddon } from '../tensor/native.js';

/** Opaque handle to a native encoder. */
export type NativeEncoderHandle = object & { readonly __bpeEncoder?: never };

export interface BpeNative {
  /** pattern 0 = gpt2, 1 = gpt4; merges in rank order; classRanges from unicodeClassRanges(). */
  bpeCreate(
    pattern: number,
    byteIds: Int32Array,
    mergeA: Int32Array,
    mergeB: Int32Array,
    mergeResult: Int32Array,
    classRanges: Uint32Array,
  ): NativeEncoderHandle;
  bpeEncode(handle: NativeEncoderHandle, text: string): Uint32Array;
  /** Encodes every text on the thread pool. */
  bpeEncodeBatch(handle: NativeEncoderHandle, texts: readonly string[]): Uint32Array[];
}

export interface BpeTrainNative {
  /**
   * Creates a piece counter for pattern 0 (gpt2) / 1 (gpt4); `count(text)` adds the text's pieces,
   * `take()` returns them as (UTF-8 bytes, offsets, counts) and frees the counter.
   */
  bpeCounterCreate(pattern: number, classRanges: Uint32Array): object;
  bpeCounterAdd(counter: object, texts: readonly string[]): void;
  bpeCounterTake(counter: object): { bytes: Uint8Array; offsets: Uint32Array; counts: Float64Array };
  /**
   * Runs the merge loop over words (byte strings with counts) until `numTokens` tokens exist
   * (see merge-loop.ts for the rule). Returns the merges as a flat Int32Array of (a, b) pairs.
   */
  bpeTrainMerges(
    bytes: Uint8Array,
    offsets: Uint32Array,
    counts: Float64Array,
    numTokens: number,
    minFrequency: number,
    progress: (tokens: number) => void,
  ): Int32Array;
}

function has(addon: Record<string, unknown>, names: string[]): boolean {
  return names.every((n) => typeof addon[n] === 'function');
}

let disabled = process.env.LLMFORGE_NATIVE_TOKENIZER === '0';

/** Turns the native tokenizer paths off (tests compare them with the JavaScript ones this way). */
export function setNativeTokenizer(enabled: boolean): void {
  disabled = !enabled;
}

export function bpeNative(): BpeNative | null {
  if (disabled) return null;
  const addon = nativeAddon();
  if (!addon || !has(addon, ['bpeCreate', 'bpeEncode', 'bpeEncodeBatch'])) return null;
  return addon as unknown as BpeNative;
}

export function bpeTrainNative(): BpeTrainNative | null {
  if (disabled) return null;
  const addon = nativeAddon();
  if (!addon || !has(addon, ['bpeCounterCreate', 'bpeCounterAdd', 'bpeCounterTake', 'bpeTrainMerges'])) return null;
  return addon as unknown as BpeTrainNative;
}
