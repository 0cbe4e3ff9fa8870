/**
 * The loader verifies what it reads: each shard against its sha256 in manifest.json, the
 * vocabulary size of the manifest, the shard headers and the tokenizer saved beside them, and
 * that no token id is outside that vocabulary. A mismatch is refused naming the file.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { TokenLoader } from '../src/data/loader.js';
import { readManifest, type Manifest } from '../src/data/manifest.js';
import { prepare } from '../src/data/prepare.js';
import { HEADER_BYTES } from '../src/data/shard.js';
import { trainTokenizer } from '../src/tokenizer/index.js';
import { byteTokenizer } from './fixtures/data/byte-tokenizer.mjs';

const root = mkdtempSync(join(tmpdir(), 'llmforge-integrity-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const good = join(root, 'good');
const text = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');

beforeAll(async () => {
  writeFileSync(join(root, 'a.txt'), text);
  await prepare({ inputs: [join(root, 'a.txt')], out: good, tokenizer: byteTokenizer(), threads: 0, shardTokens: 5000, valFraction: 0.05, docChars: 2000, onWarning: () => {} });
});

let n = 0;
/** A fresh copy of the good dataset to damage. */
function copy(): { dir: string; manifest: Manifest; shard: string } {
  const dir = join(root, `copy-${n++}`);
  cpSync(good, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  return { dir, manifest, shard: join(dir, manifest.shards[1].file) };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const open = (dir: string, maxMemoryBytes?: number): Promise<TokenLoader> =>
  TokenLoader.open(dir, 'train', { context: 16, batchSize: 2, maxMemoryBytes });

/** Rewrites a shard and records its new checksum in the manifest (a consistent, but wrong, dataset). */
function rewrite(dir: string, manifest: Manifest, shard: string, edit: (b: Buffer) => void): void {
  const b = readFileSync(shard);
  edit(b);
  writeFileSync(shard, b);
  const entry = manifest.shards.find((s) => join(dir, s.file) === shard);
  if (entry) entry.sha256 = sha(b);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

describe('data integrity', () => {
  it('the good dataset opens, in memory and streamed', async () => {
    (await open(good)).close();
    (await open(good, 0)).close();
  });

  it('a shard with one flipped byte is refused, naming the shard (in memory and streamed)', async () => {
    const { dir, shard } = copy();
    const b = readFileSync(shard);
    b[HEADER_BYTES + 1001] ^= 0x01;
    writeFileSync(shard, b);
    for (const mem of [undefined, 0]) {
      await expect(open(dir, mem)).rejects.toThrow(new RegExp(`${shard.replace(/[.]/g, '\\.')}: sha256 [0-9a-f]+… does not match manifest\\.json`));
    }
  });

  it('the manifest\'s vocabulary size must match the shard headers\' and the tokenizer\'s', async () => {
    const a = copy();
    a.manifest.tokenizer.vocab_size += 1;
    writeFileSync(join(a.dir, 'manifest.json'), JSON.stringify(a.manifest));
    await expect(open(a.dir)).rejects.toThrow(/train-00000\.bin: header vocabulary size 258, but manifest\.json says 259/);
    const b = copy();
    rewrite(b.dir, b.manifest, b.shard, (buf) => buf.writeUInt32LE(300, 24));
    await expect(open(b.dir)).rejects.toThrow(/train-00001\.bin: header vocabulary size 300, but manifest\.json says 258/);
  });

  it('a tokenizer.json other than the one the data was prepared with is refused', async () => {
    const c = copy();
    writeFileSync(join(c.dir, 'tokenizer.json'), JSON.stringify({ byte_tokenizer: true, specials: ['<|bos|>', '<|x|>'], firstSpecial: 256 }));
    await expect(open(c.dir)).rejects.toThrow(/tokenizer\.json: not the tokenizer this data was prepared with \(sha256 [0-9a-f]+…, manifest\.json says [0-9a-f]+…\)/);
  });

  it('a token id outside the vocabulary is refused even when the checksum fits', async () => {
    const d = copy();
    rewrite(d.dir, d.manifest, d.shard, (buf) => buf.writeUInt16LE(4000, HEADER_BYTES + 2 * 77));
    for (const mem of [undefined, 0]) {
      await expect(open(d.dir, mem)).rejects.toThrow(/train-00001\.bin: token 77 is id 4000, outside the vocabulary \(258 ids\)/);
    }
  });

  it('HF tokenizer.json: its id count must match the manifest', async () => {
    const tok = await trainTokenizer({ texts: [text], vocabSize: 300, progress: false });
    const dir = join(root, 'hf');
    await prepare({ inputs: [join(root, 'a.txt')], out: dir, tokenizer: tok, threads: 0, valFraction: 0.05, onWarning: () => {} });
    (await open(dir)).close();
    const m = await readManifest(dir);
    const lie = { ...m, tokenizer: { ...m.tokenizer, vocab_size: 301 } };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(lie));
    await expect(open(dir)).rejects.toThrow(/field tokenizer\.vocab_size is 301 but tokenizer\.json has 300 ids/);
  });

  it('llmforge train refuses a damaged shard before training', async () => {
    const tok = await trainTokenizer({ texts: [text], vocabSize: 300, progress: false });
    const dir = join(root, 'for-train');
    await prepare({ inputs: [join(root, 'a.txt')], out: dir, tokenizer: tok, threads: 0, valFraction: 0.05, shardTokens: 2000, onWarning: () => {} });
    const shard = join(dir, 'train-00001.bin');
    const b = readFileSync(shard);
    b[b.length - 3] ^= 0x40;
    writeFileSync(shard, b);
    await expect(runCli(['train', '--data', dir, '--out', join(root, 'run'), '--preset', 'tiny', '--max-steps', '1'])).rejects.toThrow(
      /train-00001\.bin: sha256 .* does not match manifest\.json/,
    );
  });
});
