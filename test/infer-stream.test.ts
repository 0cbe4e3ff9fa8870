import { describe, expect, it } from 'vitest';
import { StopMatcher, StreamDecoder } from '../src/infer/stream.js';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { InferenceEngine } from '../src/infer/engine.js';
import { generate, Generation } from '../src/infer/generate.js';
import { ByteTokenizer, EOS } from './infer-tokenizer.js';

const tok = new ByteTokenizer();

describe('StreamDecoder', () => {
  it('never splits a UTF-8 character and concatenates to the full decode', () => {
    const text = 'héllo → 世界 🎉!';
    const ids = Array.from(tok.encode(text));
    const d = new StreamDecoder(tok);
    const pieces = ids.map((id) => d.push(id));
    expect(pieces.join('') + d.flush()).toBe(text);
    for (const p of pieces) expect(p).not.toContain('\uFFFD');
    // The 4 bytes of 🎉 arrive one by one: nothing shows until the last.
    const at = Buffer.from('héllo → 世界 ', 'utf8').length;
    expect(pieces.slice(at, at + 3)).toEqual(['', '', '']);
    expect(pieces[at + 3]).toBe('🎉');
  });

  it('an unfinished character at the end becomes U+FFFD, as in decode', () => {
    const d = new StreamDecoder(tok);
    const ids = [0x61, 0xe4, 0xb8]; // 'a' + two of the three bytes of 世
    const out = ids.map((id) => d.push(id)).join('') + d.flush();
    expect(out).toBe(tok.decode(ids));
    expect(out).toBe('a\uFFFD');
    // Reusable after flush.
    expect(d.push(0x62)).toBe('b');
  });
});

describe('StopMatcher', () => {
  it('holds back possible starts of a stop string and cuts before it', () => {
    const m = new StopMatcher(['\n\n', 'END']);
    expect(m.push('abc\n')).toEqual({ text: 'abc', stopped: false });
    expect(m.push('x E')).toEqual({ text: '\nx ', stopped: false });
    expect(m.push('N')).toEqual({ text: '', stopped: false });
    expect(m.push('Dtail')).toEqual({ text: '', stopped: true });
    const n = new StopMatcher(['abc']);
    expect(n.push('xxab')).toEqual({ text: 'xx', stopped: false });
    expect(n.flush()).toBe('ab');
    expect(new StopMatcher([]).push('anything')).toEqual({ text: 'anything', stopped: false });
    expect(() => new StopMatcher([''])).toThrow(/must not be empty/);
  });

  it('finds the earliest of several stop strings', () => {
    const m = new StopMatcher(['cd', 'bcx']);
    expect(m.push('abcd')).toEqual({ text: 'ab', stopped: true });
  });
});

describe('generation with text', () => {
  // A byte-level model (vocab 257 = bytes + end-of-text), random weights.
  const config = { ...preset('tiny'), vocabSize: 257, contextLength: 32, nLayer: 1, nHead: 2, nKvHead: 2, nEmbd: 16 };
  const model = new GPT(config).init(1);
  const engine = new InferenceEngine(model, { maxBatch: 4 });
  const prompt = tok.encode('ab');

  it('streams exactly the text it returns, and the text decodes the tokens', () => {
    const streamed: string[] = [];
    const [r] = generate(engine, [prompt], { temperature: 1.5, topP: 1, minP: 0, maxNewTokens: 30, seed: 3 }, {
      tokenizer: tok, onText: (i, t) => streamed.push(t),
    });
    expect(streamed.join('')).toBe(r.text);
    expect(r.text).toBe(tok.decode(r.tokens));
    expect(r.promptTokens).toBe(2);
  });

  it('same seed → same text; each sequence of a batch has its own stream of draws', () => {
    const o = { temperature: 1.5, topP: 1, minP: 0, maxNewTokens: 12, seed: 9 };
    const a = generate(engine, [prompt, prompt], o, { tokenizer: tok });
    const b = generate(engine, [prompt, prompt], o, { tokenizer: tok });
    expect(b).toEqual(a);
    expect(a[0].tokens).not.toEqual(a[1].tokens);
    // Sequence 0 of a batch is what the prompt gets alone.
    expect(generate(engine, [prompt], o, { tokenizer: tok })[0].tokens).toEqual(a[0].tokens);
  });

  it('stops at a stop token (not output) and at a stop string (text cut before it)', () => {
    const o = { temperature: 1.5, topP: 1, minP: 0, maxNewTokens: 25, seed: 5 };
    const [free] = generate(engine, [prompt], o, { tokenizer: tok });
    expect(free.tokens).toHaveLength(25);
    const stopId = free.tokens[6];
    const [byToken] = generate(engine, [prompt], { ...o, stopTokens: [stopId] }, { tokenizer: tok });
    expect(byToken.finishReason).toBe('stop');
    expect(byToken.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(stopId)));
    // Text where each id is one letter, and a stop string made of letters 3..5.
    const letters = { decodeBytes: (ids: ArrayLike<number>) => Uint8Array.from(Array.from(ids, (id) => 97 + (id % 26))) };
    const full = Buffer.from(letters.decodeBytes(free.tokens)).toString();
    const stop = full.slice(3, 6);
    const [byString] = generate(engine, [prompt], { ...o, stop: [stop] }, { tokenizer: letters });
    expect(byString.finishReason).toBe('stop');
    expect(byString.text).toBe(full.slice(0, full.indexOf(stop)));
    expect(EOS).toBe(256);
  });

  it('runAsync yields between tokens and can be aborted', async () => {
    const ac = new AbortController();
    const g = new Generation(engine, [prompt], { temperature: 0, maxNewTokens: 20 }, {
      tokenizer: tok, onText: () => ac.abort(),
    });
    const [r] = await g.runAsync(ac.signal);
    expect(r.finishReason).toBe('stop');
    expect(r.tokens.length).toBeLessThan(20);
  });
});
