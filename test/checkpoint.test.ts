import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { AdamW, ADAMW_DEFAULTS } from '../src/optim/adamw.js';
import { loadModel, loadOptimizerState, resolveCheckpoint, saveCheckpoint } from '../src/model/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type NamedTensor } from '../src/tensor/safetensors.js';
import { loadWeights } from '../src/model/weights.js';
import { loadForGeneration } from '../src/infer/index.js';
import { trainTokenizer } from '../src/tokenizer/index.js';

const config = { ...preset('tiny'), vocabSize: 64, contextLength: 16, nEmbd: 32 };

describe('safetensors', () => {
  it('round-trips tensors and metadata with an 8-byte aligned header', () => {
    const chunks = encodeSafetensors([['a', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }], ['b', { shape: [1], data: Float32Array.from([-7.5]) }]], { k: 'v' });
    const buf = Buffer.concat(chunks);
    expect(Number(buf.readBigUInt64LE(0)) % 8).toBe(0);
    const { tensors, metadata } = decodeSafetensors(buf, 'mem');
    expect(metadata).toEqual({ k: 'v' });
    expect(Array.from(tensors.get('a')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tensors.get('b')!.shape).toEqual([1]);
  });

  it('rejects truncated files naming the source', () => {
    const buf = Buffer.concat(encodeSafetensors([['a', { shape: [4], data: new Float32Array(4) }]]));
    expect(() => decodeSafetensors(buf.subarray(0, buf.length - 3), 'x.safetensors')).toThrow(/x.safetensors: .*truncated/);
    expect(() => decodeSafetensors(buf.subarray(0, 5), 'x.safetensors')).toThrow(/too short/);
  });
});

describe('checkpoints', () => {
  it('saves, points latest at the newest, prunes, and loads back exactly', () => {
    const run = mkdtempSync(join(tmpdir(), 'llmf-ckpt-'));
    const model = new GPT(config).init(1);
    const opt = new AdamW(model.params, ADAMW_DEFAULTS);
    opt.m.fill(0.25);
    opt.stepCount = 5;
    for (const step of [1, 2, 3]) saveCheckpoint(run, `step-${String(step).padStart(6, '0')}`, { model, optimizer: opt, trainerState: { step } }, 2);
    expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual(['step-000002', 'step-000003']);
    expect(resolveCheckpoint(run)).toBe(join(run, 'checkpoints', 'step-000003'));
    const { model: loaded, dir } = loadModel(run);
    expect(Buffer.from(loaded.params.data.buffer).equals(Buffer.from(model.params.data.buffer))).toBe(true);
    const opt2 = new AdamW(loaded.params, ADAMW_DEFAULTS);
    loadOptimizerState(dir, opt2);
    expect(opt2.stepCount).toBe(5);
    expect(opt2.m[3]).toBe(0.25);
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model_type: string };
    expect(cfg.model_type).toBe('gpt2');
  });

  it('gives clear errors for missing or damaged checkpoints', () => {
    const run = mkdtempSync(join(tmpdir(), 'llmf-ckpt-'));
    expect(() => resolveCheckpoint(run)).toThrow(/neither a checkpoint/);
    expect(() => resolveCheckpoint(join(run, 'nope'))).toThrow(/no such directory/);
    const model = new GPT(config).init(1);
    const dir = saveCheckpoint(run, 'step-000001', { model });
    truncateSync(join(dir, 'model.safetensors'), 1000);
    expect(() => loadModel(run)).toThrow(/model.safetensors: not a valid safetensors file/);
    saveCheckpoint(run, 'step-000001', { model });
    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { llmforge: { nEmbd: number } };
    cfg.llmforge.nEmbd = 64;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    expect(() => loadModel(run)).toThrow(/has shape \[64, 32\]|expects/);
  });
});

describe('strict loading by parameter name', () => {
  const saved = (): { run: string; dir: string; model: GPT } => {
    const run = mkdtempSync(join(tmpdir(), 'llmf-strict-'));
    const model = new GPT(config).init(2);
    return { run, dir: saveCheckpoint(run, 'step-1', { model }), model };
  };
  const rewrite = (dir: string, edit: (t: Map<string, NamedTensor>) => void): void => {
    const path = join(dir, 'model.safetensors');
    const tensors = readSafetensors(path).tensors;
    edit(tensors);
    writeSafetensors(path, tensors);
  };

  it('loads by name whatever the order of the tensors in the file', () => {
    const { run, dir, model } = saved();
    rewrite(dir, (t) => {
      const entries = [...t.entries()].reverse();
      t.clear();
      for (const [k, v] of entries) t.set(k, v);
    });
    expect(Buffer.from(loadModel(run).model.params.data.buffer).equals(Buffer.from(model.params.data.buffer))).toBe(true);
  });

  it('refuses a config edited to fewer layers, naming the unused tensors', () => {
    const { run, dir } = saved();
    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { llmforge: { nLayer: number } };
    cfg.llmforge.nLayer = 1;
    writeFileSync(cfgPath, JSON.stringify(cfg));
    expect(() => loadModel(run)).toThrow(/model.safetensors: does not match the model \(\d+ tensor\(s\) the model config has no place for: transformer\.h\.1\./);
  });

  it('refuses a missing tensor, an extra one, a wrong shape and a wrong dtype, naming them', () => {
    const { run, dir } = saved();
    rewrite(dir, (t) => t.delete('transformer.h.0.ln_1.weight'));
    expect(() => loadModel(run)).toThrow(/missing 1 tensor\(s\) the model config needs: transformer\.h\.0\.ln_1\.weight/);
    saveCheckpoint(run, 'step-1', { model: new GPT(config).init(2) });
    rewrite(dir, (t) => t.set('lm_head.weight', { shape: [64, 32], data: new Float32Array(64 * 32) }));
    expect(() => loadModel(run)).toThrow(/has no place for: lm_head\.weight/);
    saveCheckpoint(run, 'step-1', { model: new GPT(config).init(2) });
    rewrite(dir, (t) => t.set('transformer.ln_f.weight', { shape: [16], data: new Float32Array(16) }));
    expect(() => loadModel(run)).toThrow(/transformer\.ln_f\.weight has shape \[16\], the model expects \[32\]/);
    // A float16 tensor: llmforge checkpoints are float32, so this is not one of ours.
    const store = new GPT(config).params;
    const tensors = new Map(store.named().map(([n, t]) => [n, { shape: t.shape, data: t.data, dtype: n === 'transformer.wte.weight' ? 'F16' : 'F32' }]));
    expect(() => loadWeights(store, tensors, 'x.safetensors')).toThrow(/x\.safetensors: .*transformer\.wte\.weight is F16, expected F32/);
  });

  it('partial mode loads what matches and reports the rest', () => {
    const { dir } = saved();
    const withHead = new GPT(config, { extend: (s) => { s.declare('score.weight', [1, 32], 'decay', (d) => d.fill(0.5)); } }).init(3);
    const tensors = readSafetensors(join(dir, 'model.safetensors')).tensors;
    tensors.set('adapter.extra', { shape: [2], data: new Float32Array(2) });
    const r = loadWeights(withHead.params, tensors, 'mem', { partial: true });
    expect(r.missing).toEqual(['score.weight']);
    expect(r.unused).toEqual(['adapter.extra']);
    expect(r.loaded).toHaveLength(withHead.params.named().length - 1);
    expect(withHead.params.get('score.weight').data[0]).toBe(0.5);
    expect(() => loadWeights(withHead.params, tensors, 'mem')).toThrow(/missing 1 tensor\(s\) the model config needs: score\.weight/);
  });
});

describe('module layering', () => {
  // Stages (and the pipeline that strings them) meet only through each other's index.ts / types.ts;
  // what several share lives below them (src/model, src/nn, src/tensor, src/util). The CLI sits on top.
  const stages = ['tokenizer', 'data', 'train', 'infer', 'align', 'eval', 'finetune', 'serve', 'export', 'pipeline'];
  const sources = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);

  it('no stage imports another stage\'s internals', () => {
    const src = join(__dirname, '..', 'src');
    const bad: string[] = [];
    for (const stage of stages) {
      for (const file of sources(join(src, stage))) {
        for (const m of readFileSync(file, 'utf8').matchAll(/from '((?:\.\.?\/)+[\w./-]+)\.js'/g)) {
          const target = relative(src, resolve(dirname(file), m[1])).split(sep);
          const [other, ...rest] = target;
          const entry = rest.join('/');
          if (stages.includes(other) && other !== stage && entry !== 'index' && entry !== 'types') bad.push(`${relative(src, file)} imports ${target.join('/')}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('nothing outside src/cli imports the CLI (the top layer: commander parsing and printing)', () => {
    const src = join(__dirname, '..', 'src');
    const cli = join(src, 'cli');
    const bad: string[] = [];
    for (const file of sources(src).filter((f) => !f.startsWith(cli + sep))) {
      // Static imports, re-exports and dynamic import('…') alike.
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'((?:\.\.?\/)+[\w./-]+)'/g)) {
        const target = resolve(dirname(file), m[1]);
        if (target === cli || target.startsWith(cli + sep)) bad.push(`${relative(src, file)} imports ${relative(src, target)}`);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('--tokenizer against the checkpoint\'s own', () => {
  it('refuses another vocabulary size and warns about other tokens of the same size', async () => {
    const run = mkdtempSync(join(tmpdir(), 'llmf-tok-'));
    const tok = async (text: string, vocab: number, name: string) => trainTokenizer({ texts: [text], vocabSize: vocab, out: join(run, name), progress: false, specialTokens: [] });
    const own = await tok('the cat sat on the mat '.repeat(50), 262, 'own.json');
    saveCheckpoint(run, 'step-1', { model: new GPT({ ...config, vocabSize: 300 }).init(1), tokenizerJson: own.toTokenizerJson() });
    await tok('zebra quartz jumps '.repeat(50), 262, 'other.json');
    await tok('the cat sat on the mat '.repeat(50), 260, 'small.json');
    const warnings: string[] = [];
    expect((await loadForGeneration(run, join(run, 'own.json'), (m) => warnings.push(m))).tokenizer.vocabSize).toBe(262);
    expect(warnings).toEqual([]);
    await loadForGeneration(run, join(run, 'other.json'), (m) => warnings.push(m));
    expect(warnings.join()).toMatch(/other\.json is not the tokenizer the model .* was trained with/);
    await expect(loadForGeneration(run, join(run, 'small.json'))).rejects.toThrow(/--tokenizer .*small\.json: 260 tokens, but the model in .* was trained with 262/);
  });
});
