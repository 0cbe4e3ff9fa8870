/**
 * What each stage of `llmforge run` does: the library call behind its command, with the
 * previous stages' outputs wired in (the tokenizer, the data folder, --init-from, --model).
 * A stage writes only inside its own folder; the runner (run.ts) decides whether it runs.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer, trainTokenizerDetailed } from '../tokenizer/index.js';
import { prepare, readChatExamples } from '../data/index.js';
import { configFromOptions, readSavedConfig, train } from '../train/index.js';
import { exportGguf, exportHf, chatTemplateFor } from '../export/index.js';
import { loadModel } from '../model/index.js';
import { finetuneWithFlags, mergeLora } from '../finetune/index.js';
import {
  commonFlags, configFromFlags, dpo, parseDpoConfig, parseRewardConfig, prefsGenerate, readSavedSftConfig, rewardTrain, sft, sftConfigFromOptions,
} from '../align/index.js';
import { applyThreads } from '../tensor/registry.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { runEval } from './eval-stage.js';
import type { PipelineConfig, StageName } from './config.js';

export interface StageContext {
  /** This stage's folder (created). */
  dir: string;
  /** Outputs of the stages run so far (their stage.json "outputs"). */
  outputs: Partial<Record<StageName, Record<string, string>>>;
  /** Continue an interrupted run in `dir` (training stages). */
  resume: boolean;
  /** The chat model copied to OUT/final (set before the export stage). */
  finalModel?: string;
  log: (line: string) => void;
}

export interface StageResult {
  outputs: Record<string, string>;
  /** Tokens the stage processed (for tokens/s), when that means something. */
  tokens?: number;
  summary: Record<string, unknown>;
}

/** Where a training stage keeps its run, inside its stage folder. */
export const RUN_SUBDIR = 'run';

/** A stage's inline training config becomes a file in its folder, so the command's --config reads it. */
function configPath(ctx: StageContext, config: string | Record<string, unknown> | undefined): string | undefined {
  if (config === undefined || typeof config === 'string') return config;
  const path = join(ctx.dir, 'config.json');
  writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

function out(ctx: StageContext, stage: StageName, key: string): string {
  const v = ctx.outputs[stage]?.[key];
  if (v === undefined) throw new Error(`internal: stage '${stage}' has no output '${key}'`);
  return v;
}

/** Mean tokens/s over a run's metrics.jsonl steps, and the tokens trained on. */
export function runThroughput(runDir: string): { tokens: number; tokensPerS: number | null } {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return { tokens: 0, tokensPerS: null };
  let tokens = 0;
  let lastElapsed = 0;
  let rates = 0;
  let n = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let r: { tokens_per_s?: number; elapsed_s?: number };
    try {
      r = JSON.parse(line) as typeof r;
    } catch {
      continue; // a line cut by kill -9 before resume truncated it
    }
    if (typeof r.tokens_per_s === 'number' && typeof r.elapsed_s === 'number') {
      rates += r.tokens_per_s;
      n++;
      lastElapsed = r.elapsed_s;
    }
  }
  const tokensPerS = n > 0 ? rates / n : null;
  if (tokensPerS !== null) tokens = Math.round(tokensPerS * lastElapsed);
  return { tokens, tokensPerS };
}

export type StageRunner = (c: PipelineConfig, ctx: StageContext) => Promise<StageResult>;

export const RUNNERS: Record<StageName, StageRunner> = {
  async tokenizer(c, ctx) {
    const o = c.tokenizer;
    applyThreads(o.threads);
    const texts = o.chatData !== undefined ? (await readChatExamples(o.chatData)).map((e) => e.messages.map((m) => m.content).join('\n')) : [];
    const path = join(ctx.dir, 'tokenizer.json');
    const r = await trainTokenizerDetailed({
      input: o.input, texts, vocabSize: o.vocabSize, pattern: o.pattern, minFrequency: o.minFrequency, out: path,
      ...(o.special !== undefined ? { specialTokens: o.special.length === 1 && o.special[0] === 'none' ? [] : o.special } : {}),
    });
    return { outputs: { tokenizer: path }, summary: { vocab_size: r.stats.vocabSize, merges: r.stats.merges, chars: r.stats.chars } };
  },

  async data(c, ctx) {
    const o = c.data;
    const tokPath = out(ctx, 'tokenizer', 'tokenizer');
    const dataDir = join(ctx.dir, 'data');
    let bar: Progress | undefined;
    const r = await prepare({
      inputs: o.input, out: dataDir, tokenizer: await loadTokenizer(tokPath), tokenizerSource: { path: tokPath }, valFraction: o.valFraction,
      dedup: o.dedup, textField: o.textField, minChars: o.minChars, seed: o.seed, skipBadLines: o.skipBadLines, docChars: o.docChars,
      shardTokens: o.shardTokens, threads: o.threads, encoder: o.encoder, overwrite: true, onWarning: (m) => ctx.log(`warning: ${m}`),
      onProgress: (p) => {
        bar ??= new Progress({ total: p.totalBytes, label: 'data', unit: 'MB', unitScale: 1e-6 });
        bar.update(p.bytes, `${p.tokens.toLocaleString('en-US')} tokens`);
      },
    });
    bar?.done();
    const m = r.manifest;
    return { outputs: { data: dataDir }, tokens: m.train_tokens + m.val_tokens, summary: { train_tokens: m.train_tokens, val_tokens: m.val_tokens } };
  },

  async pretrain(c, ctx) {
    const o = c.pretrain;
    const runDir = join(ctx.dir, RUN_SUBDIR);
    const config = configFromOptions({ ...o, config: configPath(ctx, o.config), data: out(ctx, 'data', 'data'), out: runDir });
    applyThreads(config.threads);
    const r = await train({
      // Resuming: the run's saved config (the stage key vouches that the options are the same; the trainer may have fitted its warmup).
      dataDir: out(ctx, 'data', 'data'), outDir: runDir, config: ctx.resume ? undefined : config, resume: ctx.resume, tokenizerPath: out(ctx, 'tokenizer', 'tokenizer'), log: ctx.log,
    });
    return { outputs: { run: runDir }, tokens: runThroughput(runDir).tokens, summary: { steps: r.steps, train_loss: r.finalTrainLoss, val_loss: r.finalValLoss } };
  },

  async sft(c, ctx) {
    const o = c.sft ?? fail('sft');
    const runDir = join(ctx.dir, RUN_SUBDIR);
    const config = ctx.resume ? readSavedSftConfig(runDir) : sftConfigFromOptions({ ...o, config: configPath(ctx, o.config), out: runDir, resume: false });
    applyThreads(config.threads);
    const r = await sft({ initFrom: out(ctx, 'pretrain', 'run'), data: o.data, valData: o.valData, outDir: runDir, config, resume: ctx.resume, skipBadLines: o.skipBadLines, log: ctx.log });
    return {
      outputs: { run: runDir }, tokens: runThroughput(runDir).tokens,
      summary: { steps: r.steps, epochs: r.epochs, train_loss: r.finalTrainLoss, val_loss: r.finalValLoss, conversations: r.conversations },
    };
  },

  async prefs(c, ctx) {
    const o = c.prefs ?? fail('prefs');
    applyThreads(o.threads);
    const file = join(ctx.dir, 'prefs.jsonl');
    // The same defaults as `llmforge prefs generate`.
    const r = await prefsGenerate({
      model: out(ctx, 'sft', 'run'), prompts: o.prompts, samples: o.samples, out: file, maxPrompts: o.maxPrompts, perTask: o.perTask, referenceCandidate: o.referenceCandidate,
      temperature: o.temperature ?? 1,
      topP: o.topP ?? 1, maxNewTokens: o.maxTokens ?? 64, batch: o.batch ?? 64, seed: o.seed ?? 1337, skipBadLines: o.skipBadLines, log: ctx.log,
    });
    return { outputs: { pairs: file }, summary: { prompts: r.prompts, pairs: r.pairs, tied: r.tied, chosen_score: r.chosenScore, rejected_score: r.rejectedScore } };
  },

  async dpo(c, ctx) {
    const o = c.dpo ?? fail('dpo');
    const runDir = join(ctx.dir, RUN_SUBDIR);
    const data = [out(ctx, 'prefs', 'pairs'), ...(o.data ?? [])];
    const extra = [
      ...(o.beta !== undefined ? [{ flag: '--beta', path: 'dpo.beta', value: o.beta }] : []),
      ...(o.loss !== undefined ? [{ flag: '--loss', path: 'dpo.loss', value: o.loss }] : []),
    ];
    const opts = { ...o, data, config: configPath(ctx, o.config), out: runDir, resume: false };
    const config = ctx.resume ? parseDpoConfig(readSavedConfig(runDir, 'dpo'), `${runDir} (saved config)`) : configFromFlags(opts, 'dpo', parseDpoConfig, commonFlags(opts, 'dpo', extra)).config;
    applyThreads(config.threads);
    const r = await dpo({ initFrom: out(ctx, 'sft', 'run'), data, valData: o.valData, outDir: runDir, config, resume: ctx.resume, skipBadLines: o.skipBadLines, log: ctx.log });
    return { outputs: { run: runDir }, tokens: runThroughput(runDir).tokens, summary: { steps: r.steps, epochs: r.epochs, pairs: r.pairs, train_loss: r.finalTrainLoss, ...r.eval } };
  },

  async reward(c, ctx) {
    const o = c.reward ?? fail('reward');
    const runDir = join(ctx.dir, RUN_SUBDIR);
    const data = [out(ctx, 'prefs', 'pairs'), ...(o.data ?? [])];
    const opts = { ...o, data, config: configPath(ctx, o.config), out: runDir, resume: false };
    const config = ctx.resume ? parseRewardConfig(readSavedConfig(runDir, 'reward'), `${runDir} (saved config)`) : configFromFlags(opts, 'reward', parseRewardConfig, commonFlags(opts, 'reward')).config;
    applyThreads(config.threads);
    const r = await rewardTrain({ initFrom: out(ctx, 'sft', 'run'), data, valData: o.valData, outDir: runDir, config, resume: ctx.resume, skipBadLines: o.skipBadLines, log: ctx.log });
    return { outputs: { run: runDir }, tokens: runThroughput(runDir).tokens, summary: { steps: r.steps, pairs: r.pairs, train_loss: r.finalTrainLoss, val_accuracy: r.accuracy } };
  },

  async finetune(c, ctx) {
    const o = c.finetune ?? fail('finetune');
    const runDir = join(ctx.dir, RUN_SUBDIR);
    const flags = {
      ...o, method: o.method ?? 'lora', rank: o.rank ?? 8, alpha: o.alpha ?? 16, dropout: 0.05, targets: (o.targets ?? ['attn']).join(','),
      initFrom: out(ctx, ctx.outputs.dpo ? 'dpo' : 'sft', 'run'), out: runDir, config: configPath(ctx, o.config), resume: ctx.resume,
    };
    const { summary: r, initFrom } = await finetuneWithFlags(flags, () => false, ctx.log);
    // The eval stage and final/ read plain checkpoints: a LoRA run is merged into its base first.
    let model = runDir;
    if (r.adapter !== null) {
      model = join(ctx.dir, 'merged');
      rmSync(model, { recursive: true, force: true });
      mergeLora(initFrom, r.adapter, model);
    }
    return {
      outputs: { run: model }, tokens: runThroughput(runDir).tokens,
      summary: { steps: r.steps, train_loss: r.finalTrainLoss, val_loss: r.finalValLoss, trainable_params: r.trainableParams, method: flags.method },
    };
  },

  async eval(c, ctx) {
    return runEval(c, ctx);
  },

  async export(c, ctx) {
    const o = c.export ?? fail('export');
    const dtype = o.dtype ?? 'f32';
    if (o.format === 'hf' && dtype === 'q8_0') throw new Error("export.dtype q8_0: only for format 'gguf' (hf takes f32 or f16)");
    if (ctx.finalModel === undefined) throw new Error('internal: the export stage runs after final/ is written');
    const { model, dir } = loadModel(ctx.finalModel);
    const tokenizer = await loadTokenizer(join(dir, 'tokenizer.json'));
    const path = join(ctx.dir, o.format === 'gguf' ? 'model.gguf' : 'hf');
    rmSync(path, { recursive: true, force: true });
    if (o.format === 'gguf') {
      const r = exportGguf(model, tokenizer, path, dtype, { name: 'llmforge-chat', chatTemplate: chatTemplateFor(tokenizer) });
      return { outputs: { path }, summary: { format: o.format, dtype, tensors: r.tensors, bytes: r.bytes } };
    }
    const r = await exportHf(model, tokenizer, path, dtype === 'f16' ? 'f16' : 'f32');
    return { outputs: { path }, summary: { format: o.format, dtype, tensors: r.tensors, bytes: r.bytes } };
  },
};

function fail(stage: StageName): never {
  throw new Error(`internal: stage '${stage}' has no options`);
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}
