/**
 * File formats: a tokenizer.json written by Hugging Face's own trainer loads here with the same
 * ids; tiktoken → tokenizer.json → back is identical; NFC and ignore_merges as HF applies them;
 * and every malformed file gives one error naming the file and what is wrong.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import hf from 'tokenizers';
import { loadTokenizer, trainTokenizer, tokenizerFromTiktoken, TokenizerFileError } from '../src/tokenizer/index.js';
import { rng } from './helpers.js';
import { adversarialText } from './tokenizer-helpers.js';

const require = createRequire(import.meta.url);
const FIXTURE = new URL('./fixtures/public-domain-bible.txt', import.meta.url).pathname;
const TEXT = readFileSync(FIXTURE, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'llmforge-tok-formats-'));

async function hfIds(h: InstanceType<typeof hf.Tokenizer>, s: string): Promise<number[]> {
  return Array.from((await h.encode(s)).getIds());
}

describe('Hugging Face tokenizer.json', () => {
  it('loads a file trained and saved by HF tokenizers and encodes identically', async () => {
    const t = new hf.Tokenizer(hf.BPE.empty());
    t.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
    const corpus = join(dir, 'hf-corpus.txt');
    writeFileSync(corpus, TEXT);
    t.train([corpus]);
    t.addSpecialTokens(['<|endoftext|>']);
    const saved = join(dir, 'hf-saved.json');
    t.save(saved);
    // This binding's trainer starts from the bytes it has seen (Python's takes
    // initial_alphabet=ByteLevel.alphabet()); add the missing byte tokens, as that would.
    const obj = JSON.parse(readFileSync(saved, 'utf8'));
    let next = Object.keys(obj.model.vocab).length;
    for (const ch of hf.byteLevelAlphabet()) if (!(ch in obj.model.vocab)) obj.model.vocab[ch] = next++;
    obj.added_tokens[0].id = next; // HF numbers added tokens after the model vocabulary
    expect(Array.isArray(obj.model.merges[0])).toBe(true); // the newer [a, b] merge format
    const path = join(dir, 'hf-trained.json');
    writeFileSync(path, JSON.stringify(obj));
    const tok = await loadTokenizer(path);
    const h = hf.Tokenizer.fromFile(path);
    const r = rng(4);
    for (const s of [TEXT.slice(0, 3000), 'x<|endoftext|>y', ...Array.from({ length: 50 }, () => adversarialText(r, 60))]) {
      expect(Array.from(tok.encode(s, { allowedSpecial: 'all' })), JSON.stringify(s.slice(0, 50))).toEqual(await hfIds(h, s));
    }
  });

  it('applies an NFC normalizer and ignore_merges as HF does', async () => {
    const base = await trainTokenizer({ texts: [TEXT], vocabSize: 700, pattern: 'gpt4', progress: false });
    const obj = JSON.parse(base.toTokenizerJson());
    obj.normalizer = { type: 'NFC' };
    obj.model.ignore_merges = true;
    // A vocab token no merge sequence would produce, to make ignore_merges matter.
    const id = Object.keys(obj.model.vocab).length;
    obj.model.vocab['Ġzqx'] = id;
    for (const t of obj.added_tokens) t.id += 1;
    const path = join(dir, 'nfc.json');
    writeFileSync(path, JSON.stringify(obj));
    const tok = await loadTokenizer(path);
    const h = hf.Tokenizer.fromFile(path);
    for (const s of ['e\u0301t\u00e9 caf\u0065\u0301 zqx', ' zqx zqxa', TEXT.slice(0, 500)]) {
      expect(Array.from(tok.encode(s))).toEqual(await hfIds(h, s));
    }
    expect(Array.from(tok.encode(' zqx'))).toEqual([id]);
  });
});

describe('tiktoken rank files', () => {
  it('round-trip through tokenizer.json unchanged', async () => {
    const path = require.resolve('gpt-tokenizer/data/r50k_base.tiktoken');
    const a = await loadTokenizer(path);
    const jsonPath = join(dir, 'gpt2.json');
    writeFileSync(jsonPath, a.toTokenizerJson());
    const b = await loadTokenizer(jsonPath);
    expect(b.toTokenizerJson()).toBe(a.toTokenizerJson());
    expect(Array.from(b.encode(TEXT))).toEqual(Array.from(a.encode(TEXT)));
  });

  it('take pattern and special tokens from options when the file has no known size', () => {
    const lines = Array.from({ length: 256 }, (_, b) => `${Buffer.from([b]).toString('base64')} ${b}`);
    lines.push(`${Buffer.from('ab').toString('base64')} 256`);
    const tok = tokenizerFromTiktoken(lines.join('\n'), 'x.tiktoken', { pattern: 'gpt2', specialTokens: { '<|end|>': 300 } });
    expect(tok.pattern.name).toBe('gpt2');
    expect(tok.vocabSize).toBe(301);
    expect(Array.from(tok.encode('ab<|end|>', { allowedSpecial: 'all' }))).toEqual([256, 300]);
  });
});

interface TokenizerJsonShape {
  model: { vocab: Record<string, number>; merges: string[] };
  pre_tokenizer: Record<string, unknown>;
  normalizer: unknown;
  added_tokens: Array<{ id: number; content: string }>;
}

describe('malformed files', () => {
  const good = (): TokenizerJsonShape => JSON.parse(readFileSync(join(dir, 'gpt2.json'), 'utf8')) as TokenizerJsonShape;
  beforeAll(async () => {
    const a = await trainTokenizer({ texts: [TEXT], vocabSize: 400, pattern: 'gpt2', progress: false });
    writeFileSync(join(dir, 'gpt2.json'), a.toTokenizerJson());
  });

  function write(name: string, content: string | object): string {
    const p = join(dir, name);
    writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
    return p;
  }

  it.each([
    ['empty.json', '', /not a tokenizer file/],
    ['truncated.json', '{"model": {"type": "BPE"', /malformed JSON/],
    ['wordpiece.json', { model: { type: 'WordPiece', vocab: {} } }, /model type "WordPiece" is not supported/],
    ['noncached.json', { model: { type: 'BPE', vocab: [], merges: [] } }, /model.vocab must be an object/],
  ] as const)('%s', async (name, content, msg) => {
    const p = write(name, content);
    const err = await loadTokenizer(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenizerFileError);
    expect((err as Error).message).toContain(p);
    expect((err as Error).message).toMatch(msg);
  });

  it('rejects broken vocabularies, merges, pre-tokenizers and special tokens', async () => {
    const cases: Array<[string, (o: TokenizerJsonShape) => void, RegExp]> = [
      ['sentencepiece.json', (o) => (o.model.vocab['▁hello'] = 9999), /"▁hello" \(id 9999\) is not byte-level/],
      ['nobyte.json', (o) => delete o.model.vocab['Ā'], /no token for byte 0x00/],
      ['badmerge.json', (o) => o.model.merges.push('Ġ zzzz'), /merge \d+ "Ġ zzzz": "zzzz" is not in the vocab/],
      ['badmerge2.json', (o) => o.model.merges.push('a b c'), /merge \d+ "a b c" is not two tokens/],
      ['noresult.json', (o) => o.model.merges.push('q q'), /the merged token "qq" is not in the vocab/],
      ['metaspace.json', (o) => (o.pre_tokenizer = { type: 'Metaspace' }), /pre_tokenizer .* is not supported/],
      ['prefix.json', (o) => (o.pre_tokenizer.add_prefix_space = true), /add_prefix_space = true is not supported/],
      ['normalizer.json', (o) => (o.normalizer = { type: 'Lowercase' }), /normalizer .* is not supported/],
      ['dupspecial.json', (o) => o.added_tokens.push({ ...o.added_tokens[0] }), /added token "<\|bos\|>" is listed twice/],
      ['specialclash.json', (o) => (o.added_tokens[0].id = 5), /has id 5, which is an ordinary BPE token/],
      ['dupid.json', (o) => (o.model.vocab['Ġzz'] = 3), /vocab id 3 is used twice/],
      ['badregex.json', (o) => (o.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: '(' }, behavior: 'Isolated' }, { type: 'ByteLevel', use_regex: false }] }), /invalid pattern regex/],
    ];
    for (const [name, edit, msg] of cases) {
      const o = good();
      edit(o);
      const p = write(name, o);
      await expect(loadTokenizer(p), name).rejects.toThrow(msg);
      await expect(loadTokenizer(p)).rejects.toThrow(p);
    }
  });

  it('rejects broken tiktoken and GPT-2 files', async () => {
    await expect(loadTokenizer(write('a.tiktoken', 'IQ== 0\nIg== x\n'))).rejects.toThrow(/a\.tiktoken: line 2 .* is not "base64 rank"/);
    await expect(loadTokenizer(write('b.tiktoken', 'IQ== 0\nIg== 0\n'))).rejects.toThrow(/b\.tiktoken: line 2: rank 0 is used twice/);
    await expect(loadTokenizer(write('c.tiktoken', 'IQ== 0\n'))).rejects.toThrow(/c\.tiktoken: no rank for byte 0x00/);
    const gdir = join(dir, 'gpt2files');
    mkdirSync(gdir);
    writeFileSync(join(gdir, 'vocab.bpe'), '#version: 0.2\na b\n');
    await expect(loadTokenizer(join(gdir, 'vocab.bpe'))).rejects.toThrow(/vocab\.bpe: GPT-2 vocab\.bpe needs encoder\.json beside it/);
    await expect(loadTokenizer(join(dir, 'missing.json'))).rejects.toThrow(/missing\.json: cannot read tokenizer/);
    const empty = join(dir, 'emptydir');
    mkdirSync(empty);
    await expect(loadTokenizer(empty)).rejects.toThrow(/emptydir: directory has no tokenizer\.json/);
  });

  it('loads a checkpoint-style directory holding tokenizer.json', async () => {
    const cdir = join(dir, 'ckpt');
    mkdirSync(cdir);
    writeFileSync(join(cdir, 'tokenizer.json'), readFileSync(join(dir, 'gpt2.json')));
    const tok = await loadTokenizer(cdir);
    expect(tok.vocabSize).toBe(400);
  });
});
