import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { readManifest } from '../src/data/manifest.js';
import { TokenLoader } from '../src/data/loader.js';
import { workerScript } from '../src/data/pool.js';
import { loadTokenizer, trainTokenizer } from '../src/tokenizer/index.js';
import { rng } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-data-cli-'));
const tokPath = join(root, 'tokenizer.json');
const corpus = join(root, 'corpus');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  const r = rng(9);
  const words = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'far', 'away', 'from', 'home', 'über', 'café'];
  const sentence = (): string => Array.from({ length: 8 + Math.floor(r() * 8) }, () => words[Math.floor(r() * words.length)]).join(' ') + '.';
  mkdirSync(join(corpus, 'sub'), { recursive: true });
  writeFileSync(join(corpus, 'a.txt'), Array.from({ length: 400 }, sentence).join('\n'));
  writeFileSync(join(corpus, 'sub', 'b.jsonl'), Array.from({ length: 200 }, () => JSON.stringify({ text: sentence() + ' ' + sentence() })).join('\n'));
  await trainTokenizer({ texts: [readFileSync(join(corpus, 'a.txt'), 'utf8')], vocabSize: 400, out: tokPath, progress: false });
});

const cli = runCli;

describe('llmforge data prepare (CLI, real tokenizer)', () => {
  it('prepares a folder and prints a JSON summary', async () => {
    const out = join(root, 'ds1');
    const { stdout } = await cli(['data', 'prepare', '--input', corpus, '--tokenizer', tokPath, '--out', out, '--json', '--doc-chars', '2000']);
    const summary = JSON.parse(stdout.trim()) as Record<string, number>;
    const m = await readManifest(out);
    expect(summary).toMatchObject({ command: 'data prepare', documents: m.documents, train_tokens: m.train_tokens, val_tokens: m.val_tokens });
    const tok = await loadTokenizer(tokPath);
    expect(m.tokenizer_hash).toBe(tok.hash);
    expect((await loadTokenizer(join(out, 'tokenizer.json'))).hash).toBe(tok.hash);
    expect(m.tokenizer.separator).toBe('<|bos|>');
    expect(m.sources.map((s) => s.path)).toEqual([join(corpus, 'a.txt'), join(corpus, 'sub', 'b.jsonl')]);
    const loader = await TokenLoader.open(out, 'train', { context: 16, batchSize: 2, seed: 1 });
    const x = new Int32Array(32);
    const y = new Int32Array(32);
    loader.nextBatch(x, y);
    expect(Math.max(...x)).toBeLessThan(tok.vocabSize);
  });

  it('gives the same shards on worker threads as on the main thread', async () => {
    const a = join(root, 'ds-inline');
    const b = join(root, 'ds-workers');
    await cli(['data', 'prepare', '--input', corpus, '--tokenizer', tokPath, '--out', a, '--threads', '0', '--dedup', 'near', '--doc-chars', '500']);
    await cli(['data', 'prepare', '--input', corpus, '--tokenizer', tokPath, '--out', b, '--threads', '2', '--dedup', 'near', '--doc-chars', '500']);
    const ma = await readManifest(a);
    const mb = await readManifest(b);
    expect(mb.shards).toEqual(ma.shards);
    expect(mb).toEqual(ma);
    // Workers need the compiled tree (npm test builds it first).
    if (workerScript()) expect(fileURLToPath(workerScript() as URL)).toMatch(/dist/);
  });

  it('takes options from --config, flags overriding it', async () => {
    const cfg = join(root, 'prepare.json');
    writeFileSync(cfg, JSON.stringify({ input: [corpus], tokenizer: tokPath, 'val-fraction': 0.3, seed: 5, dedup: 'none', minChars: 40 }));
    const out = join(root, 'ds-config');
    await cli(['data', 'prepare', '--config', cfg, '--out', out, '--seed', '6']);
    const m = await readManifest(out);
    expect(m.options).toMatchObject({ val_fraction: 0.3, seed: 6, min_chars: 40 });
    expect(m.dedup.mode).toBe('none');
    writeFileSync(cfg, JSON.stringify({ valFraction: 2 }));
    await expect(cli(['data', 'prepare', '--config', cfg])).rejects.toThrow(/--config .*prepare.json: field 'valFraction': must be between 0 and/);
    writeFileSync(cfg, JSON.stringify({ colour: 'red' }));
    await expect(cli(['data', 'prepare', '--config', cfg])).rejects.toThrow(/unknown field 'colour'/);
  });

  it('names a missing tokenizer, missing flags and bad flag values', async () => {
    const out = join(root, 'ds-missing');
    await expect(cli(['data', 'prepare', '--input', corpus, '--tokenizer', join(root, 'nope.json'), '--out', out])).rejects.toThrow(
      /--tokenizer: .*nope.json: cannot read tokenizer/,
    );
    expect(existsSync(out)).toBe(false);
    await expect(cli(['data', 'prepare', '--tokenizer', tokPath, '--out', out])).rejects.toThrow(/--input is required/);
    await expect(cli(['data', 'prepare', '--input', corpus, '--tokenizer', tokPath, '--out', out, '--dedup', 'fuzzy'])).rejects.toThrow(
      /expected none, exact or near, got 'fuzzy'/,
    );
  });

  it('bench prepare prints one JSON record with mb_per_s', async () => {
    const { stdout } = await cli(['bench', 'prepare', '--input', corpus, '--tokenizer', tokPath, '--repeat', '2', '--json']);
    const rec = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(rec.bench).toBe('prepare');
    expect(typeof rec.mb_per_s).toBe('number');
    expect(rec.mb_per_s as number).toBeGreaterThan(0);
    expect(rec.duplicates_removed as number).toBeGreaterThan(0); // the second copy is all duplicates
  });
});

describe('llmforge data prepare: interrupted', () => {
  const bin = fileURLToPath(new URL('../bin/llmforge.js', import.meta.url));
  const built = existsSync(fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)));

  it.skipIf(!built)('Ctrl-C leaves no manifest.json and no temporary folder', async () => {
    const big = join(root, 'big');
    mkdirSync(big);
    const line = readFileSync(join(corpus, 'a.txt'), 'utf8');
    for (let i = 0; i < 40; i++) writeFileSync(join(big, `part-${i}.txt`), `${i}\n${line}\n`.repeat(20));
    const out = join(root, 'ds-interrupted');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [bin, 'data', 'prepare', '--input', big, '--tokenizer', tokPath, '--out', out, '--dedup', 'none', '--threads', '1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
    const { readdirSync } = await import('node:fs');
    const tmpExists = (): boolean => readdirSync(root).some((n) => n.startsWith('.ds-interrupted.tmp-'));
    for (let i = 0; i < 400 && !tmpExists(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(tmpExists()).toBe(true);
    child.kill('SIGINT');
    const { signal, code } = await exited;
    expect({ signal, code, stderr }).toMatchObject({ signal: 'SIGINT', code: null });
    expect(existsSync(out)).toBe(false);
    expect(tmpExists()).toBe(false);
  });
});
