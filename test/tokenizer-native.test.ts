/**
 * Native vs JavaScript encoders, and the safe cut points that let long texts and training input be
 * split across threads: both must give exactly the ids of encoding the whole text in one piece.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadTokenizer, setNativeTokenizer, trainTokenizer, type BpeTokenizer } from '../src/tokenizer/index.js';
import { safeCut } from '../src/tokenizer/input.js';
import { nativeAddon } from '../src/tensor/native.js';
import { rng } from './helpers.js';
import { adversarialText } from './tokenizer-helpers.js';

const require = createRequire(import.meta.url);
const TEXT = readFileSync(new URL('./fixtures/public-domain-bible.txt', import.meta.url), 'utf8');

function eq(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  let ok = a.length === b.length;
  for (let i = 0; ok && i < a.length; i++) if (a[i] !== b[i]) ok = false;
  if (!ok) expect(Array.from(a), what).toEqual(Array.from(b));
}

const hasNative = (): boolean => {
  const addon = nativeAddon();
  return !!addon && typeof addon.bpeEncode === 'function';
};

describe('native encoder', () => {
  let gpt2: BpeTokenizer;
  let gpt4: BpeTokenizer;
  beforeAll(async () => {
    setNativeTokenizer(true);
    gpt2 = await loadTokenizer(require.resolve('gpt-tokenizer/data/r50k_base.tiktoken'));
    gpt4 = await trainTokenizer({ texts: [TEXT, adversarialText(rng(1), 20000)], vocabSize: 1500, pattern: 'gpt4', progress: false });
  });

  it('is in use when the addon is built (CI requires it)', () => {
    if (process.env.LLMFORGE_REQUIRE_NATIVE === '1') expect(hasNative()).toBe(true);
    if (hasNative()) {
      setNativeTokenizer(true);
      expect(gpt2.backend).toBe('native');
      expect(gpt4.backend).toBe('native');
    }
  });

  it.each(['gpt2', 'gpt4'] as const)('matches the JavaScript encoder on adversarial text (%s)', (name) => {
    const tok = name === 'gpt2' ? gpt2 : gpt4;
    const r = rng(name === 'gpt2' ? 11 : 12);
    for (let k = 0; k < 300; k++) {
      const s = adversarialText(r, 1 + Math.floor(r() * 80));
      setNativeTokenizer(true);
      const a = tok.encode(s);
      eq(a, tok.encodeOrdinaryJs(s), JSON.stringify(s));
      expect(tok.decode(a)).toBe(s.replace(/[\ud800-\udfff]/gu, (c) => (c.length === 1 ? '\ufffd' : c)));
    }
  });

  it.each(['gpt2', 'gpt4'] as const)('encodes long texts on threads exactly as in one piece (%s)', async (name) => {
    const tok = name === 'gpt2' ? gpt2 : gpt4;
    const r = rng(5);
    const parts: string[] = [];
    let len = 0;
    while (len < 2.5e6) {
      const p = r() < 0.5 ? TEXT.slice(Math.floor(r() * 10000), Math.floor(r() * 10000) + 3000) : adversarialText(r, 2000);
      parts.push(p);
      len += p.length;
    }
    const big = parts.join('');
    const addon = nativeAddon();
    const before = addon?.getThreads() ?? 1;
    addon?.setThreads(3);
    try {
      setNativeTokenizer(true);
      const whole = tok.encode(big);
      eq(whole, tok.encodeOrdinaryJs(big), 'long text');
      const [b1, b2] = await tok.encodeBatch([big, 'short'], {});
      eq(b1, whole, 'batch');
      eq(b2, tok.encodeOrdinaryJs('short'), 'batch short');
    } finally {
      addon?.setThreads(before);
    }
  });
});

describe('safe cuts', () => {
  it.each(['gpt2', 'gpt4'] as const)('cutting where safeCut says never changes the ids (%s)', async (pattern) => {
    setNativeTokenizer(false);
    const tok = await trainTokenizer({ texts: [TEXT], vocabSize: 600, pattern, progress: false });
    const r = rng(pattern === 'gpt2' ? 21 : 22);
    let cuts = 0;
    for (let k = 0; k < 400; k++) {
      const s = adversarialText(r, 10 + Math.floor(r() * 60)) + (r() < 0.5 ? 'x\ny' : 'a b') + adversarialText(r, 10 + Math.floor(r() * 60));
      const at = safeCut(s.slice(0, 10 + Math.floor(r() * (s.length - 10))));
      if (at <= 0) continue;
      cuts++;
      const whole = Array.from(tok.encode(s));
      const split = [...tok.encode(s.slice(0, at)), ...tok.encode(s.slice(at))];
      expect(split, `${JSON.stringify(s)} cut at ${at}`).toEqual(whole);
    }
    expect(cuts).toBeGreaterThan(100);
    setNativeTokenizer(true);
  });
});
