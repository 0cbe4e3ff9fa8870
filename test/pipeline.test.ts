/** `llmforge run`: skip what is done, redo what changed (and what follows), resume after kill -9, config errors with their key path. */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePipeline, readPipeline } from '../src/pipeline/config.js';
import { runPipeline, type StageRecord } from '../src/pipeline/run.js';
import { resolveCheckpoint } from '../src/model/checkpoint.js';
import { tinyPipeline } from './pipeline-helpers.js';

const CLI = join(__dirname, '..', 'bin', 'llmforge.js');
const quiet = (): void => {};

function stageDirs(out: string): string[] {
  return readdirSync(out).filter((n) => /^[a-z]+-[0-9a-f]{12}$/.test(n)).sort();
}

function record(out: string, stage: string): StageRecord {
  const name = stageDirs(out).find((n) => n.startsWith(`${stage}-`));
  if (name === undefined) throw new Error(`no ${stage} folder in ${out}`);
  return JSON.parse(readFileSync(join(out, name, 'stage.json'), 'utf8')) as StageRecord;
}

describe('pipeline config', () => {
  const base = (): Record<string, unknown> => ({
    tokenizer: { input: ['a.txt'], vocabSize: 300 }, data: { input: ['a.txt'] }, pretrain: { maxSteps: 2 },
  });

  it('names the path of an unknown key, a bad value, and a broken chain', () => {
    expect(() => parsePipeline({ ...base(), sft: { data: ['c.jsonl'], epoch: 2 } }, 'p.json', '/x')).toThrow(/p\.json: unknown key 'sft\.epoch'/);
    expect(() => parsePipeline({ ...base(), stages: {} }, 'p.json', '/x')).toThrow(/unknown key 'stages'/);
    expect(() => parsePipeline({ ...base(), pretrain: { maxSteps: 0 } }, 'p.json', '/x')).toThrow(/'pretrain\.maxSteps'/);
    expect(() => parsePipeline({ ...base(), pretrain: { out: 'x' } }, 'p.json', '/x')).toThrow(/unknown key 'pretrain\.out'/);
    expect(() => parsePipeline({ ...base(), dpo: {} }, 'p.json', '/x')).toThrow(/'dpo' reads the 'prefs' stage's output/);
    expect(() => parsePipeline({ ...base(), pretrain: { config: { optimizer: { lr: 1e-3, betas: 2 } } } }, 'p.json', '/x'))
      .toThrow(/p\.json: 'pretrain\.config'.*betas/);
    const c = parsePipeline(base(), 'p.json', '/x');
    expect(c.tokenizer.input).toEqual(['/x/a.txt']);
  });

  it('the shipped default pipeline is valid and leaves finetune and export off', () => {
    const c = readPipeline(join(__dirname, '..', 'examples', 'pipeline.json'));
    expect(c.finetune?.enabled).toBe(false);
    expect(c.export?.enabled).toBe(false);
    for (const p of [...c.tokenizer.input, ...(c.sft?.data ?? [])]) expect(existsSync(p), p).toBe(true);
  });

  it('the CLI exits non-zero with the file and key path', () => {
    const t = tinyPipeline();
    t.config.eval.maxExample = 3;
    t.write();
    const r = spawnSync(process.execPath, [CLI, 'run', t.file, '--out', join(t.dir, 'out')], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${t.file}: unknown key 'eval.maxExample'`);
    expect(existsSync(join(t.dir, 'out'))).toBe(false);
  });
});

describe('llmforge run', () => {
  it('runs every stage once, skips them on a re-run, and redoes a changed stage and the ones after it', async () => {
    const t = tinyPipeline();
    const out = join(t.dir, 'out');
    const first = await runPipeline({ config: readPipeline(t.file), out, log: quiet });
    expect(first.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(
      ['tokenizer', 'data', 'pretrain', 'sft', 'prefs', 'dpo', 'reward', 'eval'].map((s) => `${s}:ran`));
    expect(first.final).toBe(join(out, 'final'));
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) expect(existsSync(join(out, 'final', f)), f).toBe(true);
    expect(existsSync(join(out, 'final', 'optimizer.safetensors'))).toBe(false);
    expect(readFileSync(join(out, 'final', 'model.safetensors'))).toEqual(readFileSync(join(resolveCheckpoint(join(out, stageDirs(out).find((n) => n.startsWith('dpo-')) as string, 'run')), 'model.safetensors')));
    const pre = record(out, 'pretrain');
    expect(pre.tokens_per_s).toBeGreaterThan(0);
    expect(pre.peak_rss_mb).toBeGreaterThan(10);
    expect(pre.outputs.run).toBe(join(`pretrain-${pre.key}`, 'run'));
    const before = stageDirs(out);

    const t0 = performance.now();
    const again = await runPipeline({ config: readPipeline(t.file), out, log: quiet });
    expect(again.stages.every((s) => s.status === 'done')).toBe(true);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(stageDirs(out)).toEqual(before);

    t.config.sft.maxSteps = 4;
    t.write();
    const changed = await runPipeline({ config: readPipeline(t.file), out, log: quiet });
    expect(changed.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(
      ['tokenizer:done', 'data:done', 'pretrain:done', 'sft:ran', 'prefs:ran', 'dpo:ran', 'reward:ran', 'eval:ran']);
    const now = stageDirs(out);
    expect(now.filter((n) => before.includes(n))).toEqual(before.filter((n) => /^(tokenizer|data|pretrain)-/.test(n)));
    expect(now).toHaveLength(before.length); // the stale folders are gone
    expect(record(out, 'sft').summary.steps).toBe(4);

    // A changed input file is a changed stage too: the eval's held-out set.
    t.config.eval.maxTokens = 9;
    t.write();
    const only = await runPipeline({ config: readPipeline(t.file), out, only: 'eval', log: quiet });
    expect(only.stages.at(-1)).toEqual(expect.objectContaining({ stage: 'eval', status: 'ran' }));
    const sftOnly = await runPipeline({ config: readPipeline(t.file), out, only: 'sft', log: quiet });
    expect(sftOnly.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(
      ['tokenizer:done', 'data:done', 'pretrain:done', 'sft:ran', 'prefs:done', 'dpo:done', 'reward:done', 'eval:done']);
    expect(readFileSync(sftOnly.report.md, 'utf8')).toMatch(/\| eval \| [\d.]+s \|/);
    const redo = await runPipeline({ config: readPipeline(t.file), out, from: 'dpo', log: quiet });
    expect(redo.stages.map((s) => s.status)).toEqual(['done', 'done', 'done', 'done', 'done', 'ran', 'ran', 'ran']);
  }, 120_000);

  it('fine-tunes with LoRA (merged for eval and final/) and exports the final model as GGUF', async () => {
    const t = tinyPipeline();
    const chat = join(__dirname, '..', 'examples', 'chat', 'heldout.jsonl.gz');
    t.config.finetune = { enabled: true, data: [chat], method: 'lora', rank: 4, maxSteps: 2, batch: 4 };
    t.config.export = { enabled: true, format: 'gguf', dtype: 'q8_0' };
    t.write();
    const out = join(t.dir, 'out');
    const r = await runPipeline({ config: readPipeline(t.file), out, log: quiet });
    expect(r.stages.map((s) => s.stage)).toEqual(['tokenizer', 'data', 'pretrain', 'sft', 'prefs', 'dpo', 'reward', 'finetune', 'eval', 'export']);
    const ft = record(out, 'finetune');
    expect(ft.outputs.run).toBe(join(`finetune-${ft.key}`, 'merged'));
    expect(ft.summary).toMatchObject({ method: 'lora', steps: 2 });
    // final/ is the merged fine-tuned model, not the DPO one.
    expect(readFileSync(join(out, 'final', 'model.safetensors'))).toEqual(readFileSync(join(resolveCheckpoint(join(out, ft.outputs.run)), 'model.safetensors')));
    const gguf = readFileSync(join(out, record(out, 'export').outputs.path));
    expect(gguf.subarray(0, 4).toString('latin1')).toBe('GGUF');
    expect(readFileSync(r.report.md, 'utf8')).toMatch(/\| fine-tuned \|/);
  }, 120_000);

  it('resumes a stage killed with SIGKILL and ends with the weights of an uninterrupted run', async () => {
    const steps = 150;
    const killed = tinyPipeline(steps);
    const out = join(killed.dir, 'out');
    // Kill the process once pretraining has saved its first checkpoint (of three).
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'run', killed.file, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/saved .*step-0000050/.test(err)) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`not killed (exit ${code}): ${err.slice(-2000)}`))));
    });
    const pretrainDir = stageDirs(out).find((n) => n.startsWith('pretrain-')) as string;
    expect(existsSync(join(out, pretrainDir, 'stage.json'))).toBe(false);
    const r = spawnSync(process.execPath, [CLI, 'run', killed.file, '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toMatch(/\[stage 1 of 8\] tokenizer: done/);
    expect(r.stderr).toMatch(/\[stage 3 of 8\] pretrain: resuming/);
    expect(r.stdout).toMatch(/Chat model: .*final\n[\s\S]*llmforge serve --model .*final[\s\S]*llmforge export --model .*final --format gguf/);
    expect(record(out, 'pretrain').resumed).toBe(true);

    const whole = tinyPipeline(steps);
    const wholeOut = join(whole.dir, 'out');
    await runPipeline({ config: readPipeline(whole.file), out: wholeOut, only: undefined, log: quiet });
    const weights = (o: string): Buffer => readFileSync(join(resolveCheckpoint(join(o, stageDirs(o).find((n) => n.startsWith('pretrain-')) as string, 'run')), 'model.safetensors'));
    expect(weights(out).equals(weights(wholeOut))).toBe(true);
  }, 180_000);
});

describe('llmforge run locking', () => {
  it('refuses a second run in the same folder while the first is alive, and takes over a dead one\'s lock', async () => {
    const t = tinyPipeline();
    const out = join(t.dir, 'out');
    mkdirSync(out);
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      writeFileSync(join(out, '.llmforge-run.lock'), `${sleeper.pid}\n`);
      await expect(runPipeline({ config: readPipeline(t.file), out, log: quiet })).rejects.toThrow(/another llmforge run \(pid \d+\) is working in this folder/);
    } finally {
      sleeper.kill('SIGKILL');
    }
    await new Promise((r) => sleeper.on('exit', r));
    const r = await runPipeline({ config: readPipeline(t.file), out, only: undefined, log: quiet, fresh: true });
    expect(r.stages).toHaveLength(8);
    expect(existsSync(join(out, '.llmforge-run.lock'))).toBe(false);
  }, 60_000);
});
