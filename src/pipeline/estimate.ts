/**
 * A stage's expected seconds from its size (text bytes, tokens to train on, replies to
 * decode) at rates measured on the default pipeline on 2 busy cores. Only the overall ETA
 * uses it, and the runner rescales it by how the stages that already ran compared.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CHAT_TASKS } from '../data/index.js';
import type { PipelineConfig, StageName } from './config.js';

/** Rough rates on 2 cores between the busy and the quiet measured runs (docs/PIPELINE.md). */
const RATE = {
  tokenizerBytesPerS: 6e6,
  prepareBytesPerS: 10e6,
  trainTokensPerS: 15000,
  decodeTokensPerS: 8000,
};
/** gzip'd text is about this many times larger unpacked. */
const GZ_RATIO = 3.5;

function textBytes(paths: readonly string[] | undefined): number {
  let n = 0;
  for (const p of paths ?? []) {
    let st;
    try {
      st = statSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) n += textBytes(readdirSync(p).map((x) => join(p, x)));
    else n += p.endsWith('.gz') ? st.size * GZ_RATIO : st.size;
  }
  return n;
}

/** The training config's field, whether the stage gives the config inline or not at all. */
function inline(config: unknown, ...path: string[]): number | undefined {
  let v: unknown = config;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' ? v : undefined;
}

/** Prompts the prefs stage will judge: --per-task N of each of the embedded set's families, capped by maxPrompts. */
function prefsPrompts(c: PipelineConfig): number {
  const o = c.prefs;
  const perTask = o?.perTask !== undefined ? o.perTask * Object.keys(CHAT_TASKS).length : Infinity;
  return Math.min(o?.maxPrompts ?? (perTask === Infinity ? 1000 : Infinity), perTask);
}

export function estimateSeconds(stage: StageName, c: PipelineConfig): number {
  switch (stage) {
    case 'tokenizer':
      return (textBytes(c.tokenizer.input) + textBytes(c.tokenizer.chatData) * 0.5) / RATE.tokenizerBytesPerS;
    case 'data':
      return textBytes(c.data.input) / RATE.prepareBytesPerS;
    case 'pretrain': {
      const o = c.pretrain;
      const steps = o.maxSteps ?? inline(o.config, 'limits', 'maxSteps') ?? 1000;
      const batch = o.batch ?? inline(o.config, 'batch', 'microBatch') ?? 16;
      const ctx = inline(o.config, 'model', 'overrides', 'contextLength') ?? 256;
      return (steps * batch * ctx) / RATE.trainTokensPerS;
    }
    case 'sft': {
      const o = c.sft;
      if (o === undefined) return 0;
      // About 4 bytes of text per token; packed rows of 128 tokens.
      const tokens = o.maxSteps !== undefined ? o.maxSteps * (o.batch ?? 16) * 128 : (textBytes(o.data) / 4) * 0.5 * (o.epochs ?? 3);
      return tokens / RATE.trainTokensPerS;
    }
    case 'prefs': {
      const o = c.prefs;
      if (o === undefined) return 0;
      return (prefsPrompts(c) * o.samples * (o.maxTokens ?? 64)) / RATE.decodeTokensPerS;
    }
    case 'dpo': {
      const pairs = prefsPrompts(c) * 0.6;
      const passes = c.dpo?.maxSteps !== undefined ? (c.dpo.maxSteps * (c.dpo.batch ?? 16)) / 2 / pairs : (c.dpo?.epochs ?? 1);
      // Chosen and rejected, about 96 tokens each; a reference pass, then forward and backward.
      return (pairs * 2 * 96 * (1 + 3 * passes)) / RATE.trainTokensPerS;
    }
    case 'reward': {
      const pairs = prefsPrompts(c) * 0.6;
      const passes = c.reward?.maxSteps !== undefined ? (c.reward.maxSteps * (c.reward.batch ?? 16)) / 2 / pairs : (c.reward?.epochs ?? 1);
      return (pairs * 2 * 96 * 3 * passes) / RATE.trainTokensPerS;
    }
    case 'finetune':
      return c.finetune?.maxSteps !== undefined ? (c.finetune.maxSteps * (c.finetune.batch ?? 16) * 128) / RATE.trainTokensPerS : 60;
    case 'eval': {
      const models = 1 + (['sft', 'dpo', 'finetune'] as const).filter((s) => c[s] !== undefined && (s !== 'finetune' || c.finetune?.enabled === true)).length;
      return (models * (c.eval?.maxExamples ?? 1000) * (c.eval?.maxTokens ?? 48) * 0.5) / RATE.decodeTokensPerS + models * 5;
    }
    case 'export':
      return 10;
  }
}
