/**
 * The JavaScript fallback's batch encoding on worker threads (used when the native addon is
 * missing). Workers need compiled JavaScript, so this compiles src/tokenizer to a temp folder first.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { rng } from './helpers.js';
import { adversarialText } from './tokenizer-helpers.js';

const require = createRequire(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const TEXT = readFileSync(new URL('./fixtures/public-domain-bible.txt', import.meta.url), 'utf8');

interface Compiled {
  loadTokenizer(path: string): Promise<{
    encode(t: string, o?: { allowedSpecial?: 'all' }): Uint32Array;
    encodeBatch(t: string[], o?: { allowedSpecial?: 'all' }): Promise<Uint32Array[]>;
  }>;
  setNativeTokenizer(on: boolean): void;
  setBatchThreads(n: number | undefined): void;
}
interface CompiledBatch {
  encodeBatchInWorkers(tok: unknown, texts: string[], o?: unknown): Promise<Uint32Array[] | null>;
}

let mod: Compiled;
let batch: CompiledBatch;

beforeAll(() => {
  const out = mkdtempSync(join(tmpdir(), 'llmforge-tok-build-'));
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { outDir: join(out, 'dist'), rootDir: join(root, 'src'), noEmit: false, declaration: false, sourceMap: false, typeRoots: [join(root, 'node_modules', '@types')] },
      include: [join(root, 'src', 'tokenizer', '**', '*.ts'), join(root, 'src', 'tensor', 'native.ts')],
    }),
  );
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', tsconfig], { stdio: 'pipe' });
  return (async () => {
    mod = (await import(pathToFileURL(join(out, 'dist', 'tokenizer', 'index.js')).href)) as Compiled;
    batch = (await import(pathToFileURL(join(out, 'dist', 'tokenizer', 'batch.js')).href)) as CompiledBatch;
  })();
}, 120_000);

describe('JavaScript batch encoding on worker threads', () => {
  it('gives the same ids as encoding each text', async () => {
    mod.setNativeTokenizer(false);
    mod.setBatchThreads(2);
    const tok = await mod.loadTokenizer(require.resolve('gpt-tokenizer/data/r50k_base.tiktoken'));
    const r = rng(6);
    const texts: string[] = [];
    let chars = 0;
    while (chars < 1.3e6) {
      const t = r() < 0.7 ? TEXT.slice(Math.floor(r() * 15000), Math.floor(r() * 15000) + 4000) : adversarialText(r, 3000) + '<|endoftext|>';
      texts.push(t);
      chars += t.length;
    }
    const viaWorkers = await batch.encodeBatchInWorkers(tok, texts, { allowedSpecial: 'all' });
    expect(viaWorkers).not.toBeNull();
    const viaApi = await tok.encodeBatch(texts, { allowedSpecial: 'all' });
    texts.forEach((t, i) => {
      const one = Array.from(tok.encode(t, { allowedSpecial: 'all' }));
      expect(Array.from(viaWorkers![i])).toEqual(one);
      expect(Array.from(viaApi[i])).toEqual(one);
    });
    mod.setBatchThreads(undefined);
    mod.setNativeTokenizer(true);
  });
});
