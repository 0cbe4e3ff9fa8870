/**
 * Direct preference optimization (Rafailov et al., 2023): the policy, initialised from the
 * SFT model, learns to raise the log-likelihood of chosen replies relative to rejected ones,
 * measured against the SFT model itself (the reference):
 *
 *   h    = [log π(y_c|x) - log π_ref(y_c|x)] - [log π(y_r|x) - log π_ref(y_r|x)]
 *   loss = -log σ(β·h)            (sigmoid, DPO)
 *        = (h - 1/(2β))²          (ipo, Azar et al., 2023)
 *
 * with log π(y|x) the summed log-probs of the reply tokens and their <|end|>. The reference
 * log-probs never change, so they are computed once, by the initial model in one pass
 * before training, and stored in the run folder (reference_logps.json): resume reads them
 * back — no second model is ever in memory. On the shared loop (src/train/loop.ts):
 *   batch source  pairs packed into SFT-shaped rows (src/align/pair-rows.ts)
 *   objective     per-token log-probs → sums per reply → preferenceLoss; logs TRL's
 *                 rewards_chosen = β·(log π - log π_ref)(y_c), rewards_rejected, reward_accuracy,
 *                 reward_margin
 *   evaluator     the same loss and rewards on held-out pairs (val_loss, val_reward_*)
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Graph, withGraph } from '../autograd/graph.js';
import * as ops from '../autograd/ops.js';
import { tokenizerConfig, type RenderedChat } from '../model/chat.js';
import { configHash, loadModel } from '../model/checkpoint.js';
import { hfConfig } from '../model/hf-config.js';
import type { GPT } from '../nn/gpt.js';
import { Tensor } from '../tensor/tensor.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { TrainConfigSchema, parseStageConfig, openResume, runLoop, type Evaluator, type Objective, type TrainerState, adamwFor, scheduleFor, stepPlan } from '../train/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import { allPairBatches, checkPairsFit, PairBatchSource, type PairRows } from './pair-rows.js';
import { loadPairData } from './pair-setup.js';

const DpoSection = z
  .object({
    /** Strength of the pull towards the reference (larger: stay closer). */
    beta: z.number().positive().default(0.1),
    loss: z.enum(['sigmoid', 'ipo']).default('sigmoid'),
    /**
     * Weight of an SFT term on the chosen replies (mean −log-prob per token), added to the
     * preference loss: TRL's rpo_alpha (Pang et al., 2024). It keeps the chosen replies likely
     * while the margin grows, so the turn's <|end|> is not pushed down with the rejected reply's.
     */
    sftWeight: z.number().min(0).default(0),
    /** Passes over the training pairs (when no step limit is set). */
    epochs: z.number().positive().default(1),
    /** Share of the pairs held out for the eval when no --val-data is given. */
    valFraction: z.number().min(0).lt(1).default(0.05),
    valMax: z.number().int().min(1).default(256),
  })
  .strict();

export const DpoConfigSchema = TrainConfigSchema.omit({ model: true }).extend({
  dpo: DpoSection.default({ beta: 0.1, loss: 'sigmoid', sftWeight: 0, epochs: 1, valFraction: 0.05, valMax: 256 }),
});
export type DpoConfig = z.infer<typeof DpoConfigSchema>;

/** Small models need a larger step than the 5e-7 of large-model recipes; warmup is a tenth of a short run. */
export const DPO_DEFAULTS = {
  optimizer: { lr: 2e-5, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClip: 1 },
  schedule: { kind: 'cosine', warmupSteps: 10, decayFraction: 0.2 },
  batch: { microBatch: 8, gradAccum: 1 },
  eval: { every: 50, batches: 20, samplePrompts: [], sampleTokens: 0 },
  checkpoint: { every: 500, keep: 2 },
  seed: 1337,
};

export function parseDpoConfig(value: unknown, source: string): DpoConfig {
  return parseStageConfig(DpoConfigSchema, DPO_DEFAULTS, value, source, 'DPO trains the --init-from model as it is');
}

export interface DpoOptions {
  initFrom: string;
  data: string[];
  valData?: string[];
  outDir: string;
  config: DpoConfig;
  resume?: boolean;
  skipBadLines?: boolean;
  log?: (line: string) => void;
}

export interface DpoSummary {
  steps: number;
  epochs: number;
  pairs: number;
  heldOut: number;
  finalTrainLoss: number;
  /** The last eval's held-out metrics (val_loss, val_reward_accuracy, …). */
  eval: Record<string, number>;
  checkpoint: string;
  seconds: number;
  /** Seconds spent on the reference pass (0 when read back on resume). */
  referenceSeconds: number;
}

export const REFERENCE_FILE = 'reference_logps.json';

interface ReferenceFile {
  version: 1;
  init_from: string;
  model_config_hash: string;
  data_hash: string;
  /** Summed reply log-probs of the reference model, chosen/rejected interleaved. */
  train: number[];
  val: number[];
}

/** Summed reply log-probs of every sequence (interleaved pairs), batch by batch, without a tape. */
export function sequenceLogProbs(model: GPT, seqs: readonly RenderedChat[], B: number, pad: number, onBatch?: (pairsDone: number) => void): Float64Array {
  const T = model.config.contextLength;
  const out = new Float64Array(seqs.length);
  const g = new Graph(false);
  let done = 0;
  withGraph(g, () => {
    for (const rows of allPairBatches(seqs, B, T, pad, null)) {
      g.reset();
      const lp = model.tokenLogProbs(rows.inputs, rows.targets, B, T, { positions: rows.positions, segStart: rows.segStart });
      const sums = ops.segmentSum(lp, rows.seg, 2 * rows.pairs);
      for (let k = 0; k < rows.pairs; k++) {
        out[2 * rows.pairIndex[k]] = sums.data[2 * k];
        out[2 * rows.pairIndex[k] + 1] = sums.data[2 * k + 1];
      }
      done += rows.pairs;
      onBatch?.(done);
    }
  });
  return out;
}

/** TRL's reward statistics of a batch: rewards are β·(policy - reference) log-ratios. */
export function rewardStats(sums: ArrayLike<number>, ref: ArrayLike<number>, pairs: number, beta: number): Record<string, number> {
  let rc = 0;
  let rr = 0;
  let acc = 0;
  for (let k = 0; k < pairs; k++) {
    const c = beta * (sums[2 * k] - ref[2 * k]);
    const r = beta * (sums[2 * k + 1] - ref[2 * k + 1]);
    rc += c;
    rr += r;
    if (c > r) acc++;
  }
  return { rewards_chosen: rc / pairs, rewards_rejected: rr / pairs, reward_accuracy: acc / pairs, reward_margin: (rc - rr) / pairs };
}

export function dpoObjective(beta: number, kind: 'sigmoid' | 'ipo', sftWeight = 0): Objective<GPT, PairRows> {
  let nllWeights = new Float32Array(0);
  return (m, rows) => {
    const lp = m.tokenLogProbs(rows.inputs, rows.targets, rows.B, rows.T, { positions: rows.positions, segStart: rows.segStart }); // (B·T)
    const n = 2 * rows.pairs;
    const sums = ops.segmentSum(lp, rows.seg, n); // (2·pairs)
    const ref = rows.ref.subarray(0, n);
    const metrics = rewardStats(sums.data, ref, rows.pairs, beta);
    let loss = ops.preferenceLoss(sums, ref, beta, kind);
    if (sftWeight > 0) {
      // α · mean over pairs of the chosen reply's mean −log-prob per token: a constant weight per sequence.
      if (nllWeights.length < rows.lengths.length) nllWeights = new Float32Array(rows.lengths.length);
      for (let k = 0; k < rows.pairs; k++) {
        nllWeights[2 * k] = -sftWeight / (rows.pairs * Math.max(1, rows.lengths[2 * k]));
        nllWeights[2 * k + 1] = 0;
      }
      const nll = ops.sum(ops.mul(sums, new Tensor(nllWeights.subarray(0, n), [n])));
      metrics.chosen_nll = nll.item() / sftWeight;
      loss = ops.add(loss, nll);
    }
    return { loss, tokens: rows.trained, metrics };
  };
}

function readReference(path: string, expect: Omit<ReferenceFile, 'version' | 'train' | 'val'>, trainN: number, valN: number): ReferenceFile {
  let r: ReferenceFile;
  try {
    r = JSON.parse(readFileSync(path, 'utf8')) as ReferenceFile;
  } catch (err) {
    throw new Error(`${path}: cannot read the reference log-probs (${(err as Error).message}); start a new run directory`);
  }
  if (r.version !== 1 || !Array.isArray(r.train) || !Array.isArray(r.val)) throw new Error(`${path}: not a reference log-probs file of this version`);
  if (r.data_hash !== expect.data_hash || r.train.length !== trainN || r.val.length !== valN) {
    throw new Error(`${path}: computed for other preference data than this run's; start a new run directory`);
  }
  if (r.model_config_hash !== expect.model_config_hash) throw new Error(`${path}: computed with another model config than this run's`);
  if (![...r.train, ...r.val].every(Number.isFinite)) throw new Error(`${path}: holds a value that is not a finite number`);
  return r;
}

export async function dpo(o: DpoOptions): Promise<DpoSummary> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cfg = o.config;
  const d = cfg.dpo;
  let resume: { dir: string; state: TrainerState } | undefined;
  if (o.resume) resume = openResume(o.outDir);
  const { model, dir } = loadModel(resume?.dir ?? o.initFrom);
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new Error(`${o.resume ? '--resume' : '--init-from'} ${dir}: the checkpoint has no tokenizer.json`);
  const tokenizer = await loadTokenizer(tokPath);
  const T = model.config.contextLength;
  const hash = configHash(model.config);
  const data = await loadPairData({ tokenizer, tokPath, data: o.data, valData: o.valData, valFraction: d.valFraction, valMax: d.valMax, T, skipBadLines: o.skipBadLines, log });
  if (data.dropped > 0) log(`warning: ${data.dropped} pair(s) dropped: a reply starts beyond the context of ${T} tokens`);
  const B = cfg.batch.microBatch;
  checkPairsFit(data.trainSeqs, B, T, (p) => data.train[p].where);
  checkPairsFit(data.valSeqs, B, T, (p) => data.val[p].where);
  const pad = data.tok.pad ?? 0;

  if (resume) {
    const s = resume.state;
    if (s.stage !== 'dpo') throw new Error(`--resume: ${resume.dir} is not a DPO run (stage ${String(s.stage)})`);
    if (s.data_hash !== data.hash) throw new Error(`--resume: the training pairs changed since ${resume.dir} was written; start a new run directory`);
    if (s.model_config_hash !== hash) throw new Error(`--resume: ${resume.dir}: the model config does not match the run's`);
  }
  const refPath = join(o.outDir, REFERENCE_FILE);
  let ref: ReferenceFile;
  let referenceSeconds = 0;
  if (resume) {
    ref = readReference(refPath, { init_from: String(resume.state.init_from), model_config_hash: hash, data_hash: data.hash }, data.trainSeqs.length, data.valSeqs.length);
  } else {
    // The run folder must be new: runLoop refuses an existing run, but the reference file is written first.
    if (existsSync(join(o.outDir, 'latest'))) throw new Error(`${o.outDir}: already holds a run; pass --resume to continue it, or choose another --out`);
    const t0 = performance.now();
    const total = data.train.length + data.val.length;
    const bar = new Progress({ total, label: 'reference log-probs', unit: 'pair' });
    const train = sequenceLogProbs(model, data.trainSeqs, B, pad, (n) => bar.update(n));
    const val = data.valSeqs.length > 0 ? sequenceLogProbs(model, data.valSeqs, B, pad, (n) => bar.update(data.train.length + n)) : new Float64Array(0);
    bar.done();
    referenceSeconds = (performance.now() - t0) / 1000;
    ref = { version: 1, init_from: o.initFrom, model_config_hash: hash, data_hash: data.hash, train: [...train], val: [...val] };
    mkdirSync(o.outDir, { recursive: true });
    writeFileAtomic(refPath, `${JSON.stringify(ref)}\n`);
    log(`reference log-probs of ${total} pairs computed in ${referenceSeconds.toFixed(1)} s → ${refPath}`);
  }
  const trainRef = Float64Array.from(ref.train);
  const valRef = Float64Array.from(ref.val);

  const { accum } = stepPlan(cfg, T);
  const source = new PairBatchSource(data.trainSeqs, trainRef, B, T, cfg.seed, pad);
  // Batches per epoch: pairs are packed in data order for the count (shuffling changes it by a few at most).
  let batchesPerEpoch = 0;
  for (const _ of allPairBatches(data.trainSeqs, B, T, pad, null)) batchesPerEpoch++;
  const maxSteps = cfg.limits.maxSteps ?? Math.max(1, Math.ceil((d.epochs * batchesPerEpoch) / accum));
  let warmup = cfg.schedule.warmupSteps;
  if (warmup > Math.floor(maxSteps / 5)) {
    warmup = Math.floor(maxSteps / 5);
    log(`warmup clamped to ${warmup} steps (a fifth of the ${maxSteps}-step run; ${cfg.schedule.warmupSteps} asked)`);
  }
  const schedule = scheduleFor(cfg, warmup, maxSteps);
  const optimizer = adamwFor(model.params, cfg);
  const evaluators: Array<Evaluator<GPT>> = [];
  if (data.val.length > 0) evaluators.push(heldOutEvaluator(data.valSeqs, valRef, B, pad, d.beta, d.loss));

  const r = runLoop({
    outDir: o.outDir, model, optimizer, objective: dpoObjective(d.beta, d.loss, d.sftWeight), source, evaluators,
    microBatches: accum, schedule, gradClip: cfg.optimizer.gradClip, maxSteps, maxMinutes: cfg.limits.maxMinutes,
    evalEvery: cfg.eval.every, checkpointEvery: cfg.checkpoint.every, keep: cfg.checkpoint.keep,
    checkpoint: {
      save: 'all', config: hfConfig(model.config), tokenizerJson: tokenizer.toTokenizerJson(),
      files: { 'tokenizer_config.json': `${JSON.stringify(tokenizerConfig(tokenizer, T), null, 2)}\n` },
    },
    runState: { stage: 'dpo', init_from: resume?.state.init_from ?? o.initFrom, model_config_hash: hash, data_hash: data.hash, config: cfg },
    resume, flopsPerToken: model.flopsPerToken(T), log: o.log,
    header: `DPO (${d.loss}, β ${d.beta}${d.sftWeight > 0 ? `, SFT weight ${d.sftWeight}` : ''}) of ${dir}: ${(model.params.count / 1e6).toFixed(2)}M parameters, context ${T}; ` +
      `${data.train.length} pairs (${Object.entries(data.origins).map(([k, v]) => `${v} ${k}`).join(', ')}; ${data.val.length} held out) ` +
      `in about ${batchesPerEpoch} batches of ${B}×${T} per epoch, ${accum} per step, ${maxSteps} steps, lr ${cfg.optimizer.lr}`,
  });
  return {
    steps: r.steps, epochs: (r.steps * accum) / batchesPerEpoch, pairs: data.train.length, heldOut: data.val.length, finalTrainLoss: r.finalTrainLoss,
    eval: r.lastEval, checkpoint: r.checkpoint, seconds: r.seconds, referenceSeconds,
  };
}

/** The DPO loss and rewards on held-out pairs (against their stored reference log-probs). */
function heldOutEvaluator(seqs: readonly RenderedChat[], ref: Float64Array, B: number, pad: number, beta: number, kind: 'sigmoid' | 'ipo'): Evaluator<GPT> {
  return {
    name: 'held-out pairs',
    run(model, step) {
      const sums = sequenceLogProbs(model, seqs, B, pad);
      const pairs = seqs.length / 2;
      const s = rewardStats(sums, ref, pairs, beta);
      const l = withGraph(new Graph(false), () => ops.preferenceLoss(new Tensor(Float32Array.from(sums), [2 * pairs]), Float32Array.from(ref), beta, kind).item());
      const metrics = { val_loss: l, ...Object.fromEntries(Object.entries(s).map(([k, v]) => [`val_${k}`, v])) };
      return {
        metrics,
        lines: [`eval step ${step}: held-out ${pairs} pairs: loss ${l.toFixed(4)}, reward accuracy ${(s.reward_accuracy * 100).toFixed(1)}%, ` +
          `margin ${s.reward_margin.toFixed(4)} (chosen ${s.rewards_chosen.toFixed(4)}, rejected ${s.rewards_rejected.toFixed(4)})`],
      };
    },
  };
}
