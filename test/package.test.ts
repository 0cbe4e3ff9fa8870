/**
 * The built package as a library: what package.json's "main" points at (dist/index.js, built
 * by `npm run build` / `npm test`'s pretest) runs the flow end to end.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string; types: string };
type Lib = typeof import('../src/index.js');

describe('the package entry point', () => {
  it('package.json names a built entry point and its types', () => {
    expect(existsSync(join(root, pkg.main)), `${pkg.main}: run npm run build`).toBe(true);
    expect(existsSync(join(root, pkg.types))).toBe(true);
  });

  it('trains a tokenizer, prepares data, pretrains, loads and generates through the public API', async () => {
    const lib = (await import(pathToFileURL(join(root, pkg.main)).href)) as Lib;
    const work = mkdtempSync(join(tmpdir(), 'llmf-pkg-'));
    writeFileSync(join(work, 'corpus.txt'), readFileSync(join(root, 'examples', 'data', 'kjv-genesis-to-judges.txt'), 'utf8').slice(0, 60_000));
    const tokenizerPath = join(work, 'tokenizer.json');
    const tokenizer = await lib.trainTokenizer({ input: join(work, 'corpus.txt'), vocabSize: 300, out: tokenizerPath, progress: false });
    expect((await lib.loadTokenizer(tokenizerPath)).decode(tokenizer.encode('In the beginning'))).toBe('In the beginning');
    const data = join(work, 'data');
    await lib.prepare({ inputs: [join(work, 'corpus.txt')], out: data, tokenizer, tokenizerSource: { path: tokenizerPath }, threads: 0, docChars: 4000 });
    const config = lib.parseTrainConfig({ model: { preset: 'tiny' }, batch: { microBatch: 2 }, limits: { maxSteps: 3 }, eval: { every: 0, sampleTokens: 0 } }, 'test');
    const lines: string[] = [];
    const r = await lib.train({ dataDir: data, outDir: join(work, 'run'), config, tokenizerPath, log: (l) => lines.push(l) });
    expect(r.steps).toBe(3);
    expect(lines.some((l) => /^step 3\/3 \| loss/.test(l))).toBe(true);
    const { model } = lib.loadModel(join(work, 'run'));
    expect(model).toBeInstanceOf(lib.GPT);
    expect(model.config.vocabSize).toBe(300);
    const loaded = await lib.loadForGeneration(join(work, 'run'));
    const engine = new lib.InferenceEngine(loaded.model, { maxBatch: 1 });
    const [out] = lib.generate(engine, [tokenizer.encode('And')], { maxNewTokens: 5, temperature: 0 }, { tokenizer: loaded.tokenizer });
    expect(out.tokens.length).toBeGreaterThan(0);
  });
});
