/**
 * One optimizer step: forward and backward over micro-batches, global-norm clipping,
 * AdamW. The bench and every training stage share it, so what the bench measures is what
 * training runs.
 */
import { Graph, withGraph } from '../autograd/graph.js';
import type { GPT } from '../nn/gpt.js';
import { AdamW, clipFactor } from '../optim/adamw.js';
import { nextTokenObjective, type MicroBatch, type Objective } from './objective.js';

export type { MicroBatch } from './objective.js';

export interface StepResult {
  loss: number;
  gradNorm: number;
  /** False when the loss or gradients were not finite: the update was skipped. */
  applied: boolean;
  /** Tokens trained on, summed over micro-batches. */
  tokens: number;
  /** The objective's extra scalars, averaged over micro-batches (empty when it has none). */
  metrics: Record<string, number>;
}

export class ObjectiveStep<M, B> {
  readonly graph = new Graph(true);

  constructor(
    readonly model: M,
    /** Updates the trainable groups of its store; frozen parameters get no gradient and no state. */
    readonly optimizer: AdamW,
    readonly objective: Objective<M, B>,
    readonly gradClip = 1.0,
  ) {}

  /**
   * Accumulates gradients over `micro` (each weighted 1/micro.length), then updates.
   * A non-finite loss or gradient norm skips the update and leaves the weights untouched.
   */
  run(micro: readonly B[], lr: number): StepResult {
    const { model, optimizer, graph, objective } = this;
    optimizer.zeroGrad();
    let lossSum = 0;
    let tokens = 0;
    const metrics: Record<string, number> = {};
    const weight = 1 / micro.length;
    withGraph(graph, () => {
      for (const mb of micro) {
        graph.reset();
        const r = objective(model, mb);
        lossSum += r.loss.item();
        tokens += r.tokens;
        if (r.metrics) for (const [k, v] of Object.entries(r.metrics)) metrics[k] = (metrics[k] ?? 0) + v * weight;
        graph.backward(r.loss, weight);
      }
    });
    const loss = lossSum * weight;
    const gradNorm = optimizer.gradNorm();
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, gradNorm, applied: false, tokens, metrics };
    optimizer.step(lr, clipFactor(gradNorm, this.gradClip));
    return { loss, gradNorm, applied: true, tokens, metrics };
  }
}

/** Pretraining's step: next-token cross-entropy of a GPT on (B, T) token batches. */
export class TrainStep extends ObjectiveStep<GPT, MicroBatch> {
  constructor(model: GPT, optimizer: AdamW, readonly batchSize: number, readonly seqLen: number, gradClip = 1.0) {
    super(model, optimizer, nextTokenObjective(batchSize, seqLen), gradClip);
  }
}
