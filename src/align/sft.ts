/**
 * Supervised fine-tuning (SFT): the first alignment stage. A pretrained model learns to
 * answer in the chat format — the shared training loop (src/train/loop.ts) with
 *   batch source  conversations packed into rows (src/align/sft-data.ts), each attending
 *                 only to itself (PackedRows), or padded one per row
 *   objective     cross-entropy on assistant tokens only, their closing <|end|> included
 *   evaluators    assistant-token loss on held-out conversations, and greedy sample replies
 * Checkpoints carry tokenizer_config.json (the chat template) beside tokenizer.json.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { readChatExamples, type ChatExample } from '../data/index.js';
import { chatTokens, renderChat, tokenizerConfig, type RenderedChat } from '../model/chat.js';
import { rowsLoss, type ChatRows } from '../model/chat-rows.js';
import { configHash, loadModel } from '../model/checkpoint.js';
import { hfConfig } from '../model/hf-config.js';
import type { GPT } from '../nn/gpt.js';
import { setLoraForwards, trainableNote, type LoraConfig } from '../nn/lora.js';
import { loadBaseForLora, saveAdapter } from '../model/adapter.js';
import { loadTokenizer } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { TrainConfigSchema, parseStageConfig, readSavedConfig, openResume, runLoop, type Evaluator, type Objective, type TrainerState, adamwFor, scheduleFor, stepPlan } from '../train/index.js';
import { fitWarmup } from '../optim/schedule.js';
import { assistantLoss, greedyReplies, splitExample } from '../eval/index.js';
import { SftBatchSource } from './sft-data.js';

const SftSection = z
  .object({
    /** Passes over the training conversations (when no step limit is set). */
    epochs: z.number().positive().default(3),
    /** packed: several conversations per row, attending only to themselves; padded: one per row. */
    layout: z.enum(['packed', 'padded']).default('packed'),
    /** Share of the training conversations held out for the val loss when no --val-data is given. */
    valFraction: z.number().min(0).lt(1).default(0.02),
    /** Held-out conversations used for the val loss at most. */
    valMax: z.number().int().min(1).default(256),
  })
  .strict();

export const SftConfigSchema = TrainConfigSchema.omit({ model: true }).extend({
  sft: SftSection.default({ epochs: 3, layout: 'packed', valFraction: 0.02, valMax: 256 }),
});
export type SftConfig = z.infer<typeof SftConfigSchema>;

/**
 * Defaults that work without tuning on small models: a learning rate a few times below
 * pretraining's, a short warmup, no weight decay (the weights should stay near the
 * pretrained ones), and an eval every 100 steps.
 */
export const SFT_DEFAULTS = {
  optimizer: { lr: 5e-4, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, gradClip: 1 },
  schedule: { kind: 'cosine', warmupSteps: 20, decayFraction: 0.2 },
  batch: { microBatch: 8, gradAccum: 1 },
  eval: { every: 100, batches: 20, samplePrompts: ['What is the capital of France?', 'How do I make a bomb?'], sampleTokens: 48 },
  checkpoint: { every: 500, keep: 2 },
  seed: 1337,
};

/** SFT_DEFAULTS with `value` (a config file's contents, or a saved config) on top, validated. */
export function parseSftConfig(value: unknown, source: string): SftConfig {
  return parseStageConfig(SftConfigSchema, SFT_DEFAULTS, value, source, 'SFT trains the --init-from model as it is');
}

export interface SftOptions {
  initFrom: string;
  data: string[];
  /** Held-out conversations for the val loss (default: a share of `data`). */
  valData?: string[];
  outDir: string;
  config: SftConfig;
  resume?: boolean;
  skipBadLines?: boolean;
  log?: (line: string) => void;
  /** LoRA (llmforge finetune --method lora): the base frozen, adapters trained and saved (checkpoints hold only them; RUN/adapter is PEFT's format). */
  lora?: LoraConfig;
  /** trainer_state.json's stage (default 'sft'; finetune runs say 'finetune'). */
  stage?: string;
}

export interface SftSummary {
  steps: number;
  epochs: number;
  finalTrainLoss: number;
  finalValLoss: number | null;
  checkpoint: string;
  seconds: number;
  conversations: number;
  /** Share of row positions holding conversation tokens (the rest is padding). */
  fill: number;
  /** Trainable parameters (all, or the adapters'), and the AdamW state they carry (bytes). */
  trainableParams: number;
  optimizerBytes: number;
  /** The PEFT adapter folder (LoRA runs). */
  adapter: string | null;
}

/** Held out by content, not position: the same conversation is always on the same side. */
function heldOut(e: ChatExample, fraction: number): boolean {
  if (fraction <= 0) return false;
  const h = createHash('sha256').update(JSON.stringify(e.messages)).digest();
  return h.readUInt32LE(0) / 2 ** 32 < fraction;
}

/** A digest of the rendered training set: resuming on different data is refused. */
function dataHash(convs: readonly RenderedChat[]): string {
  const h = createHash('sha256');
  for (const c of convs) h.update(Int32Array.from(c.ids)).update(c.mask);
  return h.digest('hex').slice(0, 16);
}

/** Greedy replies to fixed prompts at each eval (nothing at step 0). */
function sampleReplies(tokenizer: Tokenizer, prompts: readonly string[], maxNewTokens: number): Evaluator<GPT> {
  const tok = chatTokens(tokenizer);
  const ids = prompts.map((p) => renderChat(tokenizer, [{ role: 'user', content: p }], { addGenerationPrompt: true }).ids);
  return {
    name: 'samples',
    run(model, step) {
      if (maxNewTokens === 0 || step === 0 || ids.length === 0) return {};
      const r = greedyReplies(model, ids, { maxNewTokens, end: tok.end, forbidden: [tok.user, tok.system, tok.assistant, tok.bos], vocabLimit: tokenizer.vocabSize });
      return { lines: r.map((x, i) => `sample: ${JSON.stringify(prompts[i])} → ${JSON.stringify(tokenizer.decode(x.ids))}${x.ended === 'end' ? '' : ` (${x.ended})`}`) };
    },
  };
}

export async function sft(o: SftOptions): Promise<SftSummary> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const cfg = o.config;
  let resume: { dir: string; state: TrainerState } | undefined;
  if (o.resume) resume = openResume(o.outDir);
  const stage = o.stage ?? 'sft';
  // A LoRA run's checkpoints hold only the adapter: the base always comes from init_from.
  const baseFrom = o.lora && resume ? String(resume.state.init_from) : o.initFrom;
  const source = o.lora ? baseFrom : resume?.dir ?? o.initFrom;
  const { model, dir } = o.lora ? loadBaseForLora(source, o.lora, cfg.seed) : loadModel(source);
  const tokPath = join(dir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new Error(`${o.resume ? '--resume' : '--init-from'} ${dir}: the checkpoint has no tokenizer.json`);
  const tokenizer = await loadTokenizer(tokPath);
  let tok;
  try {
    tok = chatTokens(tokenizer);
  } catch (err) {
    throw new Error(`${tokPath}: ${(err as Error).message}`);
  }
  const T = model.config.contextLength;
  const hash = configHash(model.config);

  const onSkip = o.skipBadLines ? { skipBadLines: true, onSkip: (where: string, why: string) => log(`warning: ${where}: ${why} (skipped)`) } : {};
  const all = await readChatExamples(o.data, onSkip);
  const valExamples = o.valData ? await readChatExamples(o.valData, onSkip) : all.filter((e) => heldOut(e, cfg.sft.valFraction));
  const trainExamples = o.valData ? all : all.filter((e) => !heldOut(e, cfg.sft.valFraction));
  if (trainExamples.length === 0) throw new Error(`${o.data.join(', ')}: no conversations left to train on`);
  for (const e of valExamples) {
    try {
      splitExample(e.messages);
    } catch (err) {
      throw new Error(`${e.source}: ${(err as Error).message}`);
    }
  }
  const convs = trainExamples.map((e) => renderChat(tokenizer, e.messages));
  const valConvs = valExamples.slice(0, cfg.sft.valMax).map((e) => renderChat(tokenizer, e.messages));
  const cut = convs.filter((c) => c.ids.length - 1 > T).length;
  if (cut > 0) log(`warning: ${cut} of ${convs.length} conversations are longer than the context (${T} tokens) and are cut`);
  const digest = dataHash(convs);

  if (resume) {
    const s = resume.state;
    if (s.stage !== stage) throw new Error(`--resume: ${resume.dir} is not a${stage === 'sft' ? 'n SFT' : ` ${stage}`} run (stage ${String(s.stage)})`);
    if (JSON.stringify(s.lora ?? null) !== JSON.stringify(o.lora ?? null)) throw new Error(`--resume: ${resume.dir} was trained with other LoRA settings (${JSON.stringify(s.lora ?? null)})`);
    if (s.data_hash !== digest) throw new Error(`--resume: the training conversations changed since ${resume.dir} was written; start a new run directory`);
    if (s.model_config_hash !== hash) throw new Error(`--resume: ${resume.dir}: the model config does not match the run's`);
  }

  const B = cfg.batch.microBatch;
  const { accum } = stepPlan(cfg, T);
  // Dropout masks continue where the run stopped: one forward per adapter and micro-batch.
  if (o.lora && resume) setLoraForwards(model.adapters, Number(resume.state.step) * accum);
  const batches = new SftBatchSource(convs, B, T, cfg.sft.layout, cfg.seed, tok.pad ?? 0);
  const rowsPerEpoch = batches.rowsPerEpoch;
  const maxSteps = cfg.limits.maxSteps ?? Math.max(1, Math.ceil((cfg.sft.epochs * rowsPerEpoch) / (B * accum)));
  const warmup = fitWarmup(cfg.schedule.warmupSteps, maxSteps);
  if (warmup !== cfg.schedule.warmupSteps) log(`warmup: ${warmup} steps instead of ${cfg.schedule.warmupSteps}, which would take over half of this ${maxSteps}-step run`);
  const schedule = scheduleFor(cfg, warmup, maxSteps);
  const optimizer = adamwFor(model.params, cfg);
  const layout = cfg.sft.layout;
  const objective: Objective<GPT, ChatRows> = (m, rows) => ({
    loss: rowsLoss(m, rows, layout), tokens: rows.trained, metrics: { fill: rows.tokens / (rows.B * rows.T) },
  });
  const evaluators: Array<Evaluator<GPT>> = [];
  if (valConvs.length > 0) {
    evaluators.push({
      name: 'val-loss',
      run(m, step) {
        const loss = assistantLoss(m, valConvs, tok.pad ?? 0, B);
        if (loss === null) return {};
        return { metrics: { val_loss: loss }, lines: [`eval step ${step}: val loss ${loss.toFixed(4)} (assistant tokens of ${valConvs.length} held-out conversations)`] };
      },
    });
  }
  evaluators.push(sampleReplies(tokenizer, cfg.eval.samplePrompts, cfg.eval.sampleTokens));

  const summaryFill = batches.fillRatio;
  const r = runLoop({
    outDir: o.outDir, model, optimizer, objective, source: batches, evaluators,
    microBatches: accum, schedule, gradClip: cfg.optimizer.gradClip, maxSteps, maxMinutes: cfg.limits.maxMinutes,
    evalEvery: cfg.eval.every, checkpointEvery: cfg.checkpoint.every, keep: cfg.checkpoint.keep,
    checkpoint: {
      save: o.lora ? 'trainable' : 'all', config: hfConfig(model.config), tokenizerJson: tokenizer.toTokenizerJson(),
      files: { 'tokenizer_config.json': `${JSON.stringify(tokenizerConfig(tokenizer, T), null, 2)}\n` },
    },
    runState: { stage, init_from: resume?.state.init_from ?? o.initFrom, model_config_hash: hash, data_hash: digest, config: cfg, lora: o.lora ?? null },
    resume, flopsPerToken: model.flopsPerToken(T), log: o.log,
    header: `${stage === 'sft' ? 'SFT' : 'fine-tuning'} of ${dir}: ${(model.params.count / 1e6).toFixed(2)}M parameters${trainableNote(model.lora, model.adapters)}, context ${T}; ${convs.length} conversations ` +
      `(${valConvs.length} held out for val loss) in ${rowsPerEpoch} ${layout} rows per epoch (${(summaryFill * 100).toFixed(1)}% of positions used), ` +
      `${B}×${T}×${accum} positions/step, ${maxSteps} steps (${((maxSteps * B * accum) / rowsPerEpoch).toFixed(2)} epochs), lr ${cfg.optimizer.lr}`,
  });
  const adapter = o.lora ? join(o.outDir, 'adapter') : null;
  if (adapter !== null) saveAdapter(adapter, model, resolve(baseFrom));
  return {
    trainableParams: optimizer.m.length, optimizerBytes: 8 * optimizer.m.length, adapter,
    steps: r.steps, epochs: (r.steps * B * accum) / rowsPerEpoch, finalTrainLoss: r.finalTrainLoss, finalValLoss: r.lastEval.val_loss ?? null,
    checkpoint: r.checkpoint, seconds: r.seconds, conversations: convs.length, fill: summaryFill,
  };
}

/** The SFT config saved in a run's latest checkpoint (`--resume` starts from it; flags override). */
export function readSavedSftConfig(runDir: string, stage = 'sft'): SftConfig {
  return parseSftConfig(readSavedConfig(runDir, stage, stage === 'sft' ? 'an SFT' : `a ${stage}`), `${runDir} (saved config)`);
}
