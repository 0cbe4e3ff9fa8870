// llmforge finetune --method lora on chat JSONL: a PEFT adapter folder, checkpoints with only
// the adapter and its moments, exact resume, merge equal to unmerged, --adapter on generate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli-in-process.js';
import { makeChatModel, serve } from './serve-helpers.js';
import { readSafetensors } from '../src/tensor/safetensors.js';
import { loadModel, loadModelWithAdapter, mergeAdapters } from '../src/model/index.js';
import { InferenceEngine } from '../src/infer/engine.js';
import { useBackend } from '../src/tensor/registry.js';
import { maxAbsDiff, randomIds } from './helpers.js';

let dir: string;
let base: string;
let data: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmforge-ft-'));
  base = await makeChatModel(join(dir, 'base'), 64);
  const convs = Array.from({ length: 24 }, (_, i) => ({
    messages: [{ role: 'user', content: `What does option -${'abcdefgh'[i % 8]} do?` }, { role: 'assistant', content: `It lists entry ${i % 8}.` }],
  }));
  data = join(dir, 'chat.jsonl');
  writeFileSync(data, convs.map((c) => JSON.stringify(c)).join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ft = (out: string, extra: string[] = []): Promise<{ stdout: string; stderr: string }> => runCli([
  'finetune', '--init-from', base, '--data', data, '--out', out, '--method', 'lora', '--rank', '4', '--alpha', '8', '--dropout', '0.1',
  '--targets', 'all', '--batch', '2', '--lr', '0.02', '--eval-every', '0', '--save-every', '2', '--threads', '1', '--json', ...extra,
]);

describe('llmforge finetune --method lora', () => {
  it('writes a PEFT adapter; checkpoints hold only the adapter and its moments; resume is exact', async () => {
    const a = join(dir, 'a');
    const r = JSON.parse((await ft(a, ['--max-steps', '4'])).stdout) as Record<string, unknown>;
    expect(r.method).toBe('lora');
    expect(r.data).toBe('chat');
    const cfg = JSON.parse(readFileSync(join(a, 'adapter', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, lora_dropout: 0.1, task_type: 'CAUSAL_LM', bias: 'none', fan_in_fan_out: true });
    expect(cfg.target_modules).toEqual(['c_attn', 'attn.c_proj', 'c_fc', 'mlp.c_proj']);
    const adapter = readSafetensors(join(a, 'adapter', 'adapter_model.safetensors')).tensors;
    expect(adapter.get('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')?.shape).toEqual([4, 64]);
    expect(adapter.get('base_model.model.transformer.h.0.attn.c_attn.lora_B.weight')?.shape).toEqual([192, 4]);
    expect(adapter.get('base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight')?.shape).toEqual([4, 256]);
    expect(adapter.size).toBe(2 * 4 * 2);
    const ck = join(a, 'checkpoints', 'step-0000004');
    const weights = [...readSafetensors(join(ck, 'model.safetensors')).tensors.keys()];
    expect(weights.length).toBe(16);
    expect(weights.every((n) => n.includes('.lora_'))).toBe(true);
    const moments = [...readSafetensors(join(ck, 'optimizer.safetensors')).tensors.keys()];
    expect(moments.length).toBe(32);
    expect(r.trainable_params).toBe(adapter.size === 16 ? [...adapter.values()].reduce((s, t) => s + t.data.length, 0) : -1);

    const b = join(dir, 'b');
    await ft(b, ['--max-steps', '2']);
    await runCli(['finetune', '--data', data, '--out', b, '--resume', '--max-steps', '4', '--threads', '1']);
    const resumed = readSafetensors(join(b, 'adapter', 'adapter_model.safetensors')).tensors;
    for (const [name, t] of adapter) expect(maxAbsDiff(resumed.get(name)?.data ?? [], t.data), name).toBe(0);
  }, 120_000);

  it('merged and unmerged give the same logits and the same greedy text', async () => {
    useBackend('native');
    const a = join(dir, 'a');
    const merged = join(dir, 'merged');
    await runCli(['lora', 'merge', '--model', base, '--adapter', join(a, 'adapter'), '--out', merged]);
    const withAdapter = loadModelWithAdapter(base, a).model;
    const m = loadModel(merged).model;
    const plain = loadModel(base).model;
    const ids = randomIds(20, 300, 9);
    const e1 = new InferenceEngine(withAdapter).feedAllLogits(0, ids);
    const e2 = new InferenceEngine(m).feedAllLogits(0, ids);
    expect(maxAbsDiff(e1, e2)).toBeLessThan(1e-4);
    expect(maxAbsDiff(e1, new InferenceEngine(plain).feedAllLogits(0, ids))).toBeGreaterThan(1e-3); // the adapter did learn something
    expect(maxAbsDiff(mergeAdapters(withAdapter).params.data, m.params.data)).toBe(0);
    const gen = (extra: string[]): Promise<{ stdout: string }> => runCli(['generate', '--prompt', 'What does option', '--temperature', '0', '--max-tokens', '12', '--threads', '1', ...extra]);
    const unmergedText = (await gen(['--model', base, '--adapter', join(a, 'adapter')])).stdout;
    expect((await gen(['--model', merged])).stdout).toBe(unmergedText);
    expect((await gen(['--model', base])).stdout).not.toBe(unmergedText);
  }, 120_000);

  it('export: --adapter merges (same weights as exporting the merged model); --keep-adapter writes the PEFT adapter beside the base', async () => {
    const a = join(dir, 'a');
    await runCli(['export', '--model', base, '--adapter', a, '--format', 'hf', '--out', join(dir, 'hf-merged')]);
    await runCli(['export', '--model', join(dir, 'merged'), '--format', 'hf', '--out', join(dir, 'hf-ref')]);
    expect(readFileSync(join(dir, 'hf-merged', 'model.safetensors')).equals(readFileSync(join(dir, 'hf-ref', 'model.safetensors')))).toBe(true);
    await runCli(['export', '--model', base, '--adapter', a, '--keep-adapter', '--format', 'hf', '--out', join(dir, 'hf-kept')]);
    const cfg = JSON.parse(readFileSync(join(dir, 'hf-kept', 'adapter', 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg.base_model_name_or_path).toBe(join(dir, 'hf-kept'));
    await runCli(['export', '--model', base, '--format', 'hf', '--out', join(dir, 'hf-base')]);
    expect(readFileSync(join(dir, 'hf-kept', 'model.safetensors')).equals(readFileSync(join(dir, 'hf-base', 'model.safetensors')))).toBe(true);
    await expect(runCli(['export', '--model', base, '--keep-adapter', '--format', 'hf', '--out', join(dir, 'x')])).rejects.toThrow(/--keep-adapter needs --adapter/);
  }, 60_000);

  it('a prepared data folder trains on next-token loss: lora writes an adapter, full a whole checkpoint', async () => {
    const docs = join(dir, 'docs');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(docs, { recursive: true });
    const bible = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');
    for (let i = 0; i < 4; i++) writeFileSync(join(docs, `doc${i}.txt`), bible.slice(i * 3000, (i + 1) * 3000));
    const tok = join(base, 'checkpoints', 'step-000001', 'tokenizer.json');
    await runCli(['data', 'prepare', '--input', docs, '--tokenizer', tok, '--out', join(dir, 'docs-data'), '--doc-chars', '500']);
    const common = ['--init-from', base, '--data', join(dir, 'docs-data'), '--max-steps', '2', '--batch', '2', '--eval-every', '0', '--threads', '1', '--json'];
    const l = JSON.parse((await runCli(['finetune', ...common, '--out', join(dir, 'docs-lora'), '--method', 'lora'])).stdout) as Record<string, unknown>;
    expect(l).toMatchObject({ data: 'tokens', method: 'lora', adapter: join(dir, 'docs-lora', 'adapter') });
    const lw = readSafetensors(join(dir, 'docs-lora', 'checkpoints', 'step-0000002', 'model.safetensors')).tensors;
    expect([...lw.keys()].every((n) => n.includes('.lora_'))).toBe(true);
    const f = JSON.parse((await runCli(['finetune', ...common, '--out', join(dir, 'docs-full'), '--method', 'full'])).stdout) as Record<string, unknown>;
    expect(f).toMatchObject({ data: 'tokens', method: 'full', adapter: null });
    expect(f.trainable_params).toBe(loadModel(base).model.params.count);
    expect(loadModel(join(dir, 'docs-full')).model.params.count).toBe(f.trainable_params);
  }, 120_000);

  it('serve --adapter answers as the merged model does', async () => {
    const complete = async (model: string, adapter?: string): Promise<string> => {
      const server = await serve(model, { adapter, alias: 'm' });
      try {
        const res = await fetch(`${server.url}/v1/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', prompt: 'What does option', max_tokens: 12, temperature: 0 }),
        });
        const body = (await res.json()) as { choices?: Array<{ text: string }> };
        if (body.choices === undefined) throw new Error(JSON.stringify(body));
        return body.choices[0].text;
      } finally {
        await server.close();
      }
    };
    const unmerged = await complete(base, join(dir, 'a'));
    expect(unmerged).toBe(await complete(join(dir, 'merged')));
    expect(unmerged).not.toBe(await complete(base));
  }, 60_000);

  it('refuses an adapter it cannot apply, naming the file and field', async () => {
    const bad = join(dir, 'bad');
    rmSync(bad, { recursive: true, force: true });
    await runCli(['lora', 'merge', '--model', base, '--adapter', join(dir, 'a'), '--out', join(dir, 'm2')]);
    const cfgPath = join(dir, 'a', 'adapter', 'adapter_config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, use_dora: true }));
    await expect(runCli(['generate', '--model', base, '--adapter', join(dir, 'a'), '--prompt', 'x'])).rejects.toThrow(/adapter_config\.json: use_dora/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, target_modules: ['q_proj'] }));
    await expect(runCli(['generate', '--model', base, '--adapter', join(dir, 'a'), '--prompt', 'x'])).rejects.toThrow(/target_modules: 'q_proj' is no linear module of a gpt2 model/);
    writeFileSync(cfgPath, JSON.stringify(cfg));
    await expect(runCli(['finetune', '--init-from', base, '--data', data, '--out', bad, '--targets', 'q'])).rejects.toThrow(/c_attn/);
    await expect(runCli(['finetune', '--init-from', base, '--data', data, '--out', bad, '--method', 'full', '--rank', '4'])).rejects.toThrow(/--rank: LoRA settings do not apply to --method full/);
    await expect(runCli(['finetune', '--init-from', join(dir, 'nope'), '--data', data, '--out', bad])).rejects.toThrow(/--init-from .*nope/);
  }, 60_000);
});

describe('loss/lr plots', () => {
  it('a series flat up to rounding (lr 0.02 vs 0.020000000000000004) plots instead of looping forever', async () => {
    const { ticks } = await import('../src/train/plot.js');
    expect(ticks(0.02, 0.020000000000000004, 6).length).toBeLessThanOrEqual(62);
    expect(ticks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
  });
});
