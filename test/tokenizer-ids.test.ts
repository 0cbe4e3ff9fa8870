/**
 * Token ids in tokenizer files must be dense and in range: an id far beyond the vocabulary
 * (1e9) used to make the loader allocate gigabytes for minutes. Now the file is refused at once,
 * naming the entry — in tokenizer.json (vocab and added tokens), tiktoken rank files and GPT-2's
 * encoder.json. Small gaps (cl100k leaves 16 ids unused) still load.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, trainTokenizer, TokenizerFileError, type BpeTokenizer } from '../src/tokenizer/index.js';
import { bytesToTokenString } from '../src/tokenizer/bytes.js';

const dir = mkdtempSync(join(tmpdir(), 'llmforge-tok-ids-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface HfJson {
  model: { vocab: Record<string, number>; merges: string[] };
  added_tokens: Array<{ id: number; content: string }>;
}

let tok: BpeTokenizer;
beforeAll(async () => {
  tok = await trainTokenizer({ texts: ['the cat sat on the mat, the cat ate the rat '.repeat(50)], vocabSize: 280, progress: false });
});

const good = (): HfJson => JSON.parse(tok.toTokenizerJson()) as HfJson;

function write(name: string, content: string | object): string {
  const p = join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

/** Loads and expects a quick refusal naming the file and matching `msg`. */
async function refused(path: string, msg: RegExp): Promise<void> {
  const t0 = performance.now();
  const err = await loadTokenizer(path).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TokenizerFileError);
  expect((err as Error).message).toContain(path);
  expect((err as Error).message).toMatch(msg);
  expect(performance.now() - t0).toBeLessThan(2000);
}

describe('token ids in tokenizer files', () => {
  it('tokenizer.json: a vocab id far beyond the vocabulary is refused, naming the entry', async () => {
    const o = good();
    o.model.vocab['Ġzq'] = 1e9;
    await refused(write('vocab-far.json', o), /vocab entry "Ġzq" has id 1000000000, which is beyond the vocabulary/);
  });

  it('tokenizer.json: an added token id far beyond the vocabulary is refused, naming the entry', async () => {
    const o = good();
    o.added_tokens[1].id = 1e9;
    await refused(write('added-far.json', o), /added_tokens\[1\] "<\|eos\|>" has id 1000000000, which is beyond the vocabulary/);
  });

  it('tokenizer.json: a small gap is fine, ids just past the allowed slack are not', async () => {
    const o = good();
    const n = Object.keys(o.model.vocab).length + o.added_tokens.length;
    o.added_tokens[o.added_tokens.length - 1].id += 16; // like cl100k's unused ids
    const t = await loadTokenizer(write('gap.json', o));
    expect(t.vocabSize).toBe(n + 16);
    const far = good();
    far.added_tokens[0].id = n + 1024;
    await refused(write('gap-far.json', far), /added_tokens\[0\] "<\|bos\|>" has id \d+, which is beyond the vocabulary/);
  });

  it('tiktoken rank files: a rank far beyond the number of ranks is refused, naming the line', async () => {
    const lines: string[] = [];
    for (let b = 0; b < 256; b++) lines.push(`${Buffer.from([b]).toString('base64')} ${b}`);
    lines.push(`${Buffer.from('ab').toString('base64')} 1000000000`);
    await refused(write('far.tiktoken', `${lines.join('\n')}\n`), /line 257: rank 1000000000 is beyond the vocabulary/);
  });

  it('tiktoken special tokens given by the caller must be in range too', async () => {
    const lines: string[] = [];
    for (let b = 0; b < 256; b++) lines.push(`${Buffer.from([b]).toString('base64')} ${b}`);
    const p = write('ok.tiktoken', `${lines.join('\n')}\n`);
    const err = await loadTokenizer(p, { specialTokens: { '<|x|>': 1e9 } }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/special token "<\|x\|>" has id 1000000000, which is beyond the vocabulary/);
  });

  it('GPT-2 encoder.json: an id far beyond the vocabulary is refused, naming the entry', async () => {
    const g = join(dir, 'gpt2');
    mkdirSync(g);
    const enc: Record<string, number> = {};
    for (let b = 0; b < 256; b++) enc[bytesToTokenString(Uint8Array.of(b))] = b;
    enc['<|endoftext|>'] = 1e9;
    writeFileSync(join(g, 'encoder.json'), JSON.stringify(enc));
    writeFileSync(join(g, 'vocab.bpe'), '#version: 0.2\n');
    await refused(join(g, 'encoder.json'), /vocab entry "<\|endoftext\|>" has id 1000000000, which is beyond the vocabulary/);
  });
});
