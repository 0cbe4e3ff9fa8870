import { describe, expect, it } from 'vitest';
import { GPT } from '../src/nn/gpt.js';
import { preset, type GPTConfig } from '../src/nn/config.js';
import { InferenceEngine } from '../src/infer/engine.js';
import { generate, slideKeep } from '../src/infer/generate.js';
import { KVCache } from '../src/infer/kv-cache.js';
import { randomIds, maxAbsDiff } from './helpers.js';

const gpt2: GPTConfig = { ...preset('tiny'), vocabSize: 97, contextLength: 24, nLayer: 2, nHead: 4, nEmbd: 32, bias: true };
const llama: GPTConfig = {
  ...preset('small'), vocabSize: 101, contextLength: 24, nLayer: 2, nHead: 4, nKvHead: 2, nEmbd: 32, mlpHidden: 48, tiedEmbeddings: false,
};
const families = [['gpt2 (biases)', gpt2], ['llama (GQA 4/2, untied)', llama]] as const;

/** Weights a bit larger than the N(0, 0.02) init, so logits are not all near zero. */
function model(c: GPTConfig, seed = 3): GPT {
  const m = new GPT(c).init(seed);
  const d = m.params.data;
  for (let i = 0; i < d.length; i++) d[i] *= 8;
  for (const b of m.blocks) {
    b.norm1.weight.data.fill(1);
    b.norm2.weight.data.fill(1);
  }
  m.finalNorm.weight.data.fill(1);
  return m;
}

/** Reference: the training forward's logits at every position (T, V). */
function fullLogits(m: GPT, ids: Int32Array): Float32Array {
  return m.logits(ids, 1, ids.length).data.slice();
}

describe.each(families)('inference engine, %s', (_name, config) => {
  it('prefill then cached decode matches the full forward within 1e-4 at every position', () => {
    const m = model(config);
    const ids = randomIds(config.contextLength, config.vocabSize, 11);
    const ref = fullLogits(m, ids);
    const V = config.vocabSize;
    const e = new InferenceEngine(m);
    const P = 9;
    const pre = e.feedAllLogits(0, ids.subarray(0, P));
    expect(maxAbsDiff(pre, ref.subarray(0, P * V))).toBeLessThan(1e-4);
    for (let t = P; t < ids.length; t++) {
      const got = e.decode([0], [ids[t]]);
      expect(maxAbsDiff(got, ref.subarray(t * V, (t + 1) * V))).toBeLessThan(1e-4);
    }
    expect(e.length(0)).toBe(config.contextLength);
    expect(() => e.decode([0], [1])).toThrow(/exceed the context length 24/);
  });

  it('prefill in chunks, batched rows of different lengths and forwardFull agree', () => {
    const m = model(config, 5);
    const V = config.vocabSize;
    const a = randomIds(13, V, 1);
    const b = randomIds(7, V, 2);
    const refA = fullLogits(m, a).subarray(12 * V);
    const refB = fullLogits(m, b).subarray(6 * V);
    const e = new InferenceEngine(m, { maxBatch: 3 });
    e.feed([2], [a.subarray(0, 5)]);
    expect(maxAbsDiff(e.feed([2], [a.subarray(5)]), refA)).toBeLessThan(1e-4);
    expect(maxAbsDiff(e.prefill(0, b), refB)).toBeLessThan(1e-4);
    expect(maxAbsDiff(e.forwardFull(a), refA)).toBeLessThan(1e-4);
    // Rows at different positions decode together (rows out of order, too).
    const next = [4, 9];
    const both = e.decode([2, 0], next).slice();
    const refA2 = fullLogits(m, Int32Array.from([...a, 4])).subarray(13 * V);
    const refB2 = fullLogits(m, Int32Array.from([...b, 9])).subarray(7 * V);
    expect(maxAbsDiff(both.subarray(0, V), refA2)).toBeLessThan(1e-4);
    expect(maxAbsDiff(both.subarray(V), refB2)).toBeLessThan(1e-4);
    // Equal positions on consecutive rows: one batched attention call.
    e.reset();
    const ab = e.feed([0, 1], [a.subarray(0, 7), b]).slice();
    expect(maxAbsDiff(ab.subarray(0, V), fullLogits(m, a.subarray(0, 7)).subarray(6 * V))).toBeLessThan(1e-4);
    expect(maxAbsDiff(ab.subarray(V), refB)).toBeLessThan(1e-4);
  });

  it('rows at different positions, in any order, give exactly the logits each gets alone', () => {
    const m = model(config, 9);
    const V = config.vocabSize;
    // Prompts of different lengths (one of a single token: position 0 after prefill is 1).
    const prompts = [randomIds(1, V, 11), randomIds(6, V, 12), randomIds(3, V, 13), randomIds(9, V, 14)];
    const steps = [randomIds(4, V, 21), randomIds(4, V, 22), randomIds(4, V, 23), randomIds(4, V, 24)];
    const chunk = [randomIds(3, V, 31), randomIds(3, V, 32), randomIds(3, V, 33), randomIds(3, V, 34)];
    // Alone: each sequence on its own one-row engine.
    const alone = prompts.map((p, i) => {
      const e = new InferenceEngine(m, { maxBatch: 1 });
      e.prefill(0, p);
      const out = Array.from(steps[i], (id) => e.decode([0], [id]).slice());
      out.push(e.feed([0], [chunk[i]]).slice());
      return out;
    });
    // Together: cache rows consecutive (0..3) and scattered (3, 0, 2 and 1 on its own), so
    // both the per-row position path and the cache-row path run, for T = 1 and T = 3.
    const e = new InferenceEngine(m, { maxBatch: 4 });
    prompts.forEach((p, i) => e.prefill(i, p));
    const orders = [[0, 1, 2, 3], [3, 0, 2], [1], [2, 1, 3, 0], [0, 1, 2, 3]];
    const at = [0, 0, 0, 0];
    for (const rows of orders) {
      const logits = e.decode(rows, rows.map((r) => steps[r][at[r]]));
      rows.forEach((r, k) => expect(logits.subarray(k * V, (k + 1) * V)).toEqual(alone[r][at[r]++]));
    }
    expect(at).toEqual([4, 4, 4, 4]);
    const fed = e.feed([3, 1, 0, 2], [chunk[3], chunk[1], chunk[0], chunk[2]]);
    [3, 1, 0, 2].forEach((r, k) => expect(fed.subarray(k * V, (k + 1) * V)).toEqual(alone[r][4]));
  });

  it('reuses a cached prefix and recomputes only the rest', () => {
    const m = model(config, 7);
    const V = config.vocabSize;
    const e = new InferenceEngine(m);
    const p = randomIds(12, V, 3);
    const first = e.prefill(0, p).slice();
    expect(e.cache.commonPrefix(0, p)).toBe(12);
    // The same prompt again: only its last token is fed again.
    expect(maxAbsDiff(e.prefill(0, p), first)).toBeLessThan(1e-4);
    // A prompt that diverges after 8 tokens.
    const q = Int32Array.from([...p.subarray(0, 8), 1, 2, 3]);
    expect(maxAbsDiff(e.prefill(0, q), fullLogits(m, q).subarray(10 * V))).toBeLessThan(1e-4);
    expect(Array.from(e.cache.tokens(0))).toEqual(Array.from(q));
  });

  it('greedy decoding with the cache equals recomputing the full forward, token for token', () => {
    const m = model(config, 9);
    const e = new InferenceEngine(m, { maxBatch: 2 });
    const prompts = [randomIds(5, config.vocabSize, 4), randomIds(3, config.vocabSize, 5)];
    const opts = { temperature: 0, maxNewTokens: 15 };
    const cached = generate(e, prompts, opts);
    const full = generate(e, prompts, { ...opts, useCache: false });
    expect(cached.map((r) => r.tokens)).toEqual(full.map((r) => r.tokens));
    expect(cached[0].tokens).toHaveLength(15);
    expect(cached[0].finishReason).toBe('length');
    // And the batch gives each prompt what it gets alone.
    const alone = generate(new InferenceEngine(m), [prompts[1]], opts);
    expect(alone[0].tokens).toEqual(cached[1].tokens);
  });

  it('at the context limit: stops with reason "context", or slides the window identically with and without the cache', () => {
    const m = model(config, 13);
    const C = config.contextLength;
    const e = new InferenceEngine(m);
    const prompt = randomIds(20, config.vocabSize, 6);
    const [stopped] = generate(e, [prompt], { temperature: 0, maxNewTokens: 50 });
    expect(stopped.finishReason).toBe('context');
    // A prompt of C tokens leaves room for C - 20 + 1 new tokens: the last is never fed.
    expect(stopped.tokens).toHaveLength(C - 20 + 1);
    const opts = { temperature: 0, maxNewTokens: 40, contextOverflow: 'slide' as const };
    const [slid] = generate(e, [prompt], opts);
    const [slidFull] = generate(e, [prompt], { ...opts, useCache: false });
    expect(slid.finishReason).toBe('length');
    expect(slid.tokens).toHaveLength(40);
    expect(slid.slides).toBeGreaterThan(1);
    expect(slid.tokens).toEqual(slidFull.tokens);
    expect(slid.tokens.slice(0, stopped.tokens.length)).toEqual(stopped.tokens);
    expect(slideKeep(24)).toBe(18);
    // A prompt of exactly C tokens still yields one token.
    const [full] = generate(e, [randomIds(C, config.vocabSize, 8)], { temperature: 0, maxNewTokens: 5 });
    expect(full.tokens).toHaveLength(1);
    expect(full.finishReason).toBe('context');
  });
});

describe('inference engine errors', () => {
  const m = model(gpt2);
  const e = new InferenceEngine(m, { maxBatch: 2 });

  it('rejects empty or over-long prompts, bad ids and bad rows with clear messages', () => {
    expect(() => generate(e, [new Int32Array(0)])).toThrow(/prompt is empty/);
    expect(() => generate(e, [randomIds(25, 97, 1)])).toThrow(/prompt has 25 tokens, more than the model's context length 24/);
    expect(() => generate(e, [randomIds(3, 97, 1), randomIds(3, 97, 1), randomIds(3, 97, 1)])).toThrow(/do not fit the engine's batch of 2/);
    expect(() => e.prefill(0, [1, 97])).toThrow(/token id 97 is outside the model's vocabulary/);
    expect(() => e.decode([2], [1])).toThrow(/row 2 is outside/);
    expect(() => e.decode([0, 0], [1, 2])).toThrow(/appears twice/);
    expect(() => new InferenceEngine(m, { capacity: 25 })).toThrow(/capacity must be between 1 and the context length 24/);
    expect(() => generate(e, [[1]], { maxNewTokens: 0 })).toThrow(/max-tokens must be an integer >= 1/);
    expect(() => generate(e, [[1]], { stop: ['x'] })).toThrow(/stop strings need a tokenizer/);
  });

  it('a failed forward leaves the cache as it was', () => {
    e.reset();
    e.prefill(0, [1, 2, 3]);
    expect(() => e.feed([0], [[4, 500]])).toThrow(/outside the model's vocabulary/);
    expect(e.length(0)).toBe(3);
  });
});

describe('KVCache', () => {
  it('is laid out (rows, Hkv, capacity, D) per layer and tracks tokens per row', () => {
    const c = new KVCache(2, 3, 2, 8, 4);
    expect(c.k).toHaveLength(2);
    expect(c.k[0].length).toBe(3 * 2 * 8 * 4);
    expect(c.bytes).toBe(2 * 2 * 3 * 64 * 4);
    c.append(1, [5, 6, 7]);
    expect(Array.from(c.tokens(1))).toEqual([5, 6, 7]);
    expect(c.commonPrefix(1, [5, 6, 9])).toBe(2);
    c.truncate(1, 1);
    expect(Array.from(c.tokens(1))).toEqual([5]);
    expect(c.block(0, 1, 2).k.length).toBe(2 * 64);
    expect(c.block(0, 1, 2).k.byteOffset).toBe(64 * 4);
    expect(() => c.append(0, new Array(9).fill(0))).toThrow(/exceed the capacity 8/);
    expect(() => c.tokens(3)).toThrow(/outside 0..2/);
  });
});
