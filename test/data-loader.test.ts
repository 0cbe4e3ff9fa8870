import { mkdtempSync, rmSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenLoader, type LoaderPosition } from '../src/data/loader.js';
import { readManifest } from '../src/data/manifest.js';
import { prepare } from '../src/data/prepare.js';
import { readShardTokens } from '../src/data/shard.js';
import { byteTokenizer } from './fixtures/data/byte-tokenizer.mjs';
import { rng } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-loader-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const out = join(root, 'ds');
let stream: number[] = [];

beforeAll(async () => {
  const r = rng(3);
  const lines = Array.from({ length: 200 }, (_, i) =>
    JSON.stringify({ text: `doc ${i}: ` + Array.from({ length: 20 + (i % 40) }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('') }),
  );
  writeFileSync(join(root, 'a.jsonl'), lines.join('\n'));
  // Small shards, so that windows cross shard boundaries.
  await prepare({ inputs: [join(root, 'a.jsonl')], out, tokenizer: byteTokenizer(), threads: 0, shardTokens: 1000, valFraction: 0.1, onWarning: () => {} });
  const m = await readManifest(out);
  stream = [];
  for (const s of m.shards.filter((x) => x.split === 'train')) stream.push(...readShardTokens(join(out, s.file)));
});

function batches(loader: TokenLoader, n: number): Int32Array[] {
  const res: Int32Array[] = [];
  const x = new Int32Array(loader.batchSize * loader.context);
  const y = new Int32Array(loader.batchSize * loader.context);
  for (let i = 0; i < n; i++) {
    loader.nextBatch(x, y);
    res.push(x.slice(), y.slice());
  }
  return res;
}

/** Finds where a window of the stream starts (checks it is a real window). */
function windowStart(x: Int32Array, y: Int32Array, T: number, row: number): number {
  const inp = Array.from(x.subarray(row * T, row * T + T));
  const tgt = Array.from(y.subarray(row * T, row * T + T));
  expect(tgt.slice(0, T - 1)).toEqual(inp.slice(1));
  for (let s = 0; s + T < stream.length; s++) {
    let ok = true;
    for (let k = 0; k <= T && ok; k++) ok = stream[s + k] === (k < T ? inp[k] : tgt[T - 1]);
    if (ok) return s;
  }
  throw new Error('window not found in the stream');
}

describe('TokenLoader', () => {
  it('random windows are real windows of context + 1 tokens, deterministic by seed', async () => {
    const T = 32;
    const a = await TokenLoader.open(out, 'train', { context: T, batchSize: 4, seed: 5, mode: 'random' });
    const b = await TokenLoader.open(out, 'train', { context: T, batchSize: 4, seed: 5, mode: 'random' });
    const c = await TokenLoader.open(out, 'train', { context: T, batchSize: 4, seed: 6, mode: 'random' });
    expect(a.tokens).toBe(stream.length);
    const ba = batches(a, 5);
    expect(batches(b, 5)).toEqual(ba);
    expect(batches(c, 5)).not.toEqual(ba);
    const starts = new Set<number>();
    for (let i = 0; i < ba.length; i += 2) for (let row = 0; row < 4; row++) starts.add(windowStart(ba[i], ba[i + 1], T, row));
    expect(starts.size).toBeGreaterThan(15);
  });

  it('sequential windows follow each other with stride context and wrap around', async () => {
    const T = 50;
    const l = await TokenLoader.open(out, 'train', { context: T, batchSize: 3, mode: 'sequential' });
    const x = new Int32Array(3 * T);
    const y = new Int32Array(3 * T);
    l.nextBatch(x, y);
    expect(Array.from(x)).toEqual(stream.slice(0, 3 * T));
    expect(Array.from(y)).toEqual(stream.slice(1, 3 * T + 1));
    const perEpoch = Math.floor((stream.length - 1) / T);
    let seen = 3;
    while (seen < perEpoch) {
      l.nextBatch(x, y);
      seen += 3;
    }
    expect(l.position().epoch).toBe(seen > perEpoch ? 1 : 0);
    const fresh = await TokenLoader.open(out, 'train', { context: T, batchSize: 1, mode: 'sequential' });
    const one = new Int32Array(T);
    const oneY = new Int32Array(T);
    for (let i = 0; i < perEpoch; i++) fresh.nextBatch(one, oneY);
    expect(fresh.position()).toMatchObject({ epoch: 0, samples: perEpoch });
    fresh.nextBatch(one, oneY);
    expect(fresh.position().epoch).toBe(1);
    expect(Array.from(one)).toEqual(stream.slice(0, T));
  });

  it('resumes exactly from a saved position (through JSON)', async () => {
    for (const mode of ['random', 'sequential'] as const) {
      const opts = { context: 40, batchSize: 2, seed: 11, mode };
      const a = await TokenLoader.open(out, 'train', opts);
      batches(a, 7);
      const saved = JSON.parse(JSON.stringify(a.position())) as LoaderPosition;
      const expected = batches(a, 6);
      const b = await TokenLoader.open(out, 'train', opts);
      b.restore(saved);
      expect(batches(b, 6)).toEqual(expected);
      expect(b.position()).toEqual(a.position());
    }
  });

  it('reads from the files when the split does not fit the memory budget, with the same windows', async () => {
    const opts = { context: 64, batchSize: 4, seed: 2, mode: 'random' as const };
    const mem = await TokenLoader.open(out, 'train', opts);
    const file = await TokenLoader.open(out, 'train', { ...opts, maxMemoryBytes: 0 });
    expect(batches(file, 20)).toEqual(batches(mem, 20));
    file.close();
  });

  it('reads uint32 shards', async () => {
    const dir = join(root, 'wide');
    await prepare({ inputs: [join(root, 'a.jsonl')], out: dir, tokenizer: byteTokenizer(['<|bos|>'], 70000), threads: 0, valFraction: 0, shardTokens: 700, onWarning: () => {} });
    const m = await readManifest(dir);
    expect(m.dtype).toBe('uint32');
    const wide: number[] = [];
    for (const s of m.shards) wide.push(...readShardTokens(join(dir, s.file)));
    for (const maxMemoryBytes of [undefined, 0]) {
      const l = await TokenLoader.open(dir, 'train', { context: 100, batchSize: 2, mode: 'sequential', maxMemoryBytes });
      const x = new Int32Array(200);
      const y = new Int32Array(200);
      l.nextBatch(x, y);
      l.nextBatch(x, y);
      expect(Array.from(x)).toEqual(wide.slice(200, 400));
      expect(Array.from(y)).toEqual(wide.slice(201, 401));
      expect(wide[0]).toBe(70000);
    }
  });

  it('rejects a position from another dataset, split, mode or seed', async () => {
    const l = await TokenLoader.open(out, 'train', { context: 16, batchSize: 1, seed: 1 });
    const p = l.position();
    expect(() => l.restore({ ...p, dataset: 'other' })).toThrow(/field dataset/);
    expect(() => l.restore({ ...p, split: 'val' })).toThrow(/field split/);
    expect(() => l.restore({ ...p, mode: 'sequential' })).toThrow(/field mode/);
    expect(() => l.restore({ ...p, seed: 2 })).toThrow(/field seed/);
    expect(() => l.restore({ ...p, samples: -1 })).toThrow(/field samples/);
  });

  it('gives clear errors', async () => {
    await expect(TokenLoader.open(join(root, 'nothing'), 'train', { context: 8, batchSize: 1 })).rejects.toThrow(
      /no dataset in '.*nothing': manifest.json is missing/,
    );
    await expect(TokenLoader.open(out, 'val', { context: 100000, batchSize: 1 })).rejects.toThrow(/val split has \d+ tokens, fewer than context \+ 1 = 100001/);
    const l = await TokenLoader.open(out, 'train', { context: 8, batchSize: 2 });
    expect(() => l.nextBatch(new Int32Array(8), new Int32Array(16))).toThrow(/batchSize × context = 16/);
  });

  it('notices a damaged shard or manifest', async () => {
    const dir = join(root, 'copy');
    await prepare({ inputs: [join(root, 'a.jsonl')], out: dir, tokenizer: byteTokenizer(), threads: 0, onWarning: () => {} });
    const m = await readManifest(dir);
    const shard = join(dir, m.shards[0].file);
    const bytes = readFileSync(shard);
    writeFileSync(shard, bytes.subarray(0, bytes.length - 2));
    await expect(TokenLoader.open(dir, 'train', { context: 8, batchSize: 1 })).rejects.toThrow(/truncated or damaged/);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, train_tokens: 'many' }));
    await expect(readManifest(dir)).rejects.toThrow(/manifest.json: field train_tokens/);
    unlinkSync(shard);
  });
});
