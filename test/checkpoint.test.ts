import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { AdamW, ADAMW_DEFAULTS } from '../src/optim/adamw.js';
import { loadModel, loadOptimizerState, resolveCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../src/tensor/safetensors.js';

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
