/**
 * A reward model: the SFT model's transformer with a scalar head on the final hidden state
 * of a sequence's last token (its closing <|end|>), trained on preference pairs with the
 * Bradley–Terry loss −log σ(r_chosen − r_rejected) (the preferenceLoss op with β = 1 and no
 * reference). The head, `score.weight` (1, C) as in Hugging Face's
 * GPT2ForSequenceClassification, is declared in the GPT's own parameter store, so one
 * optimizer and one checkpoint hold everything; the SFT weights load through the partial
 * mode, which must report exactly the head as missing. On the shared loop:
 *   batch source  the DPO pair rows (src/align/pair-rows.ts), each sequence ending in <|end|>
 *   objective     hidden states → rowDot at each sequence's last token → Bradley–Terry
 *   evaluator     held-out pair accuracy (the share of pairs scored chosen > rejected)
 * `llmforge generate --best-of N --reward-model DIR` keeps the best-scored of N samples.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { Graph, withGraph } from '../autograd/graph.js';
import * as ops from '../autograd/ops.js';
import { tokenizerConfig, type ChatMessage, type RenderedChat } from '../model/chat.js';
import { configHash, loadCheckpointWeights, readCheckpointConfig, readConfigJson, resolveCheckpoint } from '../model/checkpoint.js';
import { hfConfig } from '../model/hf-config.js';
import type { GPTConfig } from '../nn/config.js';
import { GPT } from '../nn/gpt.js';
import type { Tensor } from '../tensor/tensor.js';
import { initNormal } from '../nn/parameters.js';
import { loadTokenizer } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { TrainConfigSchema, parseStageConfig, openResume, runLoop, type Evaluator, type Objective, type TrainerState, adamwFor, scheduleFor, stepPlan } from '../train/index.js';
import { allPairBatches, checkPairsFit, PairBatchSource, type PairRows } from './pair-rows.js';
import { loadPairData, renderReply } from './pair-setup.js';
import { DPO_DEFAULTS } from './dpo.js';

export const HEAD = 'score.weight';

const RewardSection = z
  .object({
    epochs: z.number().positive().default(1),
    valFraction: z.number().min(0).lt(1).default(0.05),
    valMax: z.number().int().min(1).default(256),
  })
  .strict();

export const RewardConfigSchema = TrainConfigSchema.omit({ model: true }).extend({
  reward: RewardSection.default({ epochs: 1, valFraction: 0.05, valMax: 256 }),
});
export type RewardConfig = z.infer<typeof RewardConfigSchema>;

/** DPO's defaults but a larger step: the head starts from scratch, where DPO only nudges a trained model. */
export const REWARD_DEFAULTS = { ...DPO_DEFAULTS, optimizer: { ...DPO_DEFAULTS.optimizer, lr: 1e-4 } };

export function parseRewardConfig(value: unknown, source: string): RewardConfig {
  return parseStageConfig(RewardConfigSchema, REWARD_DEFAULTS, value, source, 'the reward model is the --init-from model plus a head');
}

/** A GPT of `config` with the scalar head in its store. */
export function rewardGPT(config: GPTConfig): GPT {
  return new GPT(config, { extend: (s, c) => void s.declare(HEAD, [1, c.nEmbd], 'noDecay', initNormal(1 / Math.sqrt(c.nEmbd))) });
}

/** Scores of sequences (2·pairs) at their last tokens, on the tape when the graph records. */
export function rowScores(model: GPT, rows: PairRows): Tensor {
  const h = model.hidden(rows.inputs, rows.B, rows.T, { positions: rows.positions, segStart: rows.segStart }); // (B·T, C)
  return ops.rowDot(h, rows.last.subarray(0, 2 * rows.pairs), model.params.get(HEAD)); // (2·pairs)
}

function pairStats(s: ArrayLike<number>, pairs: number): Record<string, number> {
  let acc = 0;
  let margin = 0;
  for (let k = 0; k < pairs; k++) {
    if (s[2 * k] > s[2 * k + 1]) acc++;
    margin += s[2 * k] - s[2 * k + 1];
  }
  return { accuracy: acc / pairs, margin: margin / pairs };
}

export function bradleyTerryObjective(): Objective<GPT, PairRows> {
  return (m, rows) => {
    const s = rowScores(m, rows);
    return { loss: ops.preferenceLoss(s, rows.ref, 1, 'sigmoid'), tokens: rows.tokens, metrics: pairStats(s.data, rows.pairs) };
  };
}

export interface RewardTrainOptions {
  initFrom: string;
  data: string[];
  valData?: string[];
  outDir: string;
  config: RewardConfig;
  resume?: boolean;
  skipBadLines?: boolean;
  log?: (line: string) => void;
}

export interface RewardSummary {
  steps: number;
  pairs: number;
  heldOut: number;
  finalTrainLoss: number;
  /** Held-out pair accuracy at the end (null without held-out pairs). */
  accuracy: number | null;
  checkpoint: string;
  seconds: number;
}

export async function rewardTrain(o: RewardTrainOptions): Promise<RewardSummary> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cfg = o.config;
  let resume: { dir: string; state: TrainerState } | undefined;
  if (o.resume) resume = openResume(o.outDir);
  const dir = resolveCheckpoint(resume?.dir ?? o.initFrom);
  const model = rewardGPT(readCheckpointConfig(dir)).init(cfg.seed);
  if (!resume) {
    const r = loadCheckpointWeights(dir, model.params, { partial: true });
    if (r.unused.length > 0 || r.missing.join() !== HEAD) {
      throw new Error(`--init-from ${dir}: expected the GPT's weights without a reward head; missing ${r.missing.join(', ') || 'none'}, unused ${r.unused.join(', ') || 'none'}`);
    }
    log(`loaded ${r.loaded.length} tensors from ${dir}; ${HEAD} (1×${model.config.nEmbd}) starts fresh`);
  }
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new Error(`${o.resume ? '--resume' : '--init-from'} ${dir}: the checkpoint has no tokenizer.json`);
  const tokenizer = await loadTokenizer(tokPath);
  const T = model.config.contextLength;
  const hash = configHash(model.config);
  const r = cfg.reward;
  const data = await loadPairData({ tokenizer, tokPath, data: o.data, valData: o.valData, valFraction: r.valFraction, valMax: r.valMax, T, scoreToken: true, skipBadLines: o.skipBadLines, log });
  if (data.dropped > 0) log(`warning: ${data.dropped} pair(s) dropped: a reply starts beyond the context of ${T} tokens`);
  const B = cfg.batch.microBatch;
  checkPairsFit(data.trainSeqs, B, T, (p) => data.train[p].where);
  checkPairsFit(data.valSeqs, B, T, (p) => data.val[p].where);
  if (resume) {
    const s = resume.state;
    if (s.stage !== 'reward') throw new Error(`--resume: ${resume.dir} is not a reward model run (stage ${String(s.stage)})`);
    if (s.data_hash !== data.hash) throw new Error(`--resume: the training pairs changed since ${resume.dir} was written; start a new run directory`);
  }
  const pad = data.tok.pad ?? 0;
  const { accum } = stepPlan(cfg, T);
  // No reference model: the ref scores are zeros, so preferenceLoss is −log σ(r_c − r_r).
  const source = new PairBatchSource(data.trainSeqs, new Float64Array(data.trainSeqs.length), B, T, cfg.seed, pad);
  let batchesPerEpoch = 0;
  for (const _ of allPairBatches(data.trainSeqs, B, T, pad, null)) batchesPerEpoch++;
  const maxSteps = cfg.limits.maxSteps ?? Math.max(1, Math.ceil((r.epochs * batchesPerEpoch) / accum));
  const warmup = Math.min(cfg.schedule.warmupSteps, Math.floor(maxSteps / 5));
  const schedule = scheduleFor(cfg, warmup, maxSteps);
  const optimizer = adamwFor(model.params, cfg);
  const evaluators: Array<Evaluator<GPT>> = [];
  if (data.val.length > 0) {
    const valSeqs = data.valSeqs;
    evaluators.push({
      name: 'held-out pairs',
      run(m, step) {
        const s = sequenceScores(m, valSeqs, B, pad);
        const st = pairStats(s, valSeqs.length / 2);
        return {
          metrics: { val_accuracy: st.accuracy, val_margin: st.margin },
          lines: [`eval step ${step}: held-out pair accuracy ${(st.accuracy * 100).toFixed(1)}% of ${valSeqs.length / 2}, margin ${st.margin.toFixed(4)}`],
        };
      },
    });
  }
  const res = runLoop({
    outDir: o.outDir, model, optimizer, objective: bradleyTerryObjective(), source, evaluators,
    microBatches: accum, schedule, gradClip: cfg.optimizer.gradClip, maxSteps, maxMinutes: cfg.limits.maxMinutes,
    evalEvery: cfg.eval.every, checkpointEvery: cfg.checkpoint.every, keep: cfg.checkpoint.keep,
    checkpoint: {
      save: 'all', config: { ...hfConfig(model.config), num_labels: 1, llmforge_reward: { head: HEAD, token: 'last (<|end|>)' } },
      tokenizerJson: tokenizer.toTokenizerJson(),
      files: { 'tokenizer_config.json': `${JSON.stringify(tokenizerConfig(tokenizer, T), null, 2)}\n` },
    },
    runState: { stage: 'reward', init_from: resume?.state.init_from ?? o.initFrom, model_config_hash: hash, data_hash: data.hash, config: cfg },
    resume, flopsPerToken: model.flopsPerToken(T), log: o.log,
    header: `reward model from ${dir}: ${(model.params.count / 1e6).toFixed(2)}M parameters; ${data.train.length} pairs (${data.val.length} held out), ` +
      `about ${batchesPerEpoch} batches of ${B}×${T} per epoch, ${maxSteps} steps, lr ${cfg.optimizer.lr}`,
  });
  return {
    steps: res.steps, pairs: data.train.length, heldOut: data.val.length, finalTrainLoss: res.finalTrainLoss,
    accuracy: res.lastEval.val_accuracy ?? null, checkpoint: res.checkpoint, seconds: res.seconds,
  };
}

/** Scores of interleaved pair sequences (as rendered for training), without a tape. */
export function sequenceScores(model: GPT, seqs: readonly RenderedChat[], B: number, pad: number): Float64Array {
  const out = new Float64Array(seqs.length);
  const g = new Graph(false);
  withGraph(g, () => {
    for (const rows of allPairBatches(seqs, B, model.config.contextLength, pad, null)) {
      g.reset();
      const s = rowScores(model, rows);
      for (let k = 0; k < rows.pairs; k++) {
        out[2 * rows.pairIndex[k]] = s.data[2 * k];
        out[2 * rows.pairIndex[k] + 1] = s.data[2 * k + 1];
      }
    }
  });
  return out;
}

export interface RewardModel {
  model: GPT;
  tokenizer: Tokenizer;
  dir: string;
}

/** A reward model checkpoint (strict: the GPT and its head, nothing else). */
export async function loadRewardModel(path: string): Promise<RewardModel> {
  const dir = resolveCheckpoint(path);
  if (readConfigJson(dir).llmforge_reward === undefined) {
    throw new Error(`--reward-model ${path}: ${join(dir, 'config.json')} is not a reward model's (no "llmforge_reward"; train one with llmforge reward train)`);
  }
  const model = rewardGPT(readCheckpointConfig(dir));
  loadCheckpointWeights(dir, model.params);
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new Error(`--reward-model ${path}: ${dir} has no tokenizer.json`);
  return { model, tokenizer: await loadTokenizer(tokPath), dir };
}

/**
 * Scores of full token sequences (scored at their last token), a batch at a time in
 * padded rows: padding only follows a sequence, so causal attention never sees it.
 */
export function scoreSequences(rm: RewardModel, seqs: readonly number[][], batch = 16): number[] {
  const C = rm.model.config.contextLength;
  const out: number[] = [];
  const g = new Graph(false);
  withGraph(g, () => {
    for (let first = 0; first < seqs.length; first += batch) {
      const chunk = seqs.slice(first, first + batch).map((s) => (s.length > C ? s.slice(s.length - C) : s)); // the end matters most
      const T = Math.max(1, ...chunk.map((s) => s.length));
      const B = chunk.length;
      const ids = new Int32Array(B * T);
      const last = new Int32Array(B);
      chunk.forEach((s, b) => {
        ids.set(s, b * T);
        last[b] = b * T + Math.max(0, s.length - 1);
      });
      g.reset();
      const h = rm.model.hidden(ids, B, T);
      const s = ops.rowDot(h, last, rm.model.params.get(HEAD));
      out.push(...s.data);
    }
  });
  return out;
}

/** The reward of a chat reply: prompt messages + reply + <|end|>, scored at the <|end|>. */
export function scoreReplies(rm: RewardModel, items: ReadonlyArray<{ prompt: ChatMessage[]; reply: string }>): number[] {
  return scoreSequences(rm, items.map((it) => renderReply(rm.tokenizer, it.prompt, it.reply).ids));
}
