/**
 * Pretraining: the shared loop (src/train/loop.ts) with token shards as the batch source,
 * next-token cross-entropy as the objective, and the validation loss and text samples as
 * evaluators. The other training stages are presets of the same shape.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GPT } from '../nn/gpt.js';
import { setLoraForwards, trainableNote, type LoraConfig } from '../nn/lora.js';
import { loadBaseForLora, saveAdapter } from '../model/adapter.js';
import { parseConfig, preset, type GPTConfig } from '../nn/config.js';
import type { ParameterStore } from '../nn/parameters.js';
import { AdamW } from '../optim/adamw.js';
import { fitWarmup, type Schedule } from '../optim/schedule.js';
import { readManifest, TokenLoader } from '../data/index.js';
import { loadTokenizer } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { configHash, loadCheckpointWeights, readCheckpointConfig, resolveCheckpoint } from '../model/checkpoint.js';
import { hfConfig } from '../model/hf-config.js';
import { parseTrainConfig, type TrainConfig } from './config.js';
import { runLoop } from './loop.js';
import { nextTokenObjective, type Evaluator } from './objective.js';
import { TokenBatchSource, sampleEvaluator, valLossEvaluator } from './pretrain.js';
import { applyResumeFlags, configDiff, openResume, type OpenedRun } from './resume.js';

export { evalLoss } from './pretrain.js';

export interface TrainOptions {
  dataDir: string;
  outDir: string;
  /** Required for a new run. When resuming: the saved config is used; one given must equal it except in its limits. */
  config?: TrainConfig;
  /** Continue the run in outDir: true (its latest checkpoint), or a run opened with openResume. */
  resume?: boolean | OpenedRun;
  /** With resume: this checkpoint of the run instead of the latest (a name like step-0000400). */
  resumeFrom?: string;
  initFrom?: string;
  /** Defaults to the data folder's tokenizer.json. */
  tokenizerPath?: string;
  /** Receives each human-readable log line (default: stderr, under a progress bar on a terminal). */
  log?: (line: string) => void;
  /** LoRA on the --init-from model (llmforge finetune): base frozen, checkpoints hold the adapter, RUN/adapter is PEFT's format. */
  lora?: LoraConfig;
  /** trainer_state.json's stage (default 'pretrain'). */
  stage?: string;
  /** The exact model config (fine-tuning a checkpoint: the base's, whose vocabulary may be padded past the tokenizer's) instead of config.model. */
  modelConfig?: GPTConfig;
}

export interface TrainSummary {
  /** Trainable parameters and the AdamW state they carry (bytes). */
  trainableParams: number;
  optimizerBytes: number;
  adapter: string | null;
  steps: number;
  finalTrainLoss: number;
  finalValLoss: number | null;
  checkpoint: string;
  seconds: number;
}

/** The model config: preset, then overrides; the vocabulary comes from the tokenizer. */
export function resolveModelConfig(config: TrainConfig, tokenizer: Tokenizer, source: string): GPTConfig {
  const overrides = config.model.overrides;
  if (overrides.vocabSize !== undefined && overrides.vocabSize !== tokenizer.vocabSize) {
    throw new Error(`${source}: model.overrides.vocabSize is ${overrides.vocabSize} but the tokenizer has ${tokenizer.vocabSize} tokens`);
  }
  return parseConfig({ ...preset(config.model.preset), ...overrides, vocabSize: tokenizer.vocabSize }, source);
}

/** AdamW with a config's optimizer settings. */
export function adamwFor(store: ParameterStore, cfg: Pick<TrainConfig, 'optimizer'>): AdamW {
  const o = cfg.optimizer;
  return new AdamW(store, { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay });
}

/** A config's learning-rate schedule over a run of totalSteps (the warmup already fitted to it); minLr defaults to lr / 10. */
export function scheduleFor(cfg: Pick<TrainConfig, 'optimizer' | 'schedule'>, warmupSteps: number, totalSteps: number): Schedule {
  const s = cfg.schedule;
  return { kind: s.kind, lr: cfg.optimizer.lr, minLr: s.minLr ?? cfg.optimizer.lr / 10, warmupSteps, totalSteps, decayFraction: s.decayFraction };
}

/** Micro-batches per step and the step horizon a config asks for. */
export function stepPlan(cfg: Pick<TrainConfig, 'batch' | 'limits'>, contextLength: number): { accum: number; tokensPerStep: number; maxSteps: number | undefined } {
  const micro = cfg.batch.microBatch;
  const accum = cfg.batch.totalTokens !== undefined ? Math.max(1, Math.round(cfg.batch.totalTokens / (micro * contextLength))) : cfg.batch.gradAccum;
  const tokensPerStep = micro * contextLength * accum;
  const maxSteps = cfg.limits.maxSteps ?? (cfg.limits.maxTokens !== undefined ? Math.ceil(cfg.limits.maxTokens / tokensPerStep) : undefined);
  return { accum, tokensPerStep, maxSteps };
}

/** The config a resumed run continues with: the saved one (trainer_state.json), limits possibly raised. */
export function resumedConfig(run: OpenedRun, given: TrainConfig | undefined, log: (line: string) => void): TrainConfig {
  const source = join(run.dir, 'trainer_state.json');
  const saved = parseTrainConfig(run.state.config, `${source}: field config`);
  if (given === undefined) return saved;
  const changed = configDiff(saved, given).filter((p) => p !== 'limits.maxSteps' && p !== 'limits.maxMinutes');
  if (changed.length > 0) {
    throw new Error(`--resume continues the run as it was saved in ${source}, but the given config differs in ${changed.join(', ')}`);
  }
  const flags = (['maxSteps', 'maxMinutes'] as const).flatMap((k) => given.limits[k] === undefined ? [] : [{ flag: `limits.${k}`, path: `limits.${k}`, value: given.limits[k] }]);
  const r = applyResumeFlags(saved, flags, source);
  r.notes.forEach(log);
  return r.config;
}

export async function train(o: TrainOptions): Promise<TrainSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const resume = o.resume === true || o.resumeFrom !== undefined ? openResume(o.outDir, o.resumeFrom) : o.resume || undefined;
  if (!resume && o.config === undefined) throw new Error('train: a new run needs a config');
  const cfg = resume ? resumedConfig(resume, o.config, log) : structuredClone(o.config as TrainConfig);
  const manifest = await readManifest(o.dataDir);
  const tokenizerPath = o.tokenizerPath ?? join(o.dataDir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) throw new Error(`${tokenizerPath}: no tokenizer (pass --tokenizer PATH)`);
  const tokenizer = await loadTokenizer(tokenizerPath);
  if (manifest.tokenizer_hash !== tokenizer.hash) {
    throw new Error(`${tokenizerPath}: this tokenizer (hash ${tokenizer.hash.slice(0, 12)}) is not the one ${o.dataDir} was prepared with (${manifest.tokenizer_hash.slice(0, 12)})`);
  }
  const modelConfig = o.modelConfig ?? resolveModelConfig(cfg, tokenizer, '--config');
  if (tokenizer.vocabSize > modelConfig.vocabSize) {
    throw new Error(`${tokenizerPath}: the tokenizer has ${tokenizer.vocabSize} ids but the model only ${modelConfig.vocabSize}`);
  }
  const T = modelConfig.contextLength;
  const micro = cfg.batch.microBatch;
  const { accum, tokensPerStep, maxSteps } = stepPlan(cfg, T);
  if (maxSteps === undefined && cfg.limits.maxMinutes === undefined) throw new Error('--config: set limits.maxSteps, limits.maxTokens or limits.maxMinutes (or pass --max-steps)');
  if (maxSteps === undefined && cfg.schedule.kind !== 'constant') throw new Error('--config: a time-only limit needs schedule.kind "constant" (other schedules need a step horizon)');

  const warmup = fitWarmup(cfg.schedule.warmupSteps, maxSteps);
  if (!resume && warmup !== cfg.schedule.warmupSteps) {
    // Saved in the run's config, so a resumed (or lengthened) run keeps the same schedule.
    log(`warmup of ${cfg.schedule.warmupSteps} steps is more than half of this ${maxSteps}-step run (the peak lr would come late or never): using ${warmup}`);
    cfg.schedule.warmupSteps = warmup;
  }
  const hash = configHash(modelConfig);
  if (resume) {
    if (resume.state.model_config_hash !== hash) {
      throw new Error(`--resume: the model config changed since ${resume.dir} was written (hash ${String(resume.state.model_config_hash)} → ${hash}); start a new run directory`);
    }
  }
  const stage = o.stage ?? 'pretrain';
  if (resume && (resume.state.stage ?? 'pretrain') !== stage) throw new Error(`--resume: ${resume.dir} is a ${String(resume.state.stage)} run, not ${stage}`);
  if (resume && JSON.stringify(resume.state.lora ?? null) !== JSON.stringify(o.lora ?? null)) {
    throw new Error(`--resume: ${resume.dir} was trained with other LoRA settings (${JSON.stringify(resume.state.lora ?? null)})`);
  }
  // A LoRA run's checkpoints hold only the adapter: the base always comes from init_from.
  const baseFrom = resume ? (resume.state.init_from as string | undefined) : o.initFrom;
  if (o.lora && baseFrom === undefined) throw new Error('LoRA needs --init-from: the base model to adapt');
  const model = o.lora ? loadBaseForLora(baseFrom as string, o.lora, cfg.seed).model : new GPT(modelConfig).init(cfg.seed);
  if (o.lora && resume) setLoraForwards(model.adapters, Number(resume.state.step) * accum);
  if (o.initFrom && !resume && !o.lora) {
    const dir = resolveCheckpoint(o.initFrom);
    const srcConfig = readCheckpointConfig(dir);
    if (configHash(srcConfig) !== hash) throw new Error(`--init-from ${o.initFrom}: its model config differs from this run's (${JSON.stringify(srcConfig)})`);
    loadCheckpointWeights(dir, model.params);
    log(`initialized weights from ${o.initFrom}`);
  }
  const optimizer = adamwFor(model.params, cfg);

  const trainLoader = await TokenLoader.open(o.dataDir, 'train', { context: T, batchSize: micro, seed: cfg.seed, mode: 'random' });
  const evaluators: Array<Evaluator<GPT>> = [];
  if (manifest.val_tokens > T) {
    const valLoader = await TokenLoader.open(o.dataDir, 'val', { context: T, batchSize: micro, seed: cfg.seed, mode: 'sequential' });
    evaluators.push(valLossEvaluator(valLoader, tokenizer, cfg.eval.batches, micro, T));
  }
  evaluators.push(sampleEvaluator(tokenizer, cfg.eval.samplePrompts, cfg.eval.sampleTokens, cfg.seed));
  const schedule = scheduleFor(cfg, cfg.schedule.warmupSteps, maxSteps ?? Number.MAX_SAFE_INTEGER);
  const r = runLoop({
    outDir: o.outDir, model, optimizer, objective: nextTokenObjective(micro, T), source: new TokenBatchSource(trainLoader, micro, T), evaluators,
    microBatches: accum, schedule, gradClip: cfg.optimizer.gradClip, maxSteps, maxMinutes: cfg.limits.maxMinutes,
    evalEvery: cfg.eval.every, checkpointEvery: cfg.checkpoint.every, keep: cfg.checkpoint.keep,
    checkpoint: { save: o.lora ? 'trainable' : 'all', config: hfConfig(modelConfig), tokenizerJson: tokenizer.toTokenizerJson() },
    runState: { stage, model_config_hash: hash, config: cfg, ...(baseFrom !== undefined ? { init_from: baseFrom } : {}), ...(o.lora ? { lora: o.lora } : {}) },
    resume, flopsPerToken: model.flopsPerToken(T), log: o.log,
    header: `training ${(model.params.count / 1e6).toFixed(2)}M parameters${trainableNote(model.lora, model.adapters)} (${modelConfig.family}, ${modelConfig.nLayer} layers, d ${modelConfig.nEmbd}, context ${T}), ` +
      `${tokensPerStep} tokens/step (${micro}×${T}×${accum}), ${maxSteps ?? '∞'} steps, data ${manifest.train_tokens} train / ${manifest.val_tokens} val tokens`,
  });
  trainLoader.close();
  const adapter = o.lora ? join(o.outDir, 'adapter') : null;
  if (adapter !== null) saveAdapter(adapter, model, resolve(baseFrom as string));
  return { trainableParams: optimizer.m.length, optimizerBytes: 8 * optimizer.m.length, adapter, steps: r.steps, finalTrainLoss: r.finalTrainLoss, finalValLoss: r.lastEval.val_loss ?? null, checkpoint: r.checkpoint, seconds: r.seconds };
}

