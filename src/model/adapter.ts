/**
 * LoRA adapters on disk, in Hugging Face PEFT's format, so `PeftModel.from_pretrained(base, DIR)`
 * reads what `llmforge finetune --method lora` writes and llmforge reads PEFT's adapters:
 *
 *   adapter_config.json        peft_type "LORA", r, lora_alpha, lora_dropout, target_modules
 *                              (HF module names), task_type "CAUSAL_LM", bias "none",
 *                              base_model_name_or_path, fan_in_fan_out (true for gpt2)
 *   adapter_model.safetensors  base_model.model.<HF module path>.lora_A.weight (r, in),
 *                              ….lora_B.weight (out, r)
 *
 * GPT-2's HF modules are Conv1D (weight stored (in, out)); PEFT keeps lora_A/lora_B in the
 * Linear layout anyway and only transposes the product when merging (fan_in_fan_out), so
 * the tensors are written as they are for both families.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { GPT } from '../nn/gpt.js';
import { peftTargetModules, rolesFromPeft, type LoraConfig } from '../nn/lora.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../tensor/safetensors.js';
import { fsyncDir, writeFileAtomic } from '../util/atomic.js';
import { loadCheckpointWeights, readCheckpointConfig, resolveCheckpoint } from './checkpoint.js';
import { loadWeights } from './weights.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
const PREFIX = 'base_model.model.';

const PeftConfigSchema = z.object({
  peft_type: z.literal('LORA'),
  r: z.number().int().positive(),
  lora_alpha: z.number().positive(),
  lora_dropout: z.number().min(0).lt(1).default(0),
  target_modules: z.array(z.string()).min(1),
  bias: z.literal('none').default('none'),
  task_type: z.string().nullable().optional(),
  base_model_name_or_path: z.string().nullable().optional(),
  fan_in_fan_out: z.boolean().optional(),
  use_rslora: z.literal(false).optional(),
  use_dora: z.literal(false).optional(),
  layers_to_transform: z.null().optional(),
  modules_to_save: z.null().optional(),
}).passthrough();

/** The adapter folder of `path`: an adapter folder itself, or a finetune run folder (its adapter/). */
export function resolveAdapterDir(path: string): string {
  if (existsSync(join(path, ADAPTER_CONFIG))) return path;
  if (existsSync(join(path, 'adapter', ADAPTER_CONFIG))) return join(path, 'adapter');
  throw new Error(`--adapter ${path}: no ${ADAPTER_CONFIG} there (give a PEFT adapter folder, or a finetune --method lora run folder)`);
}

/** Reads a PEFT LoRA adapter: its settings as llmforge's LoraConfig, and its tensors by llmforge parameter name. */
export function readAdapter(path: string, family: GPTFamily): { lora: LoraConfig; tensors: Map<string, NamedTensor>; baseModel: string | null } {
  const dir = resolveAdapterDir(path);
  const cfgPath = join(dir, ADAPTER_CONFIG);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(cfgPath, 'utf8'));
  } catch (err) {
    throw new Error(`${cfgPath}: cannot read it (${(err as Error).message})`);
  }
  const parsed = PeftConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${cfgPath}: ${issue.path.join('.') || '(root)'}: ${issue.message} (llmforge reads plain LoRA adapters: peft_type LORA, bias none, no rslora/DoRA, every layer)`);
  }
  const c = parsed.data;
  const lora: LoraConfig = { rank: c.r, alpha: c.lora_alpha, dropout: c.lora_dropout, targets: rolesFromPeft(family, c.target_modules, cfgPath), seed: 0 };
  const wPath = join(dir, ADAPTER_WEIGHTS);
  const tensors = new Map<string, NamedTensor>();
  for (const [name, t] of readSafetensors(wPath).tensors) {
    if (!name.startsWith(PREFIX)) throw new Error(`${wPath}: tensor ${name} does not start with '${PREFIX}' (PEFT's key names)`);
    // PEFT may save with the adapter name inside the key (…lora_A.default.weight); llmforge has one adapter.
    tensors.set(name.slice(PREFIX.length).replace(/\.lora_([AB])\.default\.weight$/, '.lora_$1.weight'), t);
  }
  return { lora, tensors, baseModel: c.base_model_name_or_path ?? null };
}

type GPTFamily = GPT['config']['family'];

/** Writes `model`'s adapters as a PEFT adapter folder (a temporary folder renamed into place). */
export function saveAdapter(dir: string, model: GPT, baseModel: string): void {
  const lora = model.lora;
  if (lora === null) throw new Error('saveAdapter: the model has no LoRA adapters');
  const c = model.config;
  const config = {
    peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: baseModel,
    r: lora.rank, lora_alpha: lora.alpha, lora_dropout: lora.dropout, target_modules: peftTargetModules(c.family, lora.targets),
    bias: 'none', fan_in_fan_out: c.family === 'gpt2', inference_mode: true, init_lora_weights: true, modules_to_save: null,
    layers_to_transform: null, use_rslora: false, use_dora: false, revision: null, library: 'llmforge',
  };
  const tensors: Array<[string, NamedTensor]> = [];
  for (const a of model.adapters) {
    tensors.push([`${PREFIX}${a.module}.lora_A.weight`, a.a], [`${PREFIX}${a.module}.lora_B.weight`, a.b]);
  }
  const final = resolve(dir);
  mkdirSync(dirname(final), { recursive: true });
  const tmp = `${final}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    writeSafetensors(join(tmp, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
    writeFileAtomic(join(tmp, ADAPTER_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    fsyncDir(dirname(final));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Names of the base (non-adapter) parameters of a LoRA model. */
export function baseNames(model: GPT): string[] {
  return model.params.named().map(([n]) => n).filter((n) => model.params.groupOf(n) === 'frozen');
}

/**
 * A base checkpoint with a LoRA config attached: base weights loaded strictly, adapters
 * freshly initialized from `seed` (A Kaiming-uniform, B zero), base frozen.
 */
export function loadBaseForLora(modelPath: string, lora: LoraConfig, seed: number): { model: GPT; dir: string } {
  const dir = resolveCheckpoint(modelPath);
  const model = new GPT(readCheckpointConfig(dir), { frozen: true, lora }).init(seed);
  loadCheckpointWeights(dir, model.params, { expect: baseNames(model) });
  return { model, dir };
}

/** The base model with the adapter of `adapterPath` applied unmerged (both loaded strictly). */
export function loadModelWithAdapter(modelPath: string, adapterPath: string): { model: GPT; dir: string } {
  const dir = resolveCheckpoint(modelPath);
  const config = readCheckpointConfig(dir);
  const { lora, tensors } = readAdapter(adapterPath, config.family);
  const { model } = loadBaseForLora(dir, lora, 0);
  const source = join(resolveAdapterDir(adapterPath), ADAPTER_WEIGHTS);
  const names = model.adapters.flatMap((a) => [`${a.module}.lora_A.weight`, `${a.module}.lora_B.weight`]);
  // Strict: every adapter tensor present with its shape, nothing else (a base of another size names the mismatch).
  loadWeights(model.params, tensors, source, { expect: names, dtypes: ['F32', 'F16', 'BF16'] });
  return { model, dir };
}

/** A plain GPT whose weights are the base's with every adapter folded in: W += (alpha/r)·B·A. */
export function mergeAdapters(model: GPT): GPT {
  const merged = new GPT(model.config);
  for (const [name, t] of merged.params.named()) t.data.set(model.params.get(name).data);
  for (const a of model.adapters) {
    const w = merged.params.get(`${a.module}.weight`); // (out, in): the module's own weight, so no column offset
    const [nOut, nIn] = w.shape;
    const r = a.a.shape[0];
    const A = a.a.data;
    const B = a.b.data;
    for (let o = 0; o < nOut; o++) {
      for (let k = 0; k < r; k++) {
        const s = a.scale * B[o * r + k];
        if (s === 0) continue;
        const row = o * nIn;
        const ar = k * nIn;
        for (let i = 0; i < nIn; i++) w.data[row + i] += s * A[ar + i];
      }
    }
  }
  return merged;
}
