/**
 * Text generation over the inference engine: a batch of prompts, each sequence with its
 * own sampler (seeded from the common seed), stop tokens, stop strings, a token budget and
 * a policy for the context limit. Used by `llmforge generate`, `chat`, the bench, and
 * later the server, evaluation and best-of-n sampling.
 *
 * Each step samples one token for every unfinished sequence from its current logits, then
 * feeds the new tokens back in one batched decode (or, with useCache false, recomputes the
 * full forward of each sequence: the check the cache is tested against).
 *
 * The context limit: a sequence of the model's context length C cannot take one more token.
 *   'stop'  (default) the sequence ends with finishReason 'context'.
 *   'slide' the window moves: the last C - ⌈C/4⌉ tokens are kept, re-encoded from
 *           position 0 (one prefill), and decoding continues; it moves again when full.
 * Both modes behave identically with and without the cache.
 */
import { performance } from 'node:perf_hooks';
import type { InferenceEngine } from './engine.js';
import { Sampler, samplingOptions, sequenceSeed, SAMPLING_DEFAULTS, type SamplingOptions } from './sampler.js';
import { StopMatcher, StreamDecoder, type ByteDecoder } from './stream.js';

export type ContextOverflow = 'stop' | 'slide';
/** length: max new tokens reached; stop: a stop token or stop string; context: the context was full. */
export type FinishReason = 'length' | 'stop' | 'context';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Strings that end generation; they are not part of the text. Need a tokenizer. */
  stop: string[];
  /** Token ids that end generation (end-of-text); they are not part of the output. */
  stopTokens: number[];
  contextOverflow: ContextOverflow;
  /** false: recompute the full forward for every token (slow; for checking). */
  useCache: boolean;
}

export const GENERATE_DEFAULTS: Readonly<GenerateOptions> = {
  ...SAMPLING_DEFAULTS,
  maxNewTokens: 128,
  stop: [],
  stopTokens: [],
  contextOverflow: 'stop',
  useCache: true,
};

export interface SequenceResult {
  /** Tokens of the prompt. */
  promptTokens: number;
  /** Generated ids (a final stop token excluded). */
  tokens: number[];
  /** Generated text (empty without a tokenizer), cut before any stop string. */
  text: string;
  finishReason: FinishReason;
  /** How many times the context window slid. */
  slides: number;
}

export interface GenerationStats {
  prefillTokens: number;
  prefillMs: number;
  decodeTokens: number;
  decodeMs: number;
}

/** Validates generation options (sampling ones included): errors name the setting. */
export function generateOptions(o: Partial<GenerateOptions> = {}): GenerateOptions {
  const s = samplingOptions(o);
  const g: GenerateOptions = { ...GENERATE_DEFAULTS, ...definedOnly(o), ...s };
  if (!Number.isSafeInteger(g.maxNewTokens) || g.maxNewTokens < 1) throw new RangeError(`max-tokens must be an integer >= 1, got ${g.maxNewTokens}`);
  if (g.contextOverflow !== 'stop' && g.contextOverflow !== 'slide') {
    throw new RangeError(`context-overflow must be 'stop' or 'slide', got '${String(g.contextOverflow)}'`);
  }
  for (const s of g.stop) if (typeof s !== 'string' || s.length === 0) throw new RangeError('stop strings must be non-empty');
  for (const t of g.stopTokens) if (!Number.isInteger(t) || t < 0) throw new RangeError(`stop tokens must be ids >= 0, got ${t}`);
  return g;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

class Sequence {
  readonly tokens: number[];
  windowStart = 0;
  readonly generated: number[] = [];
  text = '';
  finished: FinishReason | null = null;
  slides = 0;
  readonly logits: Float32Array;
  /** The logits sampled from: ids below the tokenizer's vocabulary size. */
  readonly sampled: Float32Array;
  readonly sampler: Sampler;
  readonly decoder: StreamDecoder | null;
  readonly matcher: StopMatcher;

  constructor(readonly row: number, prompt: ArrayLike<number>, opts: GenerateOptions, vocab: number, limit: number, seed: number,
    bytes: ByteDecoder | null) {
    this.tokens = Array.from(prompt);
    this.logits = new Float32Array(vocab);
    this.sampled = this.logits.subarray(0, limit);
    this.sampler = new Sampler(opts, limit, seed);
    this.sampler.observe(prompt);
    this.decoder = bytes === null ? null : new StreamDecoder(bytes);
    this.matcher = new StopMatcher(opts.stop);
  }
}

export interface GenerationInit {
  /** Decodes ids to bytes (the tokenizer); needed for text, streaming and stop strings. */
  tokenizer?: ByteDecoder | null;
  /** Called with each piece of newly completed text of sequence `index`. */
  onText?: (index: number, text: string) => void;
  /** Engine row of sequence 0 (sequence i uses row first + i). Default 0. */
  firstRow?: number;
  /**
   * Only ids below this are sampled (default: the tokenizer's vocabSize when it has one): a
   * model's vocabulary may be padded past the tokenizer's, and those ids decode to nothing.
   */
  vocabLimit?: number;
}

export class Generation {
  readonly options: GenerateOptions;
  readonly stats: GenerationStats = { prefillTokens: 0, prefillMs: 0, decodeTokens: 0, decodeMs: 0 };
  private readonly seqs: Sequence[];
  private readonly stopSet: Set<number>;
  private readonly onText: ((index: number, text: string) => void) | undefined;
  private readonly stepRows: number[] = [];
  private readonly stepIds: number[] = [];
  private readonly stepSeqs: Sequence[] = [];

  constructor(private readonly engine: InferenceEngine, prompts: readonly ArrayLike<number>[], options: Partial<GenerateOptions> = {}, init: GenerationInit = {}) {
    const o = (this.options = generateOptions(options));
    const tokenizer = init.tokenizer ?? null;
    if (o.stop.length > 0 && tokenizer === null) throw new RangeError('stop strings need a tokenizer');
    const first = init.firstRow ?? 0;
    if (prompts.length === 0) throw new RangeError('generate: no prompts');
    if (first + prompts.length > engine.maxBatch) {
      throw new RangeError(`generate: ${prompts.length} prompts do not fit the engine's batch of ${engine.maxBatch}`);
    }
    const cap = engine.capacity;
    prompts.forEach((p, i) => {
      const which = prompts.length > 1 ? ` ${i + 1}` : '';
      if (p.length === 0) throw new RangeError(`prompt${which} is empty: it must have at least one token`);
      if (p.length > cap) throw new RangeError(`prompt${which} has ${p.length} tokens, more than the model's context length ${cap}`);
    });
    this.onText = init.onText;
    this.stopSet = new Set(o.stopTokens);
    const limit = Math.min(engine.vocabSize, init.vocabLimit ?? tokenizer?.vocabSize ?? engine.vocabSize);
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`generate: vocabulary limit ${limit} must be a positive integer`);
    this.seqs = prompts.map((p, i) => new Sequence(first + i, p, o, engine.vocabSize, limit, sequenceSeed(o.seed, i), tokenizer));
    this.prefill();
  }

  /** True once every sequence has finished. */
  get done(): boolean {
    return this.seqs.every((s) => s.finished !== null);
  }

  /**
   * Samples one token for every unfinished sequence and feeds it back. Returns false
   * when everything has finished.
   */
  step(): boolean {
    const rows = this.stepRows;
    const ids = this.stepIds;
    const feedSeqs = this.stepSeqs;
    rows.length = 0;
    ids.length = 0;
    feedSeqs.length = 0;
    const slid: Sequence[] = [];
    this.seqs.forEach((s, index) => {
      if (s.finished !== null) return;
      const id = s.sampler.sample(s.sampled);
      if (this.stopSet.has(id)) return this.finish(s, index, 'stop');
      s.generated.push(id);
      s.tokens.push(id);
      s.sampler.observe([id]);
      if (s.decoder !== null) {
        const r = s.matcher.push(s.decoder.push(id));
        this.emit(s, index, r.text);
        if (r.stopped) return this.finish(s, index, 'stop', false);
      }
      if (s.generated.length >= this.options.maxNewTokens) return this.finish(s, index, 'length');
      // The window after feeding id would be tokens.length - windowStart long.
      if (s.tokens.length - s.windowStart > this.engine.capacity) {
        if (this.options.contextOverflow === 'stop') return this.finish(s, index, 'context');
        s.windowStart = s.tokens.length - slideKeep(this.engine.capacity);
        s.slides++;
        slid.push(s);
        return;
      }
      rows.push(s.row);
      ids.push(id);
      feedSeqs.push(s);
    });
    const t0 = performance.now();
    if (this.options.useCache) {
      if (rows.length > 0) {
        const logits = this.engine.decode(rows, ids);
        const V = this.engine.vocabSize;
        feedSeqs.forEach((s, i) => s.logits.set(logits.subarray(i * V, (i + 1) * V)));
      }
      for (const s of slid) s.logits.set(this.engine.prefill(s.row, s.tokens.slice(s.windowStart)));
    } else {
      for (const s of [...feedSeqs, ...slid]) s.logits.set(this.engine.forwardFull(s.tokens.slice(s.windowStart)));
    }
    this.stats.decodeMs += performance.now() - t0;
    this.stats.decodeTokens += rows.length + slid.length;
    return !this.done;
  }

  /** Runs to the end synchronously. */
  run(): SequenceResult[] {
    while (this.step());
    return this.results();
  }

  /**
   * Runs to the end, yielding to the event loop between tokens (a server or REPL stays
   * responsive). Stops early, finishing sequences as 'stop', when the signal aborts.
   */
  async runAsync(signal?: AbortSignal): Promise<SequenceResult[]> {
    while (!this.done) {
      if (signal?.aborted) {
        this.seqs.forEach((s, i) => s.finished === null && this.finish(s, i, 'stop'));
        break;
      }
      this.step();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return this.results();
  }

  results(): SequenceResult[] {
    return this.seqs.map((s) => ({
      promptTokens: s.tokens.length - s.generated.length,
      tokens: s.generated.slice(),
      text: s.text,
      finishReason: s.finished ?? 'length',
      slides: s.slides,
    }));
  }

  private prefill(): void {
    const t0 = performance.now();
    const e = this.engine;
    const seqs = this.seqs;
    const V = e.vocabSize;
    const T = seqs[0].tokens.length;
    if (!this.options.useCache) {
      for (const s of seqs) s.logits.set(e.forwardFull(s.tokens));
    } else if (seqs.length > 1 && seqs.every((s) => s.tokens.length === T)) {
      // Equal lengths: one batched pass over all prompts.
      for (const s of seqs) e.reset(s.row);
      const logits = e.feed(seqs.map((s) => s.row), seqs.map((s) => s.tokens));
      seqs.forEach((s, i) => s.logits.set(logits.subarray(i * V, (i + 1) * V)));
    } else {
      // One at a time, reusing whatever prefix each row already holds.
      for (const s of seqs) s.logits.set(e.prefill(s.row, s.tokens));
    }
    this.stats.prefillMs += performance.now() - t0;
    for (const s of seqs) this.stats.prefillTokens += s.tokens.length;
  }

  private emit(s: Sequence, index: number, text: string): void {
    if (text.length === 0) return;
    s.text += text;
    this.onText?.(index, text);
  }

  private finish(s: Sequence, index: number, reason: FinishReason, flush = true): void {
    s.finished = reason;
    if (flush && s.decoder !== null) {
      const r = s.matcher.push(s.decoder.flush());
      this.emit(s, index, r.text);
      if (!r.stopped) this.emit(s, index, s.matcher.flush());
    }
  }
}

/** Tokens kept when the window slides: C - ⌈C/4⌉ (at least 1). */
export function slideKeep(capacity: number): number {
  return Math.max(1, capacity - Math.ceil(capacity / 4));
}

/** Generates for a batch of tokenized prompts, synchronously. */
export function generate(engine: InferenceEngine, prompts: readonly ArrayLike<number>[], options: Partial<GenerateOptions> = {},
  init: GenerationInit = {}): SequenceResult[] {
  return new Generation(engine, prompts, options, init).run();
}
