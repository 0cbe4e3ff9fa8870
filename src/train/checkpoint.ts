/**
 * Checkpoint directories: model.safetensors, config.json (Hugging Face style, with the
 * exact llmforge config inside), tokenizer.json, optimizer.safetensors and
 * trainer_state.json. A checkpoint is written into a temporary directory and renamed
 * into place, then the run's `latest` pointer is updated — so a crash at any moment
 * leaves either the old or the new checkpoint, never a half-written one.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GPT } from '../nn/gpt.js';
import { parseConfig, type GPTConfig } from '../nn/config.js';
import type { AdamW } from '../optim/adamw.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../tensor/safetensors.js';
import { fsyncDir, writeFileAtomic } from '../util/atomic.js';

export const CHECKPOINTS_DIR = 'checkpoints';

/**
 * Crash-safety tests set LLMFORGE_CRASH_AT=checkpoint-write:NAME to kill the process
 * with SIGKILL halfway through writing checkpoint NAME, the worst moment there is.
 */
function crashPoint(point: string): void {
  if (process.env.LLMFORGE_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
export const LATEST_FILE = 'latest';

/** Hugging Face config.json fields for the model's family, plus our own exact config. */
export function hfConfig(c: GPTConfig): Record<string, unknown> {
  const common = { vocab_size: c.vocabSize, tie_word_embeddings: c.tiedEmbeddings, torch_dtype: 'float32', llmforge: c };
  if (c.family === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_positions: c.contextLength, n_ctx: c.contextLength,
      n_embd: c.nEmbd, n_layer: c.nLayer, n_head: c.nHead, n_inner: c.mlpHidden, layer_norm_epsilon: c.normEps,
      activation_function: 'gelu_new', ...common,
    };
  }
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', max_position_embeddings: c.contextLength,
    hidden_size: c.nEmbd, intermediate_size: c.mlpHidden, num_hidden_layers: c.nLayer, num_attention_heads: c.nHead,
    num_key_value_heads: c.nKvHead, rms_norm_eps: c.normEps, rope_theta: c.ropeTheta, hidden_act: 'silu', ...common,
  };
}

export interface CheckpointFiles {
  model: GPT;
  optimizer?: AdamW;
  tokenizerJson?: string;
  trainerState?: unknown;
}

/**
 * Writes checkpoint `name` under runDir/checkpoints, points `latest` at it, and keeps
 * only the newest `keep` checkpoints (0 keeps all). Returns the checkpoint path.
 */
export function saveCheckpoint(runDir: string, name: string, files: CheckpointFiles, keep = 0): string {
  const root = join(runDir, CHECKPOINTS_DIR);
  mkdirSync(root, { recursive: true });
  const final = join(root, name);
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    const { model } = files;
    writeSafetensors(join(tmp, 'model.safetensors'), model.params.named(), { format: 'pt', layout: 'llmforge' });
    crashPoint(`checkpoint-write:${name}`);
    writeFileAtomic(join(tmp, 'config.json'), `${JSON.stringify(hfConfig(model.config), null, 2)}\n`);
    if (files.tokenizerJson !== undefined) writeFileAtomic(join(tmp, 'tokenizer.json'), files.tokenizerJson);
    if (files.optimizer) {
      const o = files.optimizer;
      const tensors: Array<[string, NamedTensor]> = [['m', { shape: [o.m.length], data: o.m }], ['v', { shape: [o.v.length], data: o.v }]];
      writeSafetensors(join(tmp, 'optimizer.safetensors'), tensors, { step: String(o.stepCount) });
    }
    if (files.trainerState !== undefined) writeFileAtomic(join(tmp, 'trainer_state.json'), `${JSON.stringify(files.trainerState, null, 2)}\n`);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    fsyncDir(root);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  writeFileAtomic(join(runDir, LATEST_FILE), `${name}\n`);
  if (keep > 0) pruneCheckpoints(root, name, keep);
  return final;
}

function pruneCheckpoints(root: string, current: string, keep: number): void {
  const names = readdirSync(root).filter((n) => !n.startsWith('.') && statSync(join(root, n)).isDirectory()).sort();
  const old = names.filter((n) => n !== current);
  for (const n of old.slice(0, Math.max(0, names.length - keep))) rmSync(join(root, n), { recursive: true, force: true });
}

/**
 * A run directory (its latest checkpoint) or a checkpoint directory → the checkpoint
 * directory. Errors say what was expected.
 */
export function resolveCheckpoint(path: string): string {
  const dir = resolve(path);
  if (!existsSync(dir)) throw new Error(`${path}: no such directory`);
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  const latest = join(dir, LATEST_FILE);
  if (existsSync(latest)) {
    const name = readFileSync(latest, 'utf8').trim();
    const ckpt = join(dir, CHECKPOINTS_DIR, name);
    if (!existsSync(join(ckpt, 'model.safetensors'))) throw new Error(`${latest}: points at ${name}, which has no model.safetensors`);
    return ckpt;
  }
  throw new Error(`${path}: neither a checkpoint (no model.safetensors) nor a run directory (no '${LATEST_FILE}' file)`);
}

export function readCheckpointConfig(dir: string): GPTConfig {
  const path = join(dir, 'config.json');
  let raw: { llmforge?: unknown };
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as { llmforge?: unknown };
  } catch (err) {
    throw new Error(`${path}: cannot read the model config (${(err as Error).message})`);
  }
  if (raw.llmforge === undefined) throw new Error(`${path}: no "llmforge" section (not written by llmforge)`);
  return parseConfig(raw.llmforge, path);
}

/** Loads the model of a checkpoint (or a run's latest), checking weights against the config. */
export function loadModel(path: string): { model: GPT; dir: string } {
  const dir = resolveCheckpoint(path);
  const model = new GPT(readCheckpointConfig(dir));
  model.params.load(readSafetensors(join(dir, 'model.safetensors')).tensors, join(dir, 'model.safetensors'));
  return { model, dir };
}

export function loadOptimizerState(dir: string, optimizer: AdamW): void {
  const path = join(dir, 'optimizer.safetensors');
  const { tensors, metadata } = readSafetensors(path);
  const m = tensors.get('m');
  const v = tensors.get('v');
  if (!m || !v || m.data.length !== optimizer.m.length || v.data.length !== optimizer.v.length) {
    throw new Error(`${path}: optimizer state does not match the model (${m?.data.length ?? 0} moments for ${optimizer.m.length} parameters)`);
  }
  optimizer.m.set(m.data);
  optimizer.v.set(v.data);
  optimizer.stepCount = Number(metadata.step ?? 0);
}

export function readTokenizerJson(dir: string): string | undefined {
  const path = join(dir, 'tokenizer.json');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
