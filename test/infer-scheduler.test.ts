import { describe, expect, it } from 'vitest';
import { GPT } from '../src/nn/gpt.js';
import { preset, type GPTConfig } from '../src/nn/config.js';
import { InferenceEngine } from '../src/infer/engine.js';
import { generate } from '../src/infer/generate.js';
import { KVCache } from '../src/infer/kv-cache.js';
import { Scheduler, type SchedulerEvent, type ScheduledRequest } from '../src/infer/scheduler.js';
import { ByteTokenizer } from './infer-tokenizer.js';
import { randomIds } from './helpers.js';

const config: GPTConfig = { ...preset('tiny'), vocabSize: 260, contextLength: 40, nLayer: 2, nHead: 4, nEmbd: 32, bias: true };

function model(seed = 3): GPT {
  const m = new GPT(config).init(seed);
  const d = m.params.data;
  for (let i = 0; i < d.length; i++) d[i] *= 8;
  return m;
}

interface Out { tokens: number[]; text: string; reason: string; started: boolean }

/** Runs the scheduler until idle, submitting request i before step at[i]; returns each choice's output. */
function drive(s: Scheduler, reqs: ScheduledRequest[], at: number[], onStep?: (step: number, events: SchedulerEvent[]) => void): Map<string, Out> {
  const out = new Map<string, Out>();
  const get = (id: string, choice: number): Out => {
    const k = `${id}/${choice}`;
    if (!out.has(k)) out.set(k, { tokens: [], text: '', reason: '', started: false });
    return out.get(k) as Out;
  };
  for (let step = 0; step < 1000; step++) {
    reqs.forEach((r, i) => at[i] === step && s.submit(`r${i}`, r));
    if (step > Math.max(...at) && s.idle) break;
    const events = s.step();
    onStep?.(step, events);
    for (const e of events) {
      if (e.kind === 'start') e.promptTokens.forEach((_, c) => (get(e.id, c).started = true));
      else if (e.kind === 'token') {
        get(e.id, e.choice).tokens.push(e.token);
        get(e.id, e.choice).text += e.text;
      } else if (e.kind === 'text') get(e.id, e.choice).text += e.text;
      else get(e.id, e.choice).reason = e.reason;
    }
  }
  return out;
}

describe('continuous batching scheduler', () => {
  it('requests joining and leaving at any step get exactly what each gets alone (greedy and seeded sampling)', () => {
    const m = model();
    const prompts = [5, 9, 3, 12, 7, 9].map((n, i) => Array.from(randomIds(n, 256, 20 + i)));
    const opts = [
      { temperature: 0, maxNewTokens: 10 },
      { temperature: 1, topK: 20, seed: 7, maxNewTokens: 14 },
      { temperature: 0, maxNewTokens: 4 },
      { temperature: 0.9, topP: 0.9, seed: 3, maxNewTokens: 9, repetitionPenalty: 1.3 },
      { temperature: 0, maxNewTokens: 12 },
      { temperature: 0, maxNewTokens: 6 },
    ];
    // Three rows: r0, r1 and r5 start together (r1 and r5 prefilled in one batched pass).
    const engine = new InferenceEngine(m, { maxBatch: 3 });
    const s = new Scheduler(engine, new ByteTokenizer());
    let maxRunning = 0;
    const out = drive(s, prompts.map((p, i) => ({ prompts: [p], options: opts[i] })), [0, 0, 1, 3, 3, 0], () => {
      maxRunning = Math.max(maxRunning, s.stats.running);
    });
    expect(maxRunning).toBe(3);
    prompts.forEach((p, i) => {
      const [alone] = generate(new InferenceEngine(m), [p], opts[i], { tokenizer: new ByteTokenizer() });
      const got = out.get(`r${i}/0`) as Out;
      expect(got.tokens).toEqual(alone.tokens);
      expect(got.text).toBe(alone.text);
      expect(got.reason).toBe('length');
    });
    expect(engine.freeRows).toBe(3);
    expect(s.idle).toBe(true);
    expect(s.stats.prefillTokens).toBeLessThanOrEqual(5 + 9 + 3 + 12 + 7 + 9);
  });

  it('a long prompt is prefilled a chunk per step while the others keep decoding, and gets what it gets alone', () => {
    const m = model(7);
    const engine = new InferenceEngine(m, { maxBatch: 2 });
    const s = new Scheduler(engine, new ByteTokenizer(), { prefillChunk: 5 });
    const short = Array.from(randomIds(3, 256, 1));
    const long = Array.from(randomIds(17, 256, 2));
    const opts = { temperature: 0, maxNewTokens: 8 };
    const perStep: string[][] = [];
    const out = drive(s, [{ prompts: [short], options: opts }, { prompts: [long], options: opts }], [0, 1], (_step, events) => {
      perStep.push(events.filter((e) => e.kind === 'token').map((e) => e.id));
    });
    // Step 0: r0 starts (3 tokens, one chunk). Steps 1-4: r1's 17 tokens take 4 chunks (5+5+5+2, the
    // budget shared with nobody), r0 decodes through all of them; r1's first token comes at step 4.
    expect(perStep.slice(0, 5)).toEqual([['r0'], ['r0'], ['r0'], ['r0'], ['r0', 'r1']]);
    for (const [i, p] of [short, long].entries()) {
      const [alone] = generate(new InferenceEngine(m), [p], opts, { tokenizer: new ByteTokenizer() });
      expect((out.get(`r${i}/0`) as Out).tokens).toEqual(alone.tokens);
    }
    expect(s.stats.prefillTokens).toBe(3 + 17);
    expect(() => new Scheduler(engine, null, { prefillChunk: 0 })).toThrow(/prefillChunk must be a positive integer/);
  });

  it('stops at stop tokens and stop strings (never shown), at the context end, and frees the row', () => {
    const m = model(5);
    const engine = new InferenceEngine(m, { maxBatch: 1 });
    const s = new Scheduler(engine, new ByteTokenizer());
    const prompt = Array.from(randomIds(6, 256, 1));
    const [free] = generate(new InferenceEngine(m), [prompt], { temperature: 0, maxNewTokens: 8 }, { tokenizer: new ByteTokenizer() });
    // The 4th generated token as a stop token; the text of tokens 2..3 as a stop string.
    const stopTok = free.tokens[3];
    const first = free.tokens.indexOf(stopTok);
    const a = drive(s, [{ prompts: [prompt], options: { temperature: 0, maxNewTokens: 8, stopTokens: [stopTok] } }], [0]).get('r0/0') as Out;
    expect(a.reason).toBe('stop');
    expect(a.tokens).toEqual(free.tokens.slice(0, first));
    const stop = new ByteTokenizer().decode(free.tokens.slice(2, 4));
    const b = drive(s, [{ prompts: [prompt], options: { temperature: 0, maxNewTokens: 8, stop: [stop] } }], [0]).get('r0/0') as Out;
    expect(b.reason).toBe('stop');
    expect(b.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
    // 36 prompt tokens in a context of 40: 4 new tokens at most, finish 'length'.
    const long = Array.from(randomIds(36, 256, 2));
    const c = drive(s, [{ prompts: [long], options: { temperature: 0, maxNewTokens: 30 } }], [0]).get('r0/0') as Out;
    expect(c.tokens).toHaveLength(4);
    expect(c.reason).toBe('length');
    expect(engine.freeRows).toBe(1);
    expect(() => s.submit('x', { prompts: [Array.from(randomIds(40, 256, 2))], options: {} })).toThrow(/40 tokens; the context holds 40/);
    expect(() => s.submit('y', { prompts: [[1], [2]], options: {} })).toThrow(/2 choices exceed the 1 sequences/);
    expect(() => s.submit('z', { prompts: [[1]], options: { temperature: -1 } })).toThrow(/temperature must be >= 0/);
  });

  it('cancel frees a running row at once and drops a waiting request; the queue is first come, first served', () => {
    const engine = new InferenceEngine(model(), { maxBatch: 1 });
    const s = new Scheduler(engine, new ByteTokenizer());
    s.submit('a', { prompts: [[1, 2, 3]], options: { temperature: 0, maxNewTokens: 30 } });
    s.submit('b', { prompts: [[4, 5]], options: { temperature: 0, maxNewTokens: 30 } });
    s.submit('c', { prompts: [[6]], options: { temperature: 0, maxNewTokens: 2 } });
    s.step();
    s.step();
    expect(s.stats).toMatchObject({ running: 1, waiting: 2 });
    expect(engine.freeRows).toBe(0);
    const ev = s.cancel('a');
    expect(ev.at(-1)).toMatchObject({ kind: 'finish', id: 'a', reason: 'cancelled', completionTokens: 2 });
    expect(engine.freeRows).toBe(1);
    expect(s.cancel('c').map((e) => e.kind)).toEqual(['finish']);
    const next = s.step();
    expect(next[0]).toMatchObject({ kind: 'start', id: 'b' });
    expect(s.stats).toMatchObject({ running: 1, waiting: 0 });
    expect(s.cancel('nope')).toEqual([]);
  });

  it('n choices take n rows together, each seeded on its own; a deadline ends a request with "length"', () => {
    const engine = new InferenceEngine(model(), { maxBatch: 3 });
    const s = new Scheduler(engine, new ByteTokenizer());
    const p = [1, 2, 3, 4];
    const out = drive(s, [{ prompts: [p, p, p], options: { temperature: 1.5, seed: 1, maxNewTokens: 12 } }], [0]);
    const texts = [0, 1, 2].map((c) => (out.get(`r0/${c}`) as Out).tokens.join(','));
    expect(new Set(texts).size).toBe(3);
    s.submit('late', { prompts: [p], options: { maxNewTokens: 10 }, deadline: 0 });
    expect(s.step().map((e) => e.kind)).toEqual(['finish']);
    expect(engine.freeRows).toBe(3);
  });

  it('log-probabilities come from the raw distribution; presence penalty stops repeats', () => {
    const engine = new InferenceEngine(model(9), { maxBatch: 1 });
    const s = new Scheduler(engine, null, { vocabLimit: 256 });
    s.submit('a', { prompts: [[1, 2]], options: { temperature: 0, maxNewTokens: 3 }, logprobs: 20 });
    const tokens = s.step().filter((e) => e.kind === 'token');
    const lp = tokens[0].kind === 'token' ? tokens[0].logprob : undefined;
    expect(lp).toBeDefined();
    if (lp === undefined) return;
    expect(lp.top).toHaveLength(20);
    expect(lp.top[0][1]).toBeCloseTo(lp.logprob, 6); // greedy picks the most likely
    for (let i = 1; i < 20; i++) expect(lp.top[i][1]).toBeLessThanOrEqual(lp.top[i - 1][1]);
    const logits = engine.prefill(0, [1, 2]);
    let z = 0;
    for (let i = 0; i < 256; i++) z += Math.exp(logits[i]);
    expect(lp.logprob).toBeCloseTo(logits[lp.top[0][0]] - Math.log(z), 4);
    s.cancel('a');
    const run = (presence: number): number[] => {
      s.submit(`p${presence}`, { prompts: [[1, 2]], options: { temperature: 0, maxNewTokens: 30 }, presencePenalty: presence });
      const ids: number[] = [];
      while (!s.idle) for (const e of s.step()) if (e.kind === 'token') ids.push(e.token);
      return ids;
    };
    expect(new Set(run(0)).size).toBeLessThan(30); // greedy loops on this model
    expect(new Set(run(1000)).size).toBe(30);
  });
});

describe('KVCache rows for continuous batching', () => {
  it('acquire prefers the free row holding the longest prefix; release keeps the tokens', () => {
    const c = new KVCache(1, 3, 1, 8, 2);
    expect(c.acquire()).toBe(0);
    expect(c.acquire()).toBe(1);
    c.append(1, [7, 8, 9]);
    c.release(1);
    expect(c.freeRows).toBe(2);
    expect(c.acquire([7, 8, 1])).toBe(1);
    expect(c.acquire()).toBe(2);
    expect(c.acquire()).toBeNull();
    expect(c.isTaken(2)).toBe(true);
    c.release(2);
    expect(() => c.release(2)).toThrow(/row 2 is not taken/);
  });
});
