/**
 * Generation speed: prefill tokens/s (the prompt in one pass) and decode tokens/s (one new
 * token per sequence per forward, greedy), with the KV cache or recomputing the full forward.
 * Prompts are random ids; the speed does not depend on the weights.
 */
import { performance } from 'node:perf_hooks';
import type { GPT } from '../nn/gpt.js';
import { Random } from '../tensor/random.js';
import { InferenceEngine } from './engine.js';
import { Sampler } from './sampler.js';

export interface GenerateBenchOptions {
  promptTokens: number;
  newTokens: number;
  batch: number;
  useCache: boolean;
  /** Timed runs; the best is reported (the machine is shared and noisy). */
  repeats: number;
  seed: number;
}

export interface GenerateBenchResult {
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  prefillMs: number;
  decodeMs: number;
  /** Greedy tokens of every sequence (the best run's; all runs produce the same). */
  tokens: number[][];
}

export function benchGenerate(model: GPT, o: GenerateBenchOptions): GenerateBenchResult {
  const c = model.config;
  if (o.promptTokens < 1) throw new RangeError(`--prompt-tokens must be >= 1, got ${o.promptTokens}`);
  if (o.newTokens < 1) throw new RangeError(`--new-tokens must be >= 1, got ${o.newTokens}`);
  if (o.promptTokens + o.newTokens > c.contextLength) {
    throw new RangeError(`--prompt-tokens ${o.promptTokens} + --new-tokens ${o.newTokens} exceed the context length ${c.contextLength}`);
  }
  const rng = new Random(o.seed);
  const prompts: number[][] = [];
  for (let b = 0; b < o.batch; b++) prompts.push(Array.from({ length: o.promptTokens }, () => rng.int(c.vocabSize)));
  const engine = new InferenceEngine(model, { maxBatch: o.batch });
  const rows = prompts.map((_, i) => i);
  const V = c.vocabSize;
  const greedy = new Sampler({ temperature: 0 }, V);
  let best: GenerateBenchResult | null = null;
  // One untimed warm-up run (JIT, arena, first-touch of the cache), then the timed runs.
  for (let run = 0; run <= o.repeats; run++) {
    const seqs = prompts.map((p) => p.slice());
    const next = new Int32Array(o.batch);
    const t0 = performance.now();
    let logits: Float32Array;
    if (o.useCache) {
      engine.reset();
      logits = engine.feed(rows, prompts);
    } else {
      logits = new Float32Array(o.batch * V);
      for (let b = 0; b < o.batch; b++) logits.set(engine.forwardFull(seqs[b]), b * V);
    }
    const t1 = performance.now();
    // Decode: newTokens forwards of one token per sequence, each after a greedy pick.
    for (let step = 0; step < o.newTokens; step++) {
      for (let b = 0; b < o.batch; b++) {
        next[b] = greedy.sample(logits.subarray(b * V, (b + 1) * V));
        seqs[b].push(next[b]);
      }
      if (o.useCache) {
        logits = engine.decode(rows, next);
      } else {
        for (let b = 0; b < o.batch; b++) logits.set(engine.forwardFull(seqs[b]), b * V);
      }
    }
    const t2 = performance.now();
    const r: GenerateBenchResult = {
      prefillMs: t1 - t0,
      decodeMs: t2 - t1,
      prefillTokensPerSecond: (o.batch * o.promptTokens * 1000) / (t1 - t0),
      decodeTokensPerSecond: (o.batch * o.newTokens * 1000) / (t2 - t1),
      tokens: seqs.map((s) => s.slice(o.promptTokens)),
    };
    if (run === 0) continue;
    if (best === null) best = r;
    else {
      best.prefillMs = Math.min(best.prefillMs, r.prefillMs);
      best.decodeMs = Math.min(best.decodeMs, r.decodeMs);
      best.prefillTokensPerSecond = Math.max(best.prefillTokensPerSecond, r.prefillTokensPerSecond);
      best.decodeTokensPerSecond = Math.max(best.decodeTokensPerSecond, r.decodeTokensPerSecond);
    }
  }
  if (best === null) throw new RangeError('--repeats must be >= 1');
  return best;
}
