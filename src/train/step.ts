/**
 * One optimizer step: forward and backward over micro-batches, global-norm clipping,
 * AdamW. The bench and the trainer share it, so what the bench measures is what
 * training runs.
 */
import { Graph, withGraph } from '../autograd/graph.js';
import type { GPT } from '../nn/gpt.js';
import { AdamW, clipFactor } from '../optim/adamw.js';

export interface MicroBatch {
  inputs: Int32Array; // (B·T)
  targets: Int32Array; // (B·T), -1 = ignored
}

export interface StepResult {
  loss: number;
  gradNorm: number;
  /** False when the loss or gradients were not finite: the update was skipped. */
  applied: boolean;
}

export class TrainStep {
  readonly graph = new Graph(true);

  constructor(
    readonly model: GPT,
    readonly optimizer: AdamW,
    readonly batchSize: number,
    readonly seqLen: number,
    readonly gradClip = 1.0,
  ) {}

  /**
   * Accumulates gradients over `micro` (each weighted 1/micro.length), then updates.
   * A non-finite loss or gradient norm skips the update and leaves the weights untouched.
   */
  run(micro: readonly MicroBatch[], lr: number): StepResult {
    const { model, optimizer, graph } = this;
    optimizer.zeroGrad();
    let lossSum = 0;
    const weight = 1 / micro.length;
    withGraph(graph, () => {
      for (const mb of micro) {
        graph.reset();
        const loss = model.loss(mb.inputs, mb.targets, this.batchSize, this.seqLen);
        lossSum += loss.item();
        graph.backward(loss, weight);
      }
    });
    const loss = lossSum * weight;
    const gradNorm = optimizer.gradNorm();
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return { loss, gradNorm, applied: false };
    optimizer.step(lr, clipFactor(gradNorm, this.gradClip));
    return { loss, gradNorm, applied: true };
  }
}
