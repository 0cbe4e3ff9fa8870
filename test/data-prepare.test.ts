import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/data/errors.js';
import { readManifest } from '../src/data/manifest.js';
import { type PrepareOptions, prepare } from '../src/data/prepare.js';
import { ShardWriter, readShardHeader, readShardTokens } from '../src/data/shard.js';
import type { Tokenizer } from '../src/tokenizer/types.js';
import { byteTokenizer, byteTokenizerSpec } from './fixtures/data/byte-tokenizer.mjs';
import { rng } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

function tree(files: Record<string, string | Uint8Array>): string {
  const dir = join(root, `case-${counter++}`);
  for (const [name, content] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

const tok = byteTokenizer();
const BOS = 256;

async function run(
  inputs: string[],
  extra: Partial<PrepareOptions> = {},
  warnings: string[] = [],
): Promise<{ out: string; manifest: Awaited<ReturnType<typeof readManifest>> }> {
  const out = join(root, `out-${counter++}`);
  await prepare({ inputs, out, tokenizer: tok, threads: 0, onWarning: (m) => warnings.push(m), ...extra });
  return { out, manifest: await readManifest(out) };
}

/** The documents of a split, decoded from its shards. */
function splitDocs(out: string, split: 'train' | 'val', t: Tokenizer = tok, sep = BOS): string[] {
  const files = readdirSync(out)
    .filter((f) => f.startsWith(`${split}-`))
    .sort();
  const all: number[] = [];
  for (const f of files) all.push(...readShardTokens(join(out, f)));
  const docs: string[] = [];
  let cur: number[] | null = null;
  for (const id of all) {
    if (id === sep) {
      if (cur) docs.push(t.decode(cur));
      cur = [];
    } else {
      expect(cur).not.toBeNull(); // every document starts with the separator
      (cur as number[]).push(id);
    }
  }
  if (cur) docs.push(t.decode(cur));
  return docs;
}

const para = (i: number, words = 40): string => {
  const r = rng(i + 1);
  return Array.from({ length: words }, () => `w${Math.floor(r() * 5000)}`).join(' ');
};

describe('data prepare: inputs', () => {
  it('reads folders recursively in sorted order, globs, .md, .jsonl and .gz', async () => {
    const dir = tree({
      'b/two.txt': 'second file\n',
      'a/one.md': '# First\n\nfirst file\n',
      'a/.hidden/skip.txt': 'hidden\n',
      'c/docs.jsonl': '{"text":"json one"}\n\n{"text":"json two","id":2}\r\n',
      'c/more.jsonl.gz': gzipSync('{"text":"gz json"}\n'),
      'c/plain.txt.gz': gzipSync('gz text'),
      'c/image.png': 'not used',
    });
    const warnings: string[] = [];
    const { out, manifest } = await run([dir], { valFraction: 0 }, warnings);
    expect(manifest.sources.map((s) => s.path.slice(dir.length + 1))).toEqual([
      'a/one.md',
      'b/two.txt',
      'c/docs.jsonl',
      'c/more.jsonl.gz',
      'c/plain.txt.gz',
    ]);
    expect(splitDocs(out, 'train')).toEqual(['# First\n\nfirst file', 'second file', 'json one', 'json two', 'gz json', 'gz text']);
    expect(manifest.ignored_files).toEqual([join(dir, 'c/image.png')]);
    expect(warnings.some((w) => w.includes('ignored 1 file'))).toBe(true);

    const globbed = await run([join(dir, '**/*.{txt,txt.gz}')], { valFraction: 0 });
    expect(splitDocs(globbed.out, 'train')).toEqual(['second file', 'gz text']);
  });

  it('uses a configurable (nested) text field', async () => {
    const dir = tree({ 'd.jsonl': '{"body":{"content":"nested text"}}\n{"body":{"content":"more"}}\n' });
    const { out } = await run([join(dir, 'd.jsonl')], { textField: 'body.content', valFraction: 0 });
    expect(splitDocs(out, 'train')).toEqual(['nested text', 'more']);
  });

  it('cleans: NFC, newlines, control characters, invalid UTF-8 counted per file', async () => {
    const bad = Buffer.concat([Buffer.from('caf'), Buffer.from([0x65, 0xcc, 0x81]), Buffer.from(' ok\r\nbad '), Buffer.from([0xff, 0xfe]), Buffer.from('\u0007end\n')]);
    const dir = tree({ 'x.txt': bad, 'y.txt': 'clean\n' });
    const { out, manifest } = await run([dir], { valFraction: 0 });
    expect(splitDocs(out, 'train')).toEqual(['café ok\nbad \uFFFD\uFFFDend', 'clean']);
    expect(manifest.sources[0].invalid_bytes).toBe(2);
    expect(manifest.sources[0].control_chars).toBe(1);
    expect(manifest.sources[1].invalid_bytes).toBe(0);
    expect(manifest.invalid_bytes).toBe(2);
  });

  it('drops documents shorter than --min-chars', async () => {
    const dir = tree({ 'd.jsonl': ['{"text":"tiny"}', '{"text":"long enough text"}', '{"text":"   "}'].join('\n') });
    const { out, manifest } = await run([dir], { minChars: 10, valFraction: 0 });
    expect(splitDocs(out, 'train')).toEqual(['long enough text']);
    expect(manifest.too_short).toBe(2);
    expect(manifest.sources[0]).toMatchObject({ documents: 3, kept: 1, too_short: 2 });
  });

  it('cuts long text files into documents of about --doc-chars', async () => {
    const text = Array.from({ length: 100 }, (_, i) => para(i)).join('\n\n');
    const dir = tree({ 'long.txt': text });
    const { out, manifest } = await run([dir], { docChars: 2000, valFraction: 0 });
    const docs = splitDocs(out, 'train');
    expect(docs.length).toBeGreaterThan(10);
    expect(docs.join('\n\n')).toBe(text);
    expect(manifest.documents).toBe(docs.length);
  });
});

describe('data prepare: bad input', () => {
  it('skips binary, empty and unreadable files with one warning each', async () => {
    const bin = new Uint8Array(2000);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 37) & 0xff;
    const dir = tree({ 'good.txt': 'good text\n', 'image.txt': bin, 'empty.txt': '', 'empty.jsonl.gz': gzipSync(''), 'bad.txt.gz': Buffer.from('not gzip at all') });
    symlinkSync(join(dir, 'nowhere.txt'), join(dir, 'broken.txt'));
    let locked = false;
    if (process.getuid && process.getuid() !== 0) {
      writeFileSync(join(dir, 'locked.txt'), 'secret');
      chmodSync(join(dir, 'locked.txt'), 0o000);
      locked = true;
    }
    const warnings: string[] = [];
    const { out, manifest } = await run([dir], { valFraction: 0 }, warnings);
    expect(splitDocs(out, 'train')).toEqual(['good text']);
    const reasons = Object.fromEntries(manifest.skipped.map((s) => [s.path.slice(dir.length + 1), s.reason]));
    expect(reasons['image.txt']).toMatch(/binary file \(contains NUL bytes\)/);
    expect(reasons['empty.txt']).toBe('empty file');
    expect(reasons['empty.jsonl.gz']).toBe('empty file (after decompression)');
    expect(reasons['bad.txt.gz']).toMatch(/corrupt gzip/);
    expect(reasons['broken.txt']).toMatch(/unreadable: ENOENT/);
    if (locked) expect(reasons['locked.txt']).toMatch(/unreadable: EACCES/);
    expect(manifest.skipped.length).toBe(locked ? 6 : 5);
    expect(warnings.filter((w) => w.startsWith('skipped ')).length).toBe(manifest.skipped.length);
    for (const s of manifest.skipped) expect(warnings.filter((w) => w.includes(s.path)).length).toBe(1);
  });

  it('accepts a byte-order mark in JSONL and names UTF-16 files', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hello', 'utf16le')]);
    const dir = tree({ 'bom.jsonl': '\uFEFF{"text":"with bom"}\r\n{"text":"second"}\r\n', 'wide.txt': utf16 });
    const warnings: string[] = [];
    const { out, manifest } = await run([dir], { valFraction: 0 }, warnings);
    expect(splitDocs(out, 'train')).toEqual(['with bom', 'second']);
    expect(manifest.skipped[0].reason).toMatch(/looks like UTF-16 text/);
  });

  it('names the shard when writing fails', () => {
    const w = new ShardWriter(join(root, 'no', 'such', 'dir'), 'train', 'uint16', 300, 100);
    expect(() => w.writeDocument([1, 2, 3])).toThrow(/no\/such\/dir\/train-00000.bin: cannot write shard: ENOENT/);
  });

  it('a malformed JSONL line is fatal, naming file and line; --skip-bad-lines counts it', async () => {
    const dir = tree({ 'docs.jsonl': '{"text":"one"}\n{"text":"two"}\n{"text": oops}\n{"text":"four"}\n' });
    const file = join(dir, 'docs.jsonl');
    await expect(run([file])).rejects.toThrow(`${file}:3: invalid JSON`);
    const warnings: string[] = [];
    const { out, manifest } = await run([file], { skipBadLines: true, valFraction: 0 }, warnings);
    expect(splitDocs(out, 'train')).toEqual(['one', 'two', 'four']);
    expect(manifest.bad_lines).toBe(1);
    expect(manifest.sources[0].bad_lines).toBe(1);
    expect(warnings.some((w) => w.includes(`${file}:3:`))).toBe(true);
  });

  it('a missing or non-string text field is fatal too, unless skipped', async () => {
    const dir = tree({ 'docs.jsonl': '{"text":"one"}\n{"content":"two"}\n{"text":5}\n[1]\n' });
    const file = join(dir, 'docs.jsonl');
    await expect(run([file])).rejects.toThrow(`${file}:2: missing text field 'text'`);
    const { manifest } = await run([file], { skipBadLines: true });
    expect(manifest.bad_lines).toBe(3);
    expect(manifest.documents).toBe(1);
  });

  it('no usable documents at all is a clear error, and leaves nothing behind', async () => {
    const dir = tree({ 'empty.txt': '', 'short.jsonl': '{"text":"hi"}\n' });
    const out = join(root, `out-${counter++}`);
    await expect(prepare({ inputs: [dir], out, tokenizer: tok, threads: 0, minChars: 5, onWarning: () => {} })).rejects.toThrow(
      /no usable documents in the inputs \(1 file\(s\) skipped, 1 document\(s\) shorter than --min-chars 5\)/,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dirname(out)).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('a missing input path or an empty glob is an error', async () => {
    await expect(run([join(root, 'no-such-file.txt')])).rejects.toThrow(/input '.*no-such-file.txt' does not exist/);
    const dir = tree({ 'a.txt': 'x' });
    await expect(run([join(dir, '*.jsonl')])).rejects.toThrow(/matched no files/);
  });

  it('refuses an output folder that holds another dataset, and keeps it intact', async () => {
    const dir = tree({ 'a.txt': 'first dataset text' });
    const { out } = await run([dir]);
    const before = readFileSync(join(out, 'manifest.json'), 'utf8');
    const dir2 = tree({ 'b.txt': 'second dataset text' });
    await expect(prepare({ inputs: [dir2], out, tokenizer: tok, threads: 0 })).rejects.toThrow(/already holds a dataset/);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(before);
    // --overwrite replaces it only when the new one is complete.
    await expect(prepare({ inputs: [join(root, 'none', '*.txt')], out, tokenizer: tok, threads: 0, overwrite: true })).rejects.toThrow();
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(before);
    await prepare({ inputs: [dir2], out, tokenizer: tok, threads: 0, overwrite: true, valFraction: 0 });
    expect(splitDocs(out, 'train')).toEqual(['second dataset text']);
    // A non-empty folder without a dataset is refused; an empty one is used.
    const other = tree({ 'keep.txt': 'x' });
    await expect(prepare({ inputs: [dir2], out: other, tokenizer: tok, threads: 0 })).rejects.toThrow(/not empty/);
    const empty = join(root, `empty-${counter++}`);
    mkdirSync(empty);
    await prepare({ inputs: [dir2], out: empty, tokenizer: tok, threads: 0 });
    expect(existsSync(join(empty, 'manifest.json'))).toBe(true);
  });

  it('a failed run leaves no manifest.json and no temporary folder', async () => {
    const dir = tree({ 'a.txt': 'good', 'b.jsonl': '{"text":"x"}\nnot json\n' });
    const out = join(root, `out-${counter++}`);
    await expect(prepare({ inputs: [dir], out, tokenizer: tok, threads: 0 })).rejects.toThrow(/b.jsonl:2: invalid JSON/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('needs a separator token', async () => {
    const dir = tree({ 'a.txt': 'text' });
    const noSep = byteTokenizer(['<|pad|>']);
    await expect(prepare({ inputs: [dir], out: join(root, `o-${counter++}`), tokenizer: noSep, threads: 0 })).rejects.toThrow(
      /no document separator token: need one of <\|bos\|>, <\|endoftext\|>.*it has <\|pad\|>/,
    );
    const gpt2 = byteTokenizer(['<|endoftext|>']);
    const out = join(root, `o-${counter++}`);
    await prepare({ inputs: [dir], out, tokenizer: gpt2, threads: 0 });
    const m = await readManifest(out);
    expect(m.tokenizer.separator).toBe('<|endoftext|>');
    expect(m.tokenizer.separator_id).toBe(256);
  });
});

describe('data prepare: dedup', () => {
  const docs = Array.from({ length: 30 }, (_, i) => para(i, 200));
  const nearCopy = (s: string): string => {
    const w = s.split(' ');
    w[50] = 'CHANGED';
    w[120] = 'ALSO';
    return w.join(' ');
  };

  it('exact removes identical (whitespace-normalized) documents, keeping the first', async () => {
    const lines = [...docs, docs[3], docs[7].replace(/ /g, '  '), nearCopy(docs[5])].map((t) => JSON.stringify({ text: t }));
    const dir = tree({ 'a.jsonl': lines.join('\n') });
    const none = await run([dir], { dedup: 'none' });
    expect(none.manifest.documents).toBe(33);
    expect(none.manifest.duplicates_removed).toBe(0);
    const exact = await run([dir], { dedup: 'exact', valFraction: 0 });
    expect(exact.manifest.duplicates_removed).toBe(2);
    expect(exact.manifest.dedup).toMatchObject({ mode: 'exact', exact: 2, near: 0 });
    expect(splitDocs(exact.out, 'train')).toEqual([...docs, nearCopy(docs[5])]);
  });

  it('near also removes constructed near-duplicates, across files', async () => {
    const dir = tree({
      'a.jsonl': docs.map((t) => JSON.stringify({ text: t })).join('\n'),
      'b.txt': nearCopy(docs[9]),
      'c.txt': docs[12].toUpperCase().replace(/ /g, ', '),
      'd.txt': para(999, 200),
    });
    const { out, manifest } = await run([dir], { dedup: 'near', valFraction: 0 });
    expect(manifest.dedup).toMatchObject({ mode: 'near', near: 2, near_threshold: 0.8, num_perm: 128, bands: 16, rows: 8 });
    expect(manifest.sources.map((s) => s.duplicates)).toEqual([0, 1, 1, 0]);
    expect(splitDocs(out, 'train')).toEqual([...docs, para(999, 200)]);
  });
});

describe('data prepare: splits, shards, manifest', () => {
  const lines = Array.from({ length: 400 }, (_, i) => JSON.stringify({ text: para(i, 5 + (i % 30)) }));

  it('manifest counts equal what the shards hold', async () => {
    const dir = tree({ 'a.jsonl': lines.join('\n'), 'b.txt': para(5000, 3000) });
    const { out, manifest } = await run([dir], { valFraction: 0.2, shardTokens: 5000, docChars: 4000 });
    const train = splitDocs(out, 'train');
    const val = splitDocs(out, 'val');
    expect(train.length).toBe(manifest.train_documents);
    expect(val.length).toBe(manifest.val_documents);
    expect(manifest.documents).toBe(train.length + val.length);
    expect(val.length / manifest.documents).toBeGreaterThan(0.12);
    expect(val.length / manifest.documents).toBeLessThan(0.28);
    expect(manifest.train_bytes).toBe(train.reduce((a, d) => a + Buffer.byteLength(d), 0));
    expect(manifest.val_bytes).toBe(val.reduce((a, d) => a + Buffer.byteLength(d), 0));
    let trainTokens = 0;
    let valTokens = 0;
    for (const s of manifest.shards) {
      const h = readShardHeader(join(out, s.file));
      expect(h.tokens).toBe(s.tokens);
      expect(h.documents).toBe(s.documents);
      expect(h.dtype).toBe('uint16');
      expect(h.vocabSize).toBe(258);
      expect(s.tokens).toBeLessThanOrEqual(5000);
      if (s.split === 'train') trainTokens += s.tokens;
      else valTokens += s.tokens;
    }
    expect(manifest.shards.filter((s) => s.split === 'train').length).toBeGreaterThan(3);
    expect(trainTokens).toBe(manifest.train_tokens);
    expect(valTokens).toBe(manifest.val_tokens);
    expect(manifest.sources.reduce((a, s) => a + s.tokens, 0)).toBe(trainTokens + valTokens);
    expect(manifest.sources.reduce((a, s) => a + s.kept, 0)).toBe(manifest.documents);
    expect(manifest.tokenizer_hash).toBe(tok.hash);
    const files = readdirSync(out).sort();
    expect(files).toEqual(['manifest.json', 'tokenizer.json', ...manifest.shards.map((s) => s.file)].sort());
    expect(readFileSync(join(out, 'tokenizer.json'), 'utf8')).toBe(tok.toTokenizerJson());
  });

  it('is deterministic by seed, and a document lands in the same split whatever else is in the corpus', async () => {
    const dir = tree({ 'a.jsonl': lines.join('\n') });
    const a = await run([dir], { seed: 7 });
    const b = await run([dir], { seed: 7 });
    const c = await run([dir], { seed: 8 });
    for (const s of a.manifest.shards) {
      expect(readFileSync(join(b.out, s.file)).equals(readFileSync(join(a.out, s.file)))).toBe(true);
    }
    expect(b.manifest.shards).toEqual(a.manifest.shards);
    expect({ ...b.manifest, sources: [] }).toEqual({ ...a.manifest, sources: [] });
    expect(splitDocs(c.out, 'val')).not.toEqual(splitDocs(a.out, 'val'));
    const half = tree({ 'a.jsonl': lines.slice(0, 200).join('\n') });
    const h = await run([half], { seed: 7 });
    const valA = new Set(splitDocs(a.out, 'val'));
    for (const d of splitDocs(h.out, 'val')) expect(valA.has(d)).toBe(true);
  });

  it('gives a tiny corpus a val document when a val fraction is asked for', async () => {
    const dir = tree({ 'a.txt': 'first document', 'b.txt': 'second document' });
    const { manifest } = await run([dir], { valFraction: 0.01 });
    expect(manifest.train_documents).toBe(1);
    expect(manifest.val_documents).toBe(1);
    const one = tree({ 'a.txt': 'only document' });
    const warnings: string[] = [];
    const r = await run([one], { valFraction: 0.5 }, warnings);
    expect(r.manifest.train_documents).toBe(1);
    expect(warnings.some((w) => w.includes('val split is empty'))).toBe(true);
  });

  it('writes uint32 shards when the vocabulary does not fit in 16 bits', async () => {
    const big = byteTokenizer(['<|bos|>'], 70000);
    const dir = tree({ 'a.txt': 'héllo' });
    const out = join(root, `o-${counter++}`);
    await prepare({ inputs: [dir], out, tokenizer: big, threads: 0, valFraction: 0 });
    const m = await readManifest(out);
    expect(m.dtype).toBe('uint32');
    expect(Array.from(readShardTokens(join(out, m.shards[0].file)))).toEqual([70000, ...Buffer.from('héllo')]);
  });
});

describe('data prepare: worker threads', () => {
  it('gives the same shards on worker threads as on the main thread', async () => {
    const specDir = tree({ 'tok.json': byteTokenizerSpec() });
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: para(i, 50) }));
    const dir = tree({ 'a.jsonl': lines.join('\n'), 'b.txt': para(77, 5000) });
    const source = { module: new URL('./fixtures/data/byte-tokenizer.mjs', import.meta.url).href, path: join(specDir, 'tok.json') };
    const inline = await run([dir], { dedup: 'near', docChars: 3000 });
    const pooled = await run([dir], { dedup: 'near', docChars: 3000, threads: 2, tokenizerSource: source, batchChars: 2000, encoder: 'workers' });
    const batched = await run([dir], { dedup: 'near', docChars: 3000, threads: 2, batchChars: 5000, encoder: 'batch' });
    expect(pooled.manifest.shards).toEqual(inline.manifest.shards);
    expect(batched.manifest).toEqual(inline.manifest);
    expect(pooled.manifest.documents).toBeGreaterThan(300);
    await expect(run([dir], { threads: 2, encoder: 'workers' })).rejects.toThrow(/worker threads need/);
  });

  it('reports a worker that cannot load the tokenizer', async () => {
    const dir = tree({ 'a.txt': 'text' });
    const source = { module: new URL('./fixtures/data/byte-tokenizer.mjs', import.meta.url).href, path: join(root, 'missing.json') };
    await expect(run([dir], { threads: 1, tokenizerSource: source, encoder: 'workers' })).rejects.toThrow(/tokenization worker: .*ENOENT/);
    expect(readdirSync(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});

describe('data prepare: errors are DataErrors', () => {
  it('rejects bad options', async () => {
    const dir = tree({ 'a.txt': 'text' });
    await expect(run([dir], { valFraction: 1 })).rejects.toBeInstanceOf(DataError);
    await expect(run([dir], { valFraction: 1 })).rejects.toThrow(/--val-fraction must be in \[0, 1\)/);
  });
});
