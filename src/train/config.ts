/**
 * The training configuration: one typed, strict schema (unknown keys are errors).
 * It comes from a JSON file (--config), then flags override single fields.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { GPTConfigFields, PRESET_NAMES } from '../nn/config.js';

const ModelSection = z
  .object({
    preset: z.enum(PRESET_NAMES as [string, ...string[]]).default('tiny'),
    /** Any GPT config field, overriding the preset (vocabSize defaults to the tokenizer's). */
    overrides: GPTConfigFields.partial().strict().default({}),
  })
  .strict();

export const TrainConfigSchema = z
  .object({
    model: ModelSection.default({ preset: 'tiny', overrides: {} }),
    optimizer: z
      .object({
        lr: z.number().positive().max(1),
        beta1: z.number().min(0).lt(1).default(0.9),
        beta2: z.number().min(0).lt(1).default(0.95),
        eps: z.number().positive().default(1e-8),
        weightDecay: z.number().min(0).default(0.1),
        gradClip: z.number().min(0).default(1.0),
      })
      .strict()
      .default({ lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 1.0 }),
    schedule: z
      .object({
        kind: z.enum(['cosine', 'linear', 'constant', 'wsd']).default('cosine'),
        warmupSteps: z.number().int().min(0).default(100),
        /** Defaults to lr / 10. */
        minLr: z.number().min(0).optional(),
        /** wsd: fraction of the run spent decaying. */
        decayFraction: z.number().gt(0).max(1).default(0.2),
      })
      .strict()
      .default({ kind: 'cosine', warmupSteps: 100, decayFraction: 0.2 }),
    batch: z
      .object({
        microBatch: z.number().int().min(1).default(8),
        gradAccum: z.number().int().min(1).default(1),
        /** Total tokens per optimizer step; sets gradAccum = totalTokens / (microBatch · context). */
        totalTokens: z.number().int().min(1).optional(),
      })
      .strict()
      .default({ microBatch: 8, gradAccum: 1 }),
    limits: z
      .object({
        maxSteps: z.number().int().min(1).optional(),
        maxTokens: z.number().int().min(1).optional(),
        maxMinutes: z.number().positive().optional(),
      })
      .strict()
      .default({}),
    eval: z
      .object({
        every: z.number().int().min(0).default(100),
        batches: z.number().int().min(1).default(20),
        samplePrompts: z.array(z.string()).default(['The ', 'And ', 'In the beginning']),
        sampleTokens: z.number().int().min(0).default(48),
      })
      .strict()
      .default({ every: 100, batches: 20, samplePrompts: ['The ', 'And ', 'In the beginning'], sampleTokens: 48 }),
    checkpoint: z
      .object({
        every: z.number().int().min(0).default(500),
        keep: z.number().int().min(0).default(3),
      })
      .strict()
      .default({ every: 500, keep: 3 }),
    seed: z.number().int().min(0).default(1337),
    threads: z.number().int().min(1).optional(),
  })
  .strict();

export type TrainConfig = z.infer<typeof TrainConfigSchema>;

export function formatZodError(source: string, error: z.ZodError): string {
  return `${source}: ${error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
}

export function parseTrainConfig(value: unknown, source: string): TrainConfig {
  const r = TrainConfigSchema.safeParse(value);
  if (!r.success) throw new Error(formatZodError(source, r.error));
  return r.data;
}

export function readTrainConfig(path: string): TrainConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: invalid JSON (${(err as Error).message})`);
  }
  return parseTrainConfig(value, path);
}

/** A `--config FILE`: a JSON object, or one error naming the flag, the file and what is wrong. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--config ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`--config ${path}: invalid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`--config ${path}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `over` merged into `base`, objects key by key (two levels are all a config has). */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObject(v) && isObject(out[k]) ? mergeConfig(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/**
 * A training stage's config (SFT, DPO, reward model): its defaults with `value` (a config file's
 * contents, or a run's saved config) on top, validated. Those stages train the --init-from model
 * as it is, so a `model` section is refused with `whyNoModel`.
 */
export function parseStageConfig<S extends z.ZodType>(schema: S, defaults: Record<string, unknown>, value: unknown, source: string, whyNoModel: string): z.infer<S> {
  if (!isObject(value)) throw new Error(`${source}: expected a JSON object`);
  if ('model' in value) throw new Error(`${source}: model: ${whyNoModel}; a model section does not apply`);
  const r = schema.safeParse(mergeConfig(defaults, value));
  if (!r.success) throw new Error(formatZodError(source, r.error));
  return r.data as z.infer<S>;
}
