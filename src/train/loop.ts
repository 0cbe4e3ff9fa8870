/**
 * The training loop every stage shares: batches → steps → evals, checkpoints, metrics,
 * plots, resumable bit-for-bit. It knows nothing about what is trained or how the loss is
 * made: a stage hands it a model, an optimizer over the parameters it trains, a batch
 * source, an objective and evaluators (src/train/objective.ts). Everything that decides
 * the next weights (trained parameters, AdamW moments, step count, the source's position)
 * is in the checkpoint, and nothing else is random, so a run killed at any moment and
 * resumed ends exactly where an uninterrupted one does.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AdamW } from '../optim/adamw.js';
import { learningRate, type Schedule } from '../optim/schedule.js';
import { LATEST_FILE, loadCheckpointWeights, loadOptimizerState, saveCheckpoint } from '../model/checkpoint.js';
import { selectedNames, weightTensors, type WeightSelection } from '../model/weights.js';
import { Progress, formatDuration } from '../util/progress.js';
import { MetricsLog } from './metrics.js';
import { ObjectiveStep } from './step.js';
import { mfu } from './flops.js';
import type { BatchSource, Evaluator, Objective } from './objective.js';

/** trainer_state.json: the loop's counters plus the stage's own fields (its config, model hash, …). */
export interface TrainerState {
  step: number;
  tokens_seen: number;
  data_position: unknown;
  consecutive_bad_steps: number;
  train_seconds: number;
  [field: string]: unknown;
}

/** What goes into each checkpoint besides optimizer.safetensors and trainer_state.json. */
export interface CheckpointSpec {
  /** Which parameters of the optimizer's store model.safetensors holds (and resume restores): 'trainable' for adapters. */
  save: WeightSelection;
  /** config.json contents. */
  config: Record<string, unknown>;
  tokenizerJson?: string;
  /** Extra files (tokenizer_config.json, adapter_config.json, …). */
  files?: Record<string, string>;
}

export interface LoopOptions<M, B> {
  outDir: string;
  model: M;
  /** Over the store holding every parameter of the model; it updates the trainable groups only. */
  optimizer: AdamW;
  objective: Objective<M, B>;
  source: BatchSource<B>;
  evaluators?: ReadonlyArray<Evaluator<M>>;
  /** Micro-batches per optimizer step (gradient accumulation). */
  microBatches: number;
  /** Learning rate per step; its totalSteps is the run's horizon. */
  schedule: Schedule;
  gradClip: number;
  /** Steps to train to (undefined: until maxMinutes). */
  maxSteps?: number;
  /** Wall-clock limit of this invocation. */
  maxMinutes?: number;
  /** Evaluate every n steps and at step 0 of a fresh run; 0: only at the end. */
  evalEvery: number;
  /** Checkpoint every n steps; 0: only at the end. */
  checkpointEvery: number;
  /** Checkpoints kept (0: all). */
  keep: number;
  checkpoint: CheckpointSpec;
  /** The stage's fields for trainer_state.json; read them back with readTrainerState to resume. */
  runState: Record<string, unknown>;
  /** Continue from this checkpoint: weights, moments, the source's position and counters are restored. */
  resume?: { dir: string; state: TrainerState };
  /** Training FLOPs per counted token (MFU). */
  flopsPerToken: number;
  /** Printed first: what is trained, on what. */
  header?: string;
  /** Receives each log line (default: stderr, under a progress bar on a terminal). */
  log?: (line: string) => void;
  /** A progress line every n steps (default: each step on a terminal, about 50 per run otherwise; the last always). */
  logEvery?: number;
}

export interface LoopSummary {
  steps: number;
  finalTrainLoss: number;
  /** The last eval's metrics (merged over evaluators), empty when none ran. */
  lastEval: Record<string, number>;
  checkpoint: string;
  seconds: number;
}

const MAX_BAD_STEPS = 5;

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

export function runLoop<M, B>(o: LoopOptions<M, B>): LoopSummary {
  const { model, optimizer, source } = o;
  const store = optimizer.store;
  const evaluators = o.evaluators ?? [];
  mkdirSync(o.outDir, { recursive: true });
  const resumed = o.resume;
  if (!resumed && existsSync(join(o.outDir, LATEST_FILE))) {
    throw new Error(`${o.outDir}: already holds a run; pass --resume to continue it, or choose another --out`);
  }
  if (resumed) {
    loadCheckpointWeights(resumed.dir, store, { expect: selectedNames(store, o.checkpoint.save) });
    loadOptimizerState(resumed.dir, optimizer);
    source.restore(resumed.state.data_position);
  }
  const state = resumed?.state;
  const progress = new Progress({ total: o.maxSteps ?? 0, label: 'train', unit: 'step', whenPiped: false });
  const print = o.log ?? ((line: string) => progress.log(line));
  const horizon = o.maxSteps ?? Number.MAX_SAFE_INTEGER;
  const logEvery = o.logEvery ?? (process.stderr.isTTY ? 1 : o.maxSteps !== undefined ? Math.max(1, Math.ceil(o.maxSteps / 50)) : 10);

  const metrics = new MetricsLog(join(o.outDir, 'metrics.jsonl'));
  metrics.restore(state?.step ?? 0);
  const stepper = new ObjectiveStep(model, optimizer, o.objective, o.gradClip);
  const batches = Array.from({ length: o.microBatches }, () => source.allocate());

  const startStep = state?.step ?? 0;
  let step = startStep;
  let tokensSeen = state?.tokens_seen ?? 0;
  let badSteps = state?.consecutive_bad_steps ?? 0;
  let trainSeconds = state?.train_seconds ?? 0;
  let lastCheckpoint = resumed?.dir ?? '';
  let lastTrainLoss = NaN;
  let lastEval: Record<string, number> = {};
  const started = performance.now();
  const deadline = o.maxMinutes !== undefined ? started + o.maxMinutes * 60_000 : Infinity;
  if (o.header) print(o.header);
  if (resumed) print(`resuming from ${resumed.dir} at step ${startStep}`);

  const checkpoint = (): void => {
    const name = checkpointName(step);
    const trainerState: TrainerState = {
      ...o.runState, step, tokens_seen: tokensSeen, data_position: source.position(), consecutive_bad_steps: badSteps, train_seconds: trainSeconds,
    };
    try {
      lastCheckpoint = saveCheckpoint(o.outDir, name, {
        weights: weightTensors(store, o.checkpoint.save), config: o.checkpoint.config, tokenizerJson: o.checkpoint.tokenizerJson,
        files: o.checkpoint.files, optimizer, trainerState,
      }, o.keep);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOSPC' ? 'the disk is full' : (err as Error).message;
      throw new Error(`writing checkpoint ${name} failed: ${why}. ${lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}.` : 'No checkpoint was written.'}`);
    }
    print(`saved ${lastCheckpoint}`);
  };

  const evaluate = (): void => {
    const merged: Record<string, number> = {};
    for (const e of evaluators) {
      const r = e.run(model, step);
      Object.assign(merged, r.metrics ?? {});
      for (const line of r.lines ?? []) print(line);
    }
    if (Object.keys(merged).length > 0) {
      lastEval = merged;
      metrics.append({ step, ...merged });
    }
    metrics.plot(o.outDir);
  };

  // Curves start at the untrained model.
  if (!resumed && o.evalEvery > 0 && evaluators.length > 0) evaluate();
  let lastLine = '';
  let lastLogged = -1;
  while (step < horizon && performance.now() < deadline) {
    const t0 = performance.now();
    for (const b of batches) source.fill(b);
    const lr = learningRate(o.schedule, step);
    const r = stepper.run(batches, lr);
    step++;
    tokensSeen += r.tokens;
    const stepMs = performance.now() - t0;
    trainSeconds += stepMs / 1000;
    const tokPerS = (r.tokens * 1000) / stepMs;
    if (!r.applied) {
      badSteps++;
      metrics.append({ step, train_loss: r.loss, lr, grad_norm: r.gradNorm, tokens_per_s: tokPerS, elapsed_s: trainSeconds, skipped: true });
      print(`step ${step}: loss ${r.loss} / grad norm ${r.gradNorm} is not finite — update skipped (${badSteps} in a row)`);
      if (badSteps >= MAX_BAD_STEPS) {
        throw new Error(`training stopped: ${badSteps} consecutive steps with non-finite loss or gradients (lower optimizer.lr?). ` +
          `${lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}.` : 'No checkpoint was written.'}`);
      }
      continue;
    }
    badSteps = 0;
    lastTrainLoss = r.loss;
    const util = mfu(tokPerS, o.flopsPerToken);
    metrics.append({ step, train_loss: r.loss, lr, grad_norm: r.gradNorm, tokens_per_s: tokPerS, elapsed_s: trainSeconds, mfu: util, ...r.metrics });
    const elapsed = (performance.now() - started) / 1000;
    const eta = o.maxSteps !== undefined ? (elapsed / (step - startStep)) * (o.maxSteps - step) : 0;
    const extra = Object.entries(r.metrics).map(([k, v]) => ` | ${k} ${v.toFixed(4)}`).join('');
    lastLine = `step ${step}${o.maxSteps ? `/${o.maxSteps}` : ''} | loss ${r.loss.toFixed(4)}${extra} | lr ${lr.toExponential(2)} | grad norm ${r.gradNorm.toFixed(3)} | ` +
      `${tokPerS.toFixed(0)} tok/s | MFU ${(util * 100).toFixed(1)}% | ETA ${formatDuration(eta)}`;
    const isLast = step >= horizon;
    if (step % logEvery === 0 || step === startStep + 1 || isLast) {
      print(lastLine);
      lastLogged = step;
    }
    if (!o.log) progress.update(step);
    if ((o.evalEvery > 0 && step % o.evalEvery === 0) || isLast) evaluate();
    if ((o.checkpointEvery > 0 && step % o.checkpointEvery === 0) || isLast) checkpoint();
  }
  if (lastLine && lastLogged !== step) print(lastLine);
  if (!lastCheckpoint.endsWith(checkpointName(step))) {
    if (evaluators.length > 0) evaluate();
    checkpoint();
  }
  if (!o.log) progress.done();
  return { steps: step, finalTrainLoss: lastTrainLoss, lastEval, checkpoint: lastCheckpoint, seconds: (performance.now() - started) / 1000 };
}
