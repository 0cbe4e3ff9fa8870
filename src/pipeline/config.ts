/**
 * The pipeline file (`llmforge run pipeline.json`): one section per stage, and each section's
 * keys are that stage's command's flags in camelCase (`--vocab-size` → `vocabSize`), so a
 * pipeline file reads like the commands it replaces. What one stage hands the next (the
 * tokenizer, the data folder, --init-from, --model, --out) is wired by the runner and is not
 * a key. Unknown keys are errors that name their path. Relative input paths are relative to
 * the file; `out` is relative to the working folder, like --out.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseTrainConfig } from '../train/index.js';
import { parseDpoConfig, parseRewardConfig, parseSftConfig } from '../align/index.js';

const int = (min: number, max = Number.MAX_SAFE_INTEGER): z.ZodNumber => z.number().int().min(min).max(max);
const num = (min: number, max = Infinity): z.ZodNumber => z.number().min(min).max(max);
const paths = z.array(z.string().min(1)).min(1);
/** A training config: a JSON file (as the command's --config) or the same object inline. */
const configRef = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

/** Keys every stage has that no command has: whether it runs. */
const common = { enabled: z.boolean().optional() };

const Tokenizer = z.strictObject({
  ...common,
  input: paths,
  vocabSize: int(257),
  pattern: z.string().optional(),
  special: z.array(z.string()).optional(),
  minFrequency: int(1).optional(),
  threads: int(1).optional(),
  /** Pipeline-only: chat JSONL whose message text (not its JSON) joins the text the merges learn from. */
  chatData: paths.optional(),
});

const Data = z.strictObject({
  ...common,
  input: paths,
  valFraction: num(0, 0.999999).optional(),
  dedup: z.enum(['none', 'exact', 'near']).optional(),
  textField: z.string().min(1).optional(),
  minChars: int(0).optional(),
  seed: int(-2147483648, 4294967295).optional(),
  skipBadLines: z.boolean().optional(),
  docChars: int(16).optional(),
  shardTokens: int(1).optional(),
  threads: int(0).optional(),
  encoder: z.enum(['auto', 'main', 'batch', 'workers']).optional(),
});

/** `llmforge train` (pretraining). */
const Pretrain = z.strictObject({
  ...common,
  preset: z.string().optional(),
  config: configRef.optional(),
  maxSteps: int(1).optional(),
  maxMinutes: num(0.001).optional(),
  seed: int(0).optional(),
  saveEvery: int(0).optional(),
  evalEvery: int(0).optional(),
  lr: num(1e-8, 1).optional(),
  batch: int(1).optional(),
  warmupSteps: int(0).optional(),
  threads: int(1).optional(),
});

const trainFlags = {
  maxSteps: int(1).optional(),
  maxMinutes: num(0.001).optional(),
  lr: num(1e-10, 1).optional(),
  warmupSteps: int(0).optional(),
  batch: int(1).optional(),
  config: configRef.optional(),
  seed: int(0).optional(),
  threads: int(1).optional(),
  saveEvery: int(0).optional(),
  evalEvery: int(0).optional(),
  skipBadLines: z.boolean().optional(),
  epochs: num(0.001, 1e6).optional(),
  valData: paths.optional(),
};

const Sft = z.strictObject({ ...common, ...trainFlags, data: paths, layout: z.enum(['packed', 'padded']).optional() });

/** `llmforge prefs generate` (--model is the SFT run). */
const Prefs = z.strictObject({
  ...common,
  prompts: paths,
  samples: int(2, 64),
  maxPrompts: int(1).optional(),
  perTask: int(1).optional(),
  referenceCandidate: z.boolean().optional(),
  temperature: num(0.01, 5).optional(),
  topP: num(0.01, 1).optional(),
  maxTokens: int(1).optional(),
  batch: int(1, 4096).optional(),
  seed: int(0).optional(),
  threads: int(1).optional(),
  skipBadLines: z.boolean().optional(),
});

/** `llmforge dpo` (--init-from is the SFT run, --data the prefs stage's pairs plus any given here). */
const Dpo = z.strictObject({
  ...common, ...trainFlags,
  data: paths.optional(),
  gradAccum: int(1).optional(),
  beta: num(1e-6, 1e6).optional(),
  loss: z.enum(['sigmoid', 'ipo']).optional(),
});

/** `llmforge reward train` (--init-from is the SFT run, --data the prefs stage's pairs plus any given here): the report's win rates. */
const Reward = z.strictObject({ ...common, ...trainFlags, data: paths.optional(), gradAccum: int(1).optional() });

/** `llmforge finetune` (branch lora): off unless enabled; --init-from is the DPO (or SFT) run. */
const Finetune = z.strictObject({
  ...common, ...trainFlags,
  data: paths,
  method: z.enum(['lora', 'full']).optional(),
  rank: int(1).optional(),
  alpha: num(0).optional(),
  targets: z.array(z.string()).optional(),
});

/** `llmforge eval` run on every model the pipeline made (chat suite; base suite on the data stage's val split). */
const Eval = z.strictObject({
  ...common,
  data: paths.optional(),
  maxTokens: int(1).optional(),
  batch: int(1, 1024).optional(),
  threads: int(1).optional(),
  skipBadLines: z.boolean().optional(),
  /** Pipeline-only: read at most this many held-out conversations (the first ones). */
  maxExamples: int(1).optional(),
});

/** `llmforge export` of the final model: off unless enabled. */
const Export = z.strictObject({
  ...common,
  format: z.enum(['hf', 'gguf']),
  dtype: z.enum(['f32', 'f16', 'q8_0']).optional(),
});

export const PipelineSchema = z.strictObject({
  /** Where the stages go, relative to the working folder like --out (which overrides it). */
  out: z.string().min(1).optional(),
  tokenizer: Tokenizer,
  data: Data,
  pretrain: Pretrain,
  sft: Sft.optional(),
  prefs: Prefs.optional(),
  dpo: Dpo.optional(),
  reward: Reward.optional(),
  finetune: Finetune.optional(),
  eval: Eval.optional(),
  export: Export.optional(),
});

export type PipelineConfig = z.infer<typeof PipelineSchema>;
export type StageName = 'tokenizer' | 'data' | 'pretrain' | 'sft' | 'prefs' | 'dpo' | 'reward' | 'finetune' | 'eval' | 'export';
/** Run order. */
export const STAGE_NAMES: readonly StageName[] = ['tokenizer', 'data', 'pretrain', 'sft', 'prefs', 'dpo', 'reward', 'finetune', 'eval', 'export'];

/** Keys holding file paths (resolved against the pipeline file's folder). */
const PATH_KEYS = new Set(['input', 'chatData', 'data', 'valData', 'prompts']);

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

/** Validates a parsed pipeline; `source` names the file in errors. Paths resolve against `baseDir`. */
export function parsePipeline(value: unknown, source: string, baseDir: string): PipelineConfig {
  const r = PipelineSchema.safeParse(value);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      if (i.code === 'unrecognized_keys') {
        return i.keys.map((k) => `unknown key '${issuePath([...i.path, k])}'`).join('; ');
      }
      const at = issuePath(i.path);
      return `${at === '' ? '(top level)' : `'${at}'`}: ${i.message}`;
    });
    throw new Error(`${source}: ${lines.join('; ')}`);
  }
  const c = r.data;
  for (const name of STAGE_NAMES) {
    const section = c[name] as Record<string, unknown> | undefined;
    if (section === undefined) continue;
    for (const [k, v] of Object.entries(section)) {
      if (PATH_KEYS.has(k) && Array.isArray(v)) section[k] = v.map((p: string) => (isAbsolute(p) ? p : resolve(baseDir, p)));
      if (k === 'config' && typeof v === 'string' && !isAbsolute(v)) section[k] = resolve(baseDir, v);
    }
  }
  checkChain(c, source);
  // An inline training config is checked now, not when its stage starts an hour later.
  const parsers = { pretrain: parseTrainConfig, sft: parseSftConfig, dpo: parseDpoConfig, reward: parseRewardConfig };
  for (const [name, parse] of Object.entries(parsers)) {
    const cfg = (c[name as keyof typeof parsers] as { config?: unknown } | undefined)?.config;
    if (cfg !== undefined && typeof cfg !== 'string') parse(cfg, `${source}: '${name}.config'`);
  }
  return c;
}

/** Whether a stage runs: present and not disabled; finetune and export only when enabled. */
export function stageOn(c: PipelineConfig, name: StageName): boolean {
  const s = c[name] as { enabled?: boolean } | undefined;
  if (s === undefined) return false;
  if (name === 'finetune' || name === 'export') return s.enabled === true;
  return s.enabled !== false;
}

/** A stage needs the ones it reads from. */
function checkChain(c: PipelineConfig, source: string): void {
  for (const name of ['tokenizer', 'data', 'pretrain'] as const) {
    if (!stageOn(c, name)) throw new Error(`${source}: '${name}.enabled' is false, but every pipeline starts with tokenizer, data and pretrain`);
  }
  const needs: Array<[StageName, StageName]> = [['prefs', 'sft'], ['dpo', 'prefs'], ['reward', 'prefs']];
  for (const [stage, dep] of needs) {
    if (stageOn(c, stage) && !stageOn(c, dep)) throw new Error(`${source}: stage '${stage}' reads the '${dep}' stage's output, which is missing or disabled`);
  }
  if (stageOn(c, 'finetune') && !stageOn(c, 'sft')) throw new Error(`${source}: stage 'finetune' starts from the DPO or SFT model; enable 'sft'`);
}

/** Reads and validates a pipeline file. */
export function readPipeline(file: string): PipelineConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the pipeline file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: invalid JSON (${(err as Error).message})`);
  }
  return parsePipeline(value, file, dirname(resolve(file)));
}
