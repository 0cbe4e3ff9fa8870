/**
 * What the training loop is generic over. A stage (pretraining, SFT, DPO, a reward model,
 * LoRA) is a batch source, an objective and evaluators plugged into one loop
 * (src/train/loop.ts); see docs/ARCHITECTURE.md for how each later stage maps onto them.
 */
import type { GPT } from '../nn/gpt.js';
import type { Tensor } from '../tensor/tensor.js';

export interface ObjectiveResult {
  /** Scalar loss to minimise, built in the step's graph (the loop calls backward on it). */
  loss: Tensor;
  /** Tokens this micro-batch trains on (targets that count): tokens/s, MFU and tokens_seen use it. */
  tokens: number;
  /** Extra scalars to log, averaged over the step's micro-batches (DPO: rewards_chosen, accuracy, …). */
  metrics?: Record<string, number>;
}

/**
 * One micro-batch's forward pass: (model, batch) → loss. The model is whatever the stage
 * trains (a GPT, a GPT with a scalar head, a GPT with adapters); several forward passes
 * per batch (DPO's chosen and rejected) are fine, they share the step's graph.
 */
export type Objective<M, B> = (model: M, batch: B) => ObjectiveResult;

/**
 * Where micro-batches come from. The loop allocates one batch per micro-batch slot once
 * (allocate) and refills them every step (fill), so a step allocates nothing. The source
 * owns its position: position() is saved in trainer_state.json as data_position and
 * restore() continues exactly there, which is what makes resume bit-identical.
 */
export interface BatchSource<B> {
  allocate(): B;
  fill(batch: B): void;
  /** Plain JSON. */
  position(): unknown;
  restore(position: unknown): void;
}

/**
 * A resume position `{epoch, <index>}` read back from trainer_state.json, checked (both
 * non-negative integers); `what` names the source in the error. Epoch-based sources
 * (SFT rows, preference pairs) store their place this way.
 */
export function epochPosition(position: unknown, index: string, what: string): { epoch: number; index: number } {
  const p = position as Record<string, unknown> | null;
  const ok = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
  if (p === null || typeof p !== 'object' || !ok(p.epoch) || !ok(p[index])) {
    throw new Error(`trainer_state.json: data_position ${JSON.stringify(position)} is not ${what} position {epoch, ${index}}`);
  }
  return { epoch: p.epoch, index: p[index] as number };
}

export interface EvalResult {
  /** Logged to metrics.jsonl as one {step, ...metrics} record (val_loss is plotted). */
  metrics?: Record<string, number>;
  /** Printed as they are. */
  lines?: string[];
}

/** Runs at step 0 of a fresh run, every eval.every steps and at the end. Must not change what training does next. */
export interface Evaluator<M> {
  name: string;
  run(model: M, step: number): EvalResult;
}

/** A token batch: (B·T) inputs and next-token targets, -1 = ignored (SFT's prompt tokens, padding). */
export interface MicroBatch {
  inputs: Int32Array; // (B·T)
  targets: Int32Array; // (B·T)
}

/** Next-token cross-entropy of a GPT over (B, T) rows; ignored targets (< 0) are not counted. */
export function nextTokenObjective(B: number, T: number): Objective<GPT, MicroBatch> {
  return (model, batch) => {
    let tokens = 0;
    for (const t of batch.targets) if (t >= 0) tokens++;
    return { loss: model.loss(batch.inputs, batch.targets, B, T), tokens };
  };
}
