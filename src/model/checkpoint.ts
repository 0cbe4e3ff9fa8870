/**
 * Checkpoint directories: model.safetensors, config.json (Hugging Face style, with the
 * exact llmforge config inside), tokenizer.json, optimizer.safetensors and
 * trainer_state.json, plus whatever files a stage adds. A checkpoint is written into a
 * temporary directory and renamed into place, then the run's `latest` pointer is
 * updated — so a crash at any moment leaves either the old or the new checkpoint, never
 * a half-written one. Every stage (train, sft, dpo, serve, export) reads them through here.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { GPT } from '../nn/gpt.js';
import { parseConfig, type GPTConfig } from '../nn/config.js';
import type { ParameterStore } from '../nn/parameters.js';
import type { AdamW } from '../optim/adamw.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../tensor/safetensors.js';
import { fsyncDir, writeFileAtomic } from '../util/atomic.js';
import { hfConfig } from './hf-config.js';
import { loadWeights, type LoadOptions, type LoadReport } from './weights.js';

export const CHECKPOINTS_DIR = 'checkpoints';
export const LATEST_FILE = 'latest';

/**
 * Crash-safety tests set LLMFORGE_CRASH_AT=checkpoint-write:NAME to kill the process
 * with SIGKILL halfway through writing checkpoint NAME, the worst moment there is.
 */
function crashPoint(point: string): void {
  if (process.env.LLMFORGE_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

export interface CheckpointFiles {
  /** Shorthand for a whole GPT: its parameters as `weights`, hfConfig(model.config) as `config`. */
  model?: GPT;
  /** model.safetensors, by parameter name (an adapter run saves only the adapter's tensors). */
  weights?: Iterable<[string, NamedTensor]>;
  /** config.json contents. */
  config?: Record<string, unknown>;
  /** optimizer.safetensors: AdamW moments of every trainable parameter, by name. */
  optimizer?: AdamW;
  tokenizerJson?: string;
  trainerState?: unknown;
  /** More files for the checkpoint directory (tokenizer_config.json, adapter_config.json, …). */
  files?: Record<string, string>;
}

/**
 * Writes checkpoint `name` under runDir/checkpoints, points `latest` at it, and keeps
 * only the newest `keep` checkpoints (0 keeps all). Returns the checkpoint path.
 */
export function saveCheckpoint(runDir: string, name: string, files: CheckpointFiles, keep = 0): string {
  const weights = files.weights ?? files.model?.params.named();
  const config = files.config ?? (files.model ? hfConfig(files.model.config) : undefined);
  if (!weights || !config) throw new Error(`checkpoint ${name}: nothing to save (give model, or weights and config)`);
  const root = join(runDir, CHECKPOINTS_DIR);
  mkdirSync(root, { recursive: true });
  const final = join(root, name);
  const tmp = join(root, `.tmp-${name}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    writeSafetensors(join(tmp, 'model.safetensors'), weights, { format: 'pt', layout: 'llmforge' });
    crashPoint(`checkpoint-write:${name}`);
    writeFileAtomic(join(tmp, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    if (files.tokenizerJson !== undefined) writeFileAtomic(join(tmp, 'tokenizer.json'), files.tokenizerJson);
    for (const [file, text] of Object.entries(files.files ?? {})) writeFileAtomic(join(tmp, file), text);
    if (files.optimizer) writeSafetensors(join(tmp, 'optimizer.safetensors'), optimizerTensors(files.optimizer), { step: String(files.optimizer.stepCount) });
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

/** Checkpoint names of a run, oldest first (step-NNNNNNN sorts by step). */
export function listCheckpoints(runDir: string): string[] {
  const root = join(runDir, CHECKPOINTS_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((n) => !n.startsWith('.') && statSync(join(root, n)).isDirectory()).sort();
}

function pruneCheckpoints(root: string, current: string, keep: number): void {
  const names = listCheckpoints(join(root, '..'));
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

/** A checkpoint's config.json as JSON (stages with their own sections — a reward head, an adapter — read theirs from it). */
export function readConfigJson(dir: string): Record<string, unknown> {
  const path = join(dir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read the model config (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${path}: not a JSON object`);
  return raw as Record<string, unknown>;
}

/** The exact GPTConfig of a checkpoint (config.json's "llmforge" section). */
export function readCheckpointConfig(dir: string): GPTConfig {
  const path = join(dir, 'config.json');
  const raw = readConfigJson(dir);
  if (raw.llmforge === undefined) throw new Error(`${path}: no "llmforge" section (not written by llmforge)`);
  return parseConfig(raw.llmforge, path);
}

/** A short stable hash of a model config (trainer_state.json records it; resume compares). */
export function configHash(c: GPTConfig): string {
  const keys = Object.keys(c).sort() as Array<keyof GPTConfig>;
  return createHash('sha256').update(JSON.stringify(keys.map((k) => [k, c[k]]))).digest('hex').slice(0, 16);
}

/** Loads a checkpoint's model.safetensors into `store` by name (strict unless opts.partial). */
export function loadCheckpointWeights(dir: string, store: ParameterStore, opts: LoadOptions & { expect?: readonly string[] } = {}): LoadReport {
  const path = join(dir, 'model.safetensors');
  return loadWeights(store, readSafetensors(path).tensors, path, opts);
}

/**
 * Loads the model of a checkpoint (or a run's latest): the GPT its config.json describes,
 * with exactly the tensors of model.safetensors (strict: a missing, unused, misshapen or
 * wrongly typed tensor is an error naming it).
 */
export function loadModel(path: string): { model: GPT; dir: string } {
  const dir = resolveCheckpoint(path);
  const model = new GPT(readCheckpointConfig(dir));
  loadCheckpointWeights(dir, model.params);
  return { model, dir };
}

/** AdamW's moments by parameter name: m.NAME and v.NAME for every trainable parameter. */
export function optimizerTensors(optimizer: AdamW): Array<[string, NamedTensor]> {
  const out: Array<[string, NamedTensor]> = [];
  for (const [name, t, m, v] of momentViews(optimizer)) {
    out.push([`m.${name}`, { shape: t.shape, data: m }], [`v.${name}`, { shape: t.shape, data: v }]);
  }
  return out;
}

function* momentViews(optimizer: AdamW): Generator<[string, { shape: readonly number[] }, Float32Array, Float32Array]> {
  const store = optimizer.store;
  for (const [name, t] of store.named()) {
    if (store.groupOf(name) === 'frozen') continue;
    const offset = (t.data.byteOffset - store.data.byteOffset) / Float32Array.BYTES_PER_ELEMENT;
    yield [name, t, optimizer.m.subarray(offset, offset + t.size), optimizer.v.subarray(offset, offset + t.size)];
  }
}

/** Restores AdamW's moments and step count from a checkpoint, strictly by parameter name. */
export function loadOptimizerState(dir: string, optimizer: AdamW): void {
  const path = join(dir, 'optimizer.safetensors');
  const { tensors, metadata } = readSafetensors(path);
  const problems: string[] = [];
  const expected = new Set<string>();
  for (const [name, t, m, v] of momentViews(optimizer)) {
    for (const [key, dst] of [[`m.${name}`, m], [`v.${name}`, v]] as const) {
      expected.add(key);
      const src = tensors.get(key);
      if (!src) problems.push(`missing ${key}`);
      else if (src.data.length !== t.shape.reduce((a, b) => a * b, 1)) problems.push(`${key} has ${src.data.length} values, the parameter ${t.shape.join('×')}`);
      else dst.set(src.data);
    }
  }
  const unused = [...tensors.keys()].filter((k) => !expected.has(k));
  if (unused.length > 0) problems.push(`moments of no trainable parameter: ${unused.slice(0, 4).join(', ')}${unused.length > 4 ? '…' : ''}`);
  const step = Number(metadata.step);
  if (!Number.isSafeInteger(step) || step < 0) problems.push(`metadata step is '${metadata.step}'`);
  if (problems.length > 0) throw new Error(`${path}: optimizer state does not match the model (${problems.slice(0, 4).join('; ')})`);
  optimizer.stepCount = step;
}

export function readTokenizerJson(dir: string): string | undefined {
  const path = join(dir, 'tokenizer.json');
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
