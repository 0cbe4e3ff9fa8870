/**
 * Training a byte-level BPE tokenizer: stream the inputs, count distinct pre-tokens (memory grows
 * with the number of distinct pieces, not the corpus), run the merge loop, append the special tokens.
 * The counting and merge hot loops run natively when the addon has them (gpt2/gpt4 patterns), with
 * the same result as the JavaScript path.
 */
import { access, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname } from 'node:path';
import { type Merge } from './bpe.js';
import { SkipSource } from '../data/index.js';
import { fileSegments, listInputFiles, type InputFile } from './input.js';
import { trainMergesJs, type Words, type MergeResult } from './merge-loop.js';
import { bpeTrainNative } from './native.js';
import { compilePattern, resolvePattern, type Pattern } from './pretokenize.js';
import { defaultProgress, silentProgress, type ProgressReporter } from './progress.js';
import { BpeTokenizer } from './tokenizer.js';
import { unicodeClassRanges } from './unicode.js';
import { utf8 } from './bytes.js';
import { writeFileAtomic } from '../util/atomic.js';

/** Special tokens reserved when none are given: what chat templates need. */
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = [
  '<|bos|>',
  '<|eos|>',
  '<|pad|>',
  '<|system|>',
  '<|user|>',
  '<|assistant|>',
  '<|end|>',
];

export interface TrainOptions {
  /** Files, folders (recursively) or globs, found as `data prepare` finds them; `.gz` decompressed, binary files skipped. */
  input?: string | readonly string[];
  /** Texts to train on instead of (or besides) files. */
  texts?: Iterable<string> | AsyncIterable<string>;
  /** Total vocabulary: 256 bytes + merges + special tokens. */
  vocabSize: number;
  /** 'gpt2', 'gpt4' (default) or a regular expression. */
  pattern?: string;
  /** Special tokens, in id order after the BPE tokens (default DEFAULT_SPECIAL_TOKENS). */
  specialTokens?: readonly string[];
  /** Stop when no pair occurs this often (default 1: fill the vocabulary if the corpus allows). */
  minFrequency?: number;
  /** Write tokenizer.json here (atomically: a temp file renamed into place). */
  out?: string;
  /** true: terminal progress bar (default when stderr is a terminal); false: none; or a reporter. */
  progress?: boolean | ProgressReporter;
  /** Use the native hot loops when available (default true). */
  native?: boolean;
  /** Input files left out (binary, unreadable, no text extension); default: a line on stderr. */
  onWarning?: (message: string) => void;
}

export interface TrainStats {
  seconds: number;
  /** UTF-16 characters of text trained on. */
  chars: number;
  /** Bytes read from disk. */
  bytesRead: number;
  /** Distinct pre-tokens. */
  words: number;
  merges: number;
  vocabSize: number;
  backend: 'native' | 'js';
}

export interface TrainResult {
  tokenizer: BpeTokenizer;
  stats: TrainStats;
}

/** Validates options before any work: a bad vocab size or special list fails at once. */
export function checkTrainOptions(o: TrainOptions): { pattern: Pattern; specials: string[] } {
  const specials = [...(o.specialTokens ?? DEFAULT_SPECIAL_TOKENS)];
  const seen = new Set<string>();
  for (const s of specials) {
    if (typeof s !== 'string' || s === '') throw new Error('special tokens must be non-empty strings');
    if (seen.has(s)) throw new Error(`duplicate special token '${s}'`);
    seen.add(s);
  }
  const min = 256 + specials.length;
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < min) {
    throw new Error(
      `vocab size ${o.vocabSize} is too small: it must be at least 256 (bytes) + ${specials.length} (special tokens) = ${min}`,
    );
  }
  if (o.minFrequency !== undefined && !(o.minFrequency >= 1)) throw new Error(`minFrequency must be >= 1, got ${o.minFrequency}`);
  if (o.input === undefined && o.texts === undefined) throw new Error('no input: give input files or texts');
  return { pattern: resolvePattern(o.pattern ?? 'gpt4'), specials };
}

export async function trainTokenizer(options: TrainOptions): Promise<BpeTokenizer> {
  return (await trainTokenizerDetailed(options)).tokenizer;
}

export async function trainTokenizerDetailed(options: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const { pattern, specials } = checkTrainOptions(options);
  const progress: ProgressReporter =
    options.progress === true ? defaultProgress() : options.progress ? options.progress : options.progress === false ? silentProgress : defaultProgress();
  if (options.out !== undefined) await checkWritable(options.out);
  const warn = options.onWarning ?? ((m: string) => process.stderr.write(`llmforge: warning: ${m}\n`));
  const files = options.input === undefined ? [] : await listInputFiles(typeof options.input === 'string' ? [options.input] : options.input, warn);
  if (options.input !== undefined && files.length === 0 && options.texts === undefined) {
    throw new Error(`no input files in ${[options.input].flat().join(', ')} (folders are searched for .txt, .md, .jsonl and their .gz)`);
  }

  const useNative = options.native !== false && pattern.name !== 'custom' ? bpeTrainNative() : null;
  const counter = useNative ? new NativeCounter(pattern, specials) : new JsCounter(pattern, specials);
  const totalBytes = files.reduce((s, f) => s + f.size, 0);
  let bytesRead = 0;
  let chars = 0;
  progress.start('counting', totalBytes, 'MB', 1e6);
  let used = 0;
  for (const f of files) {
    try {
      for await (const seg of fileSegments(f.path, (n) => {
        bytesRead += n;
        progress.update(bytesRead);
      })) {
        chars += seg.length;
        counter.add(seg);
      }
      used++;
    } catch (err) {
      if (!(err instanceof SkipSource)) throw err;
      warn(`skipped ${f.path}: ${err.message}`);
    }
  }
  if (files.length > 0 && used === 0 && options.texts === undefined) {
    progress.finish();
    throw new Error('no text to train on: every input file was skipped (see the warnings above)');
  }
  if (options.texts !== undefined) {
    for await (const t of options.texts as AsyncIterable<string>) {
      if (typeof t !== 'string') throw new Error('texts must be strings');
      chars += t.length;
      counter.add(t);
    }
  }
  const words = counter.finish();
  progress.finish();

  const numTokens = options.vocabSize - specials.length;
  const minFrequency = options.minFrequency ?? 1;
  progress.start('merging', numTokens - 256, 'merges');
  const onProgress = (n: number): void => progress.update(n - 256);
  const trainNative = options.native !== false ? bpeTrainNative() : null;
  let result: MergeResult;
  if (trainNative) {
    const flat = trainNative.bpeTrainMerges(words.bytes, words.offsets, words.counts, numTokens, minFrequency, onProgress);
    result = resultFromFlat(flat);
  } else {
    result = trainMergesJs(words, numTokens, minFrequency, onProgress);
  }
  progress.finish();

  const merges: Merge[] = [];
  for (let i = 0; i < result.results.length; i++) {
    merges.push({ a: result.merges[2 * i], b: result.merges[2 * i + 1], result: result.results[i] });
  }
  const byteIds = new Int32Array(256);
  for (let b = 0; b < 256; b++) byteIds[b] = b;
  const specialMap = new Map<string, number>();
  specials.forEach((s, i) => specialMap.set(s, result.tokens.length + i));
  const tokenizer = new BpeTokenizer({
    model: { tokens: result.tokens, merges, byteIds, ignoreMerges: false },
    pattern,
    specialTokens: specialMap,
  });
  if (options.out !== undefined) {
    try {
      writeFileAtomic(options.out, tokenizer.toTokenizerJson());
    } catch (err) {
      throw new Error(`${options.out}: cannot write (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const stats: TrainStats = {
    seconds: (performance.now() - t0) / 1000,
    chars,
    bytesRead,
    words: words.counts.length,
    merges: merges.length,
    vocabSize: tokenizer.vocabSize,
    backend: useNative ? 'native' : 'js',
  };
  return { tokenizer, stats };
}

/** Rebuilds token bytes and results from native flat (a, b) pairs, the same way the JS loop does. */
function resultFromFlat(flat: Int32Array): MergeResult {
  const tokens: Uint8Array[] = [];
  const byKey = new Map<string, number>();
  for (let b = 0; b < 256; b++) {
    tokens.push(Uint8Array.of(b));
    byKey.set(String.fromCharCode(b), b);
  }
  const results = new Int32Array(flat.length / 2);
  for (let i = 0; i < results.length; i++) {
    const ta = tokens[flat[2 * i]];
    const tb = tokens[flat[2 * i + 1]];
    const merged = new Uint8Array(ta.length + tb.length);
    merged.set(ta, 0);
    merged.set(tb, ta.length);
    let key = '';
    for (let k = 0; k < merged.length; k++) key += String.fromCharCode(merged[k]);
    let id = byKey.get(key);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(merged);
      byKey.set(key, id);
    }
    results[i] = id;
  }
  return { merges: flat, results, tokens };
}

interface Counter {
  add(text: string): void;
  finish(): Words;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Splits out special-token strings: they are reserved, never learned from. */
function specialSplitter(specials: readonly string[]): ((text: string) => string[]) | null {
  if (specials.length === 0) return null;
  const sorted = [...specials].sort((x, y) => y.length - x.length);
  const re = new RegExp(sorted.map(escapeRegex).join('|'), 'u');
  return (text) => (re.test(text) ? text.split(new RegExp(re.source, 'gu')) : [text]);
}

class JsCounter implements Counter {
  private readonly counts = new Map<string, number>();
  private readonly re: RegExp;
  private readonly split: ((text: string) => string[]) | null;

  constructor(pattern: Pattern, specials: readonly string[]) {
    this.re = compilePattern(pattern);
    this.split = specialSplitter(specials);
  }

  add(text: string): void {
    if (this.split) for (const part of this.split(text)) this.addPlain(part);
    else this.addPlain(text);
  }

  private addPlain(text: string): void {
    const re = this.re;
    const counts = this.counts;
    re.lastIndex = 0;
    let last = 0;
    for (;;) {
      const m = re.exec(text);
      if (m === null) break;
      const s = m[0];
      if (s.length === 0) {
        re.lastIndex = m.index + 1;
        continue;
      }
      if (m.index > last) {
        const gap = text.slice(last, m.index);
        counts.set(gap, (counts.get(gap) ?? 0) + 1);
      }
      counts.set(s, (counts.get(s) ?? 0) + 1);
      last = m.index + s.length;
    }
    if (last < text.length) {
      const gap = text.slice(last);
      counts.set(gap, (counts.get(gap) ?? 0) + 1);
    }
  }

  finish(): Words {
    const n = this.counts.size;
    const pieces: Uint8Array[] = [];
    const counts = new Float64Array(n);
    let total = 0;
    let i = 0;
    for (const [s, c] of this.counts) {
      const b = utf8(s);
      pieces.push(b);
      counts[i++] = c;
      total += b.length;
    }
    this.counts.clear();
    const bytes = new Uint8Array(total);
    const offsets = new Uint32Array(n + 1);
    let off = 0;
    pieces.forEach((b, k) => {
      offsets[k] = off;
      bytes.set(b, off);
      off += b.length;
    });
    offsets[n] = off;
    return { bytes, offsets, counts };
  }
}

/** Counts pieces in native code, several segments at a time spread over the thread pool. */
class NativeCounter implements Counter {
  private readonly handle: object;
  private readonly split: ((text: string) => string[]) | null;
  private batch: string[] = [];
  private batchChars = 0;

  constructor(pattern: Pattern, specials: readonly string[]) {
    this.handle = bpeTrainNative()!.bpeCounterCreate(pattern.name === 'gpt2' ? 0 : 1, unicodeClassRanges());
    this.split = specialSplitter(specials);
  }

  add(text: string): void {
    if (this.split) for (const part of this.split(text)) this.push(part);
    else this.push(text);
  }

  private push(text: string): void {
    if (text.length === 0) return;
    this.batch.push(text);
    this.batchChars += text.length;
    if (this.batchChars >= 8 << 20) this.flush();
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    bpeTrainNative()!.bpeCounterAdd(this.handle, this.batch);
    this.batch = [];
    this.batchChars = 0;
  }

  finish(): Words {
    this.flush();
    return bpeTrainNative()!.bpeCounterTake(this.handle);
  }
}

async function checkWritable(out: string): Promise<void> {
  const dir = dirname(out);
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new Error('not a folder');
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new Error(`${out}: cannot write the output file here (${err instanceof Error ? err.message : String(err)})`);
  }
  try {
    if ((await stat(out)).isDirectory()) throw new Error(`${out}: output path is a folder`);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith(out)) throw err;
  }
}

export type { InputFile };
