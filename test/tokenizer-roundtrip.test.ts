/**
 * Round trips: decode(encode(s)) === s for any valid string (random Unicode from every plane,
 * random bytes decoded as UTF-8, emoji, CJK, combining marks, control characters, \r\n, long
 * white space), on both encoders and for each pattern; byte lengths add up; batches equal singles.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadTokenizer, setNativeTokenizer, trainTokenizer, type BpeTokenizer } from '../src/tokenizer/index.js';
import { rng } from './helpers.js';
import { adversarialText } from './tokenizer-helpers.js';

const require = createRequire(import.meta.url);
const TEXT = readFileSync(new URL('./fixtures/public-domain-bible.txt', import.meta.url), 'utf8');

function randomCodePoints(r: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const plane = r();
    let cp: number;
    if (plane < 0.4) cp = Math.floor(r() * 0x80);
    else if (plane < 0.8) cp = Math.floor(r() * 0x10000);
    else cp = 0x10000 + Math.floor(r() * 0x100000);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    s += String.fromCodePoint(cp);
  }
  return s;
}

function randomBytesAsText(r: () => number, n: number): string {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = r() < 0.5 ? Math.floor(r() * 128) : Math.floor(r() * 256);
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(b);
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

const tokenizers: Record<string, BpeTokenizer> = {};

beforeAll(async () => {
  tokenizers.gpt2 = await loadTokenizer(require.resolve('gpt-tokenizer/data/r50k_base.tiktoken'));
  const corpus = [TEXT, adversarialText(rng(3), 30000), randomCodePoints(rng(4), 3000)];
  tokenizers.gpt4 = await trainTokenizer({ texts: corpus, vocabSize: 2000, pattern: 'gpt4', progress: false });
  tokenizers.custom = await trainTokenizer({ texts: corpus, vocabSize: 1000, pattern: String.raw`\p{L}+|\p{N}{1,2}|\s+|.`, progress: false });
});

describe.each(['native', 'js'] as const)('round trips (%s encoder)', (backend) => {
  it.each(['gpt2', 'gpt4', 'custom'])('decode(encode(s)) === s for random strings (%s)', (name) => {
    setNativeTokenizer(backend === 'native');
    const tok = tokenizers[name];
    const r = rng(name.length * 7 + (backend === 'native' ? 1 : 2));
    const cases = [
      '',
      '\u0000',
      '\ufeff starts with a BOM',
      '😀👨‍👩‍👧‍👦🇯🇵',
      '中文日本語한국어',
      'e\u0301\u0302\u0303 combining',
      'line\r\nline\rline\n',
      '\t'.repeat(300) + ' '.repeat(5000) + '\n'.repeat(100),
      'a'.repeat(10000),
      '1'.repeat(1000),
      TEXT,
    ];
    for (let k = 0; k < 150; k++) cases.push(randomCodePoints(r, Math.floor(r() * 100)));
    for (let k = 0; k < 150; k++) cases.push(randomBytesAsText(r, Math.floor(r() * 100)));
    for (let k = 0; k < 100; k++) cases.push(adversarialText(r, Math.floor(r() * 100)));
    for (const s of cases) {
      const ids = tok.encode(s);
      expect(tok.decode(ids), JSON.stringify(s.slice(0, 40))).toBe(s);
      let bytes = 0;
      for (const id of ids) bytes += tok.tokenByteLength(id);
      expect(bytes).toBe(utf8Length(s));
      expect(Buffer.from(tok.decodeBytes(ids)).equals(Buffer.from(s, 'utf8'))).toBe(true);
    }
  });

  it('encodeBatch equals encode on each text, with and without allowed specials', async () => {
    setNativeTokenizer(backend === 'native');
    const tok = tokenizers.gpt4;
    const r = rng(8);
    const texts = Array.from({ length: 60 }, (_, i) => (i % 5 === 0 ? '<|user|>hi<|end|>' : '') + adversarialText(r, Math.floor(r() * 300)));
    for (const opts of [undefined, { allowedSpecial: 'all' as const }, { allowedSpecial: new Set(['<|end|>']) }]) {
      const batch = await tok.encodeBatch(texts, opts);
      texts.forEach((t, i) => expect(Array.from(batch[i])).toEqual(Array.from(tok.encode(t, opts))));
    }
  });
});

describe('tokenizer details', () => {
  it('lone surrogates become U+FFFD, as in TextEncoder', () => {
    const tok = tokenizers.gpt4;
    expect(tok.decode(tok.encode('a\ud800b'))).toBe('a\ufffdb');
    expect(tok.decode(tok.encode('\udc00'))).toBe('\ufffd');
  });

  it('decode of a cut UTF-8 sequence gives U+FFFD; decodeBytes keeps the bytes', () => {
    const tok = tokenizers.gpt2;
    const ids = tok.encode('😀');
    expect(ids.length).toBeGreaterThan(1);
    expect(tok.decode(ids.subarray(0, 1))).toContain('\ufffd');
    const parts = Array.from(ids, (id) => tok.decodeBytes([id]));
    expect(Buffer.concat(parts).toString('utf8')).toBe('😀');
  });

  it('special tokens: only when allowed, by name, with byte length 0', () => {
    const tok = tokenizers.gpt4;
    const eos = tok.specialTokens.get('<|eos|>')!;
    expect(Array.from(tok.encode('<|eos|>', { allowedSpecial: 'all' }))).toEqual([eos]);
    expect(Array.from(tok.encode('<|eos|>', { allowedSpecial: new Set(['<|bos|>']) }))).not.toContain(eos);
    expect(Array.from(tok.encode('<|eos|>'))).not.toContain(eos);
    expect(tok.tokenByteLength(eos)).toBe(0);
    expect(tok.decode([eos])).toBe('<|eos|>');
    expect(() => tok.decode([tok.vocabSize])).toThrow(/not in the vocabulary/);
    expect(() => tok.decode([-1])).toThrow(/not in the vocabulary/);
  });

  it('hash is the sha256 of tokenizer.json and differs between tokenizers', () => {
    expect(tokenizers.gpt4.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenizers.gpt4.hash).not.toBe(tokenizers.custom.hash);
    expect(tokenizers.gpt4.hash).toBe(tokenizers.gpt4.hash);
  });
});
