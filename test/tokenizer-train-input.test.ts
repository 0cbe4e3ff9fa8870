/**
 * What `tokenizer train` reads: the data stage's discovery (src/data/discover.ts) — the same
 * files, folders and globs, the same extensions — and binary or non-text files are skipped with
 * a warning, as `data prepare` skips them, instead of being trained on as noise.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainTokenizer, trainTokenizerDetailed } from '../src/tokenizer/index.js';
import { rng } from './helpers.js';

const TEXT = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');
const CLI = join(__dirname, '..', 'bin', 'llmforge.js');
const dir = mkdtempSync(join(tmpdir(), 'llmforge-tok-input-'));
const corpus = join(dir, 'corpus');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function noise(n: number, seed: number): Buffer {
  const r = rng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}

beforeAll(() => {
  mkdirSync(join(corpus, 'sub'), { recursive: true });
  writeFileSync(join(corpus, 'a.txt'), TEXT);
  writeFileSync(join(corpus, 'noise.txt'), noise(20000, 1)); // binary with a text extension
  writeFileSync(join(corpus, 'sub', 'zip.txt.gz'), gzipSync(noise(20000, 2)));
  writeFileSync(join(corpus, 'sub', 'utf16.md'), Buffer.from(`\ufeff${TEXT.slice(0, 2000)}`, 'utf16le'));
  writeFileSync(join(corpus, 'image.png'), noise(5000, 3)); // not a text extension: ignored, as data prepare does
  writeFileSync(join(dir, 'explicit.bin'), noise(5000, 4)); // named explicitly: read, but binary
});

describe('tokenizer train input', () => {
  it('skips binary files with a warning and trains only on the text', async () => {
    const warnings: string[] = [];
    const { tokenizer, stats } = await trainTokenizerDetailed({
      input: [corpus, join(dir, 'explicit.bin')], vocabSize: 400, progress: false, onWarning: (m) => warnings.push(m),
    });
    const textOnly = await trainTokenizer({ texts: [TEXT], vocabSize: 400, progress: false });
    expect(tokenizer.toTokenizerJson()).toBe(textOnly.toTokenizerJson());
    expect(stats.chars).toBe(TEXT.length);
    const all = warnings.join('\n');
    expect(all).toMatch(/skipped .*noise\.txt: binary file/);
    expect(all).toMatch(/skipped .*zip\.txt\.gz: binary file/);
    expect(all).toMatch(/skipped .*utf16\.md: binary file .*UTF-16/);
    expect(all).toMatch(/skipped .*explicit\.bin: binary file/);
    expect(all).toMatch(/ignored 1 file\(s\) without a \.txt\/\.md\/\.jsonl\(\.gz\) extension: .*image\.png/);
  });

  it('the CLI prints the warnings; nothing but binary input is an error', () => {
    const out = join(dir, 'tok.json');
    const cli = (...args: string[]): { status: number | null; stderr: string } =>
      spawnSync(process.execPath, [CLI, 'tokenizer', 'train', '--vocab-size', '400', '--out', out, '--no-progress', ...args], { encoding: 'utf8' });
    const ok = cli('--input', corpus);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/llmforge: warning: skipped .*noise\.txt: binary file/);
    const bad = cli('--input', join(corpus, 'noise.txt'));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/no text to train on: every input file was skipped/);
    expect(cli('--input', join(dir, 'missing.txt')).stderr).toMatch(/missing\.txt' does not exist/);
  });
});
