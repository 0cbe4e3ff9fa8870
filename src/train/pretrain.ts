/**
 * Pretraining's pieces for the shared loop: token shards as the batch source, the
 * validation loss (and bits per byte) and text samples as evaluators. The objective is
 * nextTokenObjective (src/train/objective.ts).
 */
import { Graph, withGraph } from '../autograd/graph.js';
import type { TokenLoader, LoaderPosition } from '../data/index.js';
import type { GPT } from '../nn/gpt.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { sampleTexts } from '../infer/index.js';
import type { BatchSource, Evaluator, MicroBatch } from './objective.js';

/** (B, T) windows from a TokenLoader; its position is the run's data position. */
export class TokenBatchSource implements BatchSource<MicroBatch> {
  constructor(readonly loader: TokenLoader, readonly batchSize: number, readonly seqLen: number) {}

  allocate(): MicroBatch {
    const n = this.batchSize * this.seqLen;
    return { inputs: new Int32Array(n), targets: new Int32Array(n) };
  }

  fill(batch: MicroBatch): void {
    this.loader.nextBatch(batch.inputs, batch.targets);
  }

  position(): LoaderPosition {
    return this.loader.position();
  }

  restore(position: unknown): void {
    this.loader.restore(position as LoaderPosition);
  }
}

/**
 * Mean validation loss over the next `batches` batches of a loader, and bits per byte:
 * total nats over ln 2 × the UTF-8 bytes of the predicted tokens.
 */
export function evalLoss(model: GPT, loader: TokenLoader, tokenizer: Tokenizer, batches: number, B: number, T: number): { loss: number; bpb: number } {
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const g = new Graph(false);
  let nats = 0;
  let tokens = 0;
  let bytes = 0;
  withGraph(g, () => {
    for (let i = 0; i < batches; i++) {
      loader.nextBatch(inputs, targets);
      g.reset();
      let count = 0;
      for (const t of targets) {
        if (t >= 0) {
          count++;
          bytes += tokenizer.tokenByteLength(t);
        }
      }
      nats += model.loss(inputs, targets, B, T).item() * count;
      tokens += count;
    }
  });
  return { loss: nats / Math.max(1, tokens), bpb: bytes > 0 ? nats / Math.LN2 / bytes : 0 };
}

/** val_loss and val_bpb on the same validation windows every time (the sequential loader is rewound). */
export function valLossEvaluator(loader: TokenLoader, tokenizer: Tokenizer, batches: number, B: number, T: number): Evaluator<GPT> {
  const start = loader.position();
  return {
    name: 'val-loss',
    run(model, step) {
      loader.restore(start);
      const r = evalLoss(model, loader, tokenizer, batches, B, T);
      return { metrics: { val_loss: r.loss, val_bpb: r.bpb }, lines: [`eval step ${step}: val loss ${r.loss.toFixed(4)}, val bpb ${r.bpb.toFixed(4)}`] };
    },
  };
}

/** Continuations of fixed prompts (seed + step, so a resumed run prints the same ones); nothing at step 0. */
export function sampleEvaluator(tokenizer: Tokenizer, prompts: readonly string[], maxNewTokens: number, seed: number): Evaluator<GPT> {
  return {
    name: 'samples',
    run(model, step) {
      if (maxNewTokens === 0 || step === 0) return {};
      const texts = sampleTexts(model, tokenizer, prompts, maxNewTokens, seed + step);
      return { lines: texts.map((text, i) => `sample: ${JSON.stringify(prompts[i] + text)}`) };
    },
  };
}
