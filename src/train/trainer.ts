/**
 * The training loop: data → steps → evals, samples, plots and checkpoints, resumable
 * bit-for-bit. Everything that decides the next weights (parameters, AdamW moments,
 * step count, data position) is in the checkpoint, and nothing else is random, so a
 * run killed at any moment and resumed ends exactly where an uninterrupted one does.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GPT } from '../nn/gpt.js';
import { parseConfig, preset, type GPTConfig } from '../nn/config.js';
import { AdamW } from '../optim/adamw.js';
import { learningRate, type Schedule } from '../optim/schedule.js';
import { Graph, withGraph } from '../autograd/graph.js';
import { readManifest, TokenLoader, type LoaderPosition } from '../data/index.js';
import { loadTokenizer } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { Progress, formatDuration } from '../util/progress.js';
import {
  CHECKPOINTS_DIR, configHash, loadCheckpointWeights, loadModel, loadOptimizerState, readCheckpointConfig, resolveCheckpoint, saveCheckpoint,
} from '../model/checkpoint.js';
import type { TrainConfig } from './config.js';
import { MetricsLog } from './metrics.js';
import { TrainStep, type MicroBatch } from './step.js';
import { mfu } from './flops.js';
import { sampleTexts } from '../infer/index.js';

export interface TrainOptions {
  dataDir: string;
  outDir: string;
  config: TrainConfig;
  resume?: boolean;
  initFrom?: string;
  /** Defaults to the data folder's tokenizer.json. */
  tokenizerPath?: string;
  /** Receives each human-readable log line (default: stderr). */
  log?: (line: string) => void;
}

export interface TrainSummary {
  steps: number;
  finalTrainLoss: number;
  finalValLoss: number | null;
  checkpoint: string;
  seconds: number;
}

interface TrainerState {
  step: number;
  tokens_seen: number;
  data_position: LoaderPosition;
  model_config_hash: string;
  consecutive_bad_steps: number;
  train_seconds: number;
  config: TrainConfig;
}

const MAX_BAD_STEPS = 5;

/** The model config: preset, then overrides; the vocabulary comes from the tokenizer. */
export function resolveModelConfig(config: TrainConfig, tokenizer: Tokenizer, source: string): GPTConfig {
  const overrides = config.model.overrides;
  if (overrides.vocabSize !== undefined && overrides.vocabSize !== tokenizer.vocabSize) {
    throw new Error(`${source}: model.overrides.vocabSize is ${overrides.vocabSize} but the tokenizer has ${tokenizer.vocabSize} tokens`);
  }
  return parseConfig({ ...preset(config.model.preset), ...overrides, vocabSize: tokenizer.vocabSize }, source);
}

export async function train(o: TrainOptions): Promise<TrainSummary> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cfg = o.config;
  const manifest = await readManifest(o.dataDir);
  const tokenizerPath = o.tokenizerPath ?? join(o.dataDir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) throw new Error(`${tokenizerPath}: no tokenizer (pass --tokenizer PATH)`);
  const tokenizer = await loadTokenizer(tokenizerPath);
  if (manifest.tokenizer_hash !== tokenizer.hash) {
    throw new Error(`${tokenizerPath}: this tokenizer (hash ${tokenizer.hash.slice(0, 12)}) is not the one ${o.dataDir} was prepared with (${manifest.tokenizer_hash.slice(0, 12)})`);
  }
  const modelConfig = resolveModelConfig(cfg, tokenizer, '--config');
  const T = modelConfig.contextLength;
  const micro = cfg.batch.microBatch;
  const accum = cfg.batch.totalTokens !== undefined ? Math.max(1, Math.round(cfg.batch.totalTokens / (micro * T))) : cfg.batch.gradAccum;
  const tokensPerStep = micro * T * accum;
  const maxSteps = cfg.limits.maxSteps ?? (cfg.limits.maxTokens !== undefined ? Math.ceil(cfg.limits.maxTokens / tokensPerStep) : undefined);
  if (maxSteps === undefined && cfg.limits.maxMinutes === undefined) throw new Error('--config: set limits.maxSteps, limits.maxTokens or limits.maxMinutes (or pass --max-steps)');
  if (maxSteps === undefined && cfg.schedule.kind !== 'constant') throw new Error('--config: a time-only limit needs schedule.kind "constant" (other schedules need a step horizon)');
  const horizon = maxSteps ?? Number.MAX_SAFE_INTEGER;

  mkdirSync(o.outDir, { recursive: true });
  const hash = configHash(modelConfig);
  let model: GPT;
  let state: TrainerState | null = null;
  const optimizerOf = (m: GPT): AdamW => new AdamW(m.params, {
    beta1: cfg.optimizer.beta1, beta2: cfg.optimizer.beta2, eps: cfg.optimizer.eps, weightDecay: cfg.optimizer.weightDecay,
  });
  let optimizer: AdamW;
  if (o.resume) {
    const dir = resumeCheckpoint(o.outDir);
    state = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
    if (state.model_config_hash !== hash) {
      throw new Error(`--resume: the model config changed since ${dir} was written (hash ${state.model_config_hash} → ${hash}); start a new run directory`);
    }
    model = loadModel(dir).model;
    optimizer = optimizerOf(model);
    loadOptimizerState(dir, optimizer);
    log(`resuming from ${dir} at step ${state.step}`);
  } else {
    if (existsSync(join(o.outDir, 'latest'))) throw new Error(`${o.outDir}: already holds a run; pass --resume to continue it, or choose another --out`);
    model = new GPT(modelConfig).init(cfg.seed);
    if (o.initFrom) {
      const dir = resolveCheckpoint(o.initFrom);
      const srcConfig = readCheckpointConfig(dir);
      if (configHash(srcConfig) !== hash) throw new Error(`--init-from ${o.initFrom}: its model config differs from this run's (${JSON.stringify(srcConfig)})`);
      loadCheckpointWeights(dir, model.params);
      log(`initialized weights from ${o.initFrom}`);
    }
    optimizer = optimizerOf(model);
  }

  const trainLoader = await TokenLoader.open(o.dataDir, 'train', { context: T, batchSize: micro, seed: cfg.seed, mode: 'random' });
  if (state) trainLoader.restore(state.data_position);
  const valLoader = manifest.val_tokens > T ? await TokenLoader.open(o.dataDir, 'val', { context: T, batchSize: micro, seed: cfg.seed, mode: 'sequential' }) : null;
  const valStart = valLoader?.position();

  const metrics = new MetricsLog(join(o.outDir, 'metrics.jsonl'));
  metrics.restore(state?.step ?? 0);
  const schedule: Schedule = {
    kind: cfg.schedule.kind, lr: cfg.optimizer.lr, minLr: cfg.schedule.minLr ?? cfg.optimizer.lr / 10,
    warmupSteps: cfg.schedule.warmupSteps, totalSteps: horizon, decayFraction: cfg.schedule.decayFraction,
  };
  const stepper = new TrainStep(model, optimizer, micro, T, cfg.optimizer.gradClip);
  const batches: MicroBatch[] = Array.from({ length: accum }, () => ({ inputs: new Int32Array(micro * T), targets: new Int32Array(micro * T) }));
  const flopsPerToken = model.flopsPerToken(T);
  const tokenizerJson = tokenizer.toTokenizerJson();

  let step = state?.step ?? 0;
  let tokensSeen = state?.tokens_seen ?? 0;
  let badSteps = state?.consecutive_bad_steps ?? 0;
  let trainSeconds = state?.train_seconds ?? 0;
  let lastCheckpoint = state ? resolveCheckpoint(o.outDir) : '';
  let lastTrainLoss = NaN;
  let lastValLoss: number | null = null;
  const started = performance.now();
  const deadline = cfg.limits.maxMinutes !== undefined ? started + cfg.limits.maxMinutes * 60_000 : Infinity;
  log(`training ${(model.params.count / 1e6).toFixed(2)}M parameters (${modelConfig.family}, ${modelConfig.nLayer} layers, d ${modelConfig.nEmbd}, context ${T}), ` +
    `${tokensPerStep} tokens/step (${micro}×${T}×${accum}), ${maxSteps ?? '∞'} steps, data ${manifest.train_tokens} train / ${manifest.val_tokens} val tokens`);
  // Each step prints its own line (with ETA), so the bar is only drawn on a terminal.
  const progress = new Progress({ total: maxSteps ?? 0, label: 'train', unit: 'step', whenPiped: false });

  const checkpoint = (): void => {
    const name = `step-${String(step).padStart(7, '0')}`;
    const trainerState: TrainerState = {
      step, tokens_seen: tokensSeen, data_position: trainLoader.position(), model_config_hash: hash, consecutive_bad_steps: badSteps, train_seconds: trainSeconds, config: cfg,
    };
    try {
      lastCheckpoint = saveCheckpoint(o.outDir, name, { model, optimizer, tokenizerJson, trainerState }, cfg.checkpoint.keep);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOSPC' ? 'the disk is full' : (err as Error).message;
      throw new Error(`writing checkpoint ${name} failed: ${why}. ${lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}.` : 'No checkpoint was written.'}`);
    }
    progress.log(`saved ${lastCheckpoint}`);
  };

  const evaluate = (): void => {
    if (valLoader) {
      valLoader.restore(valStart as LoaderPosition);
      const r = evalLoss(model, valLoader, tokenizer, cfg.eval.batches, micro, T);
      lastValLoss = r.loss;
      metrics.append({ step, val_loss: r.loss, val_bpb: r.bpb });
      progress.log(`eval step ${step}: val loss ${r.loss.toFixed(4)}, val bpb ${r.bpb.toFixed(4)}`);
    }
    const prompts = cfg.eval.samplePrompts;
    sampleTexts(model, tokenizer, prompts, cfg.eval.sampleTokens, cfg.seed + step).forEach((text, i) => {
      if (cfg.eval.sampleTokens > 0) progress.log(`sample: ${JSON.stringify(prompts[i] + text)}`);
    });
    metrics.plot(o.outDir);
  };

  while (step < horizon && performance.now() < deadline) {
    const t0 = performance.now();
    for (const b of batches) trainLoader.nextBatch(b.inputs, b.targets);
    const lr = learningRate(schedule, step);
    const r = stepper.run(batches, lr);
    step++;
    tokensSeen += tokensPerStep;
    const stepMs = performance.now() - t0;
    trainSeconds += stepMs / 1000;
    const tokPerS = (tokensPerStep * 1000) / stepMs;
    if (!r.applied) {
      badSteps++;
      metrics.append({ step, train_loss: r.loss, lr, grad_norm: r.gradNorm, tokens_per_s: tokPerS, elapsed_s: trainSeconds, skipped: true });
      progress.log(`step ${step}: loss ${r.loss} / grad norm ${r.gradNorm} is not finite — update skipped (${badSteps} in a row)`);
      if (badSteps >= MAX_BAD_STEPS) {
        throw new Error(`training stopped: ${badSteps} consecutive steps with non-finite loss or gradients (lower optimizer.lr?). ` +
          `${lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}.` : 'No checkpoint was written.'}`);
      }
      continue;
    }
    badSteps = 0;
    lastTrainLoss = r.loss;
    const util = mfu(tokPerS, flopsPerToken);
    metrics.append({ step, train_loss: r.loss, lr, grad_norm: r.gradNorm, tokens_per_s: tokPerS, elapsed_s: trainSeconds, mfu: util });
    const elapsed = (performance.now() - started) / 1000;
    const eta = maxSteps !== undefined ? (elapsed / (step - (state?.step ?? 0))) * (maxSteps - step) : 0;
    progress.log(`step ${step}${maxSteps ? `/${maxSteps}` : ''} | loss ${r.loss.toFixed(4)} | lr ${lr.toExponential(2)} | grad norm ${r.gradNorm.toFixed(3)} | ` +
      `${tokPerS.toFixed(0)} tok/s | MFU ${(util * 100).toFixed(1)}% | ETA ${formatDuration(eta)}`);
    progress.update(step);
    const isLast = step >= horizon;
    if (cfg.eval.every > 0 && (step % cfg.eval.every === 0 || isLast)) evaluate();
    if ((cfg.checkpoint.every > 0 && step % cfg.checkpoint.every === 0) || isLast) checkpoint();
  }
  if (!lastCheckpoint.endsWith(`step-${String(step).padStart(7, '0')}`)) {
    if (cfg.eval.every > 0) evaluate();
    checkpoint();
  }
  progress.done();
  return { steps: step, finalTrainLoss: lastTrainLoss, finalValLoss: lastValLoss, checkpoint: lastCheckpoint, seconds: (performance.now() - started) / 1000 };
}

/** The checkpoint to resume from; stale temporaries of a killed checkpoint write are removed. */
function resumeCheckpoint(outDir: string): string {
  const root = join(outDir, CHECKPOINTS_DIR);
  if (!existsSync(join(outDir, 'latest'))) throw new Error(`--resume: ${outDir} has no checkpoint to resume from`);
  if (existsSync(root)) for (const n of readdirSync(root)) if (n.startsWith('.tmp-')) rmSync(join(root, n), { recursive: true, force: true });
  return resolveCheckpoint(outDir);
}

/**
 * Mean validation loss over the next `batches` batches of a loader (the trainer rewinds
 * its sequential val loader first, so every eval sees the same windows), and bits per
 * byte: total nats over ln 2 × the UTF-8 bytes of the predicted tokens.
 */
export function evalLoss(model: GPT, loader: TokenLoader, tokenizer: Tokenizer, batches: number, B: number, T: number): { loss: number; bpb: number } {
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const g = new Graph(false);
  let nats = 0;
  let tokens = 0;
  let bytes = 0;
  withGraph(g, () => {
    for (let i = 0; i < batches; i++) {
      loader.nextBatch(inputs, targets);
      g.reset();
      let count = 0;
      for (const t of targets) {
        if (t >= 0) {
          count++;
          bytes += tokenizer.tokenByteLength(t);
        }
      }
      nats += model.loss(inputs, targets, B, T).item() * count;
      tokens += count;
    }
  });
  return { loss: nats / Math.max(1, tokens), bpb: bytes > 0 ? nats / Math.LN2 / bytes : 0 };
}
