/**
 * Parameters in and out by name. Strict loading is the default: a checkpoint must hold
 * exactly the model's tensors — none missing, none unused, every shape and dtype right —
 * because a silently half-loaded model trains or generates garbage without a word.
 * Adapters and new heads (LoRA, the reward model's scalar head) load through the explicit
 * partial mode, which reports what it did instead of refusing.
 */
import type { ParameterStore } from '../nn/parameters.js';
import { shapeString } from '../tensor/tensor.js';
import type { NamedTensor } from '../tensor/safetensors.js';

export interface LoadOptions {
  /** Load what matches by name and report the rest instead of refusing (shapes and dtypes are still checked). */
  partial?: boolean;
  /** Stored dtypes accepted (default: F32, what llmforge writes). */
  dtypes?: readonly string[];
}

export interface LoadReport {
  /** Parameters whose values were copied in. */
  loaded: string[];
  /** Parameters of the model the tensors did not contain (left as they were). */
  missing: string[];
  /** Tensors that are no parameter of the model. */
  unused: string[];
}

/** Which parameters a checkpoint holds: all of them, or only the trainable ones (an adapter run). */
export type WeightSelection = 'all' | 'trainable';

/** The (name, tensor) pairs of a store to save; 'trainable' leaves out the frozen group. */
export function weightTensors(store: ParameterStore, which: WeightSelection = 'all'): Array<[string, NamedTensor]> {
  return store.named().filter(([name]) => which === 'all' || store.groupOf(name) !== 'frozen');
}

/** Names of `store`'s parameters in a selection. */
export function selectedNames(store: ParameterStore, which: WeightSelection): string[] {
  return weightTensors(store, which).map(([n]) => n);
}

function listNames(names: readonly string[], max = 6): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/**
 * Copies `tensors` into the parameters of `store` by name. Strict (the default): every
 * parameter (or every one in `expect`) present, no tensor unused, shapes and dtypes exact,
 * else one error naming the tensors — and nothing is copied. Partial: copies the matching
 * names and returns the report.
 */
export function loadWeights(
  store: ParameterStore,
  tensors: ReadonlyMap<string, NamedTensor>,
  source: string,
  opts: LoadOptions & { expect?: readonly string[] } = {},
): LoadReport {
  const dtypes = opts.dtypes ?? ['F32'];
  const wanted = opts.expect ?? store.named().map(([n]) => n);
  const known = new Set(store.named().map(([n]) => n));
  const wantedSet = new Set(wanted);
  const missing = wanted.filter((n) => !tensors.has(n));
  const unused = [...tensors.keys()].filter((n) => !wantedSet.has(n) || !known.has(n));
  const problems: string[] = [];
  for (const name of wanted) {
    const src = tensors.get(name);
    if (!src) continue;
    const want = store.get(name).shape;
    if (src.shape.length !== want.length || src.shape.some((d, i) => d !== want[i])) {
      problems.push(`${name} has shape ${shapeString(src.shape)}, the model expects ${shapeString(want)}`);
    }
    if (src.dtype !== undefined && !dtypes.includes(src.dtype)) problems.push(`${name} is ${src.dtype}, expected ${dtypes.join(' or ')}`);
  }
  if (!opts.partial) {
    if (missing.length > 0) problems.push(`missing ${missing.length} tensor(s) the model config needs: ${listNames(missing)}`);
    if (unused.length > 0) problems.push(`${unused.length} tensor(s) the model config has no place for: ${listNames(unused)}`);
  }
  if (problems.length > 0) {
    throw new Error(`${source}: does not match the model (${problems.slice(0, 4).join('; ')}${problems.length > 4 ? `; ${problems.length - 4} more` : ''})`);
  }
  const loaded: string[] = [];
  for (const name of wanted) {
    const src = tensors.get(name);
    if (!src) continue;
    store.get(name).data.set(src.data);
    loaded.push(name);
  }
  return { loaded, missing, unused };
}
