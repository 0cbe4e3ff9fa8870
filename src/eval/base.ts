/**
 * The base-model eval: mean next-token loss and bits per byte over a prepared dataset's
 * whole validation split, read in order in non-overlapping windows of the model's context
 * (the same numbers training reports at its evals, but over every window, not a sample).
 * Bits per byte: total nats / ln 2 / the UTF-8 bytes of the predicted tokens, so models
 * with different tokenizers compare.
 */
import { Graph, withGraph } from '../autograd/graph.js';
import { readManifest, TokenLoader } from '../data/index.js';
import type { GPT } from '../nn/gpt.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface BaseEvalReport {
  eval: 'base';
  val_loss: number;
  val_bpb: number;
  /** Tokens predicted. */
  tokens: number;
}

export async function evalBase(model: GPT, tokenizer: Tokenizer, dataDir: string, o: { batch?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<BaseEvalReport> {
  const manifest = await readManifest(dataDir);
  if (manifest.tokenizer_hash !== tokenizer.hash) {
    throw new Error(`${dataDir}: prepared with another tokenizer (hash ${manifest.tokenizer_hash.slice(0, 12)}) than the model's (${tokenizer.hash.slice(0, 12)})`);
  }
  const T = model.config.contextLength;
  const B = o.batch ?? 8;
  const loader = await TokenLoader.open(dataDir, 'val', { context: T, batchSize: 1, mode: 'sequential' });
  const windows = Math.floor((loader.tokens - 1) / T);
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  const one = { inputs: new Int32Array(T), targets: new Int32Array(T) };
  const g = new Graph(false);
  let nats = 0;
  let tokens = 0;
  let bytes = 0;
  withGraph(g, () => {
    for (let w = 0; w < windows; w += B) {
      const rows = Math.min(B, windows - w);
      for (let r = 0; r < rows; r++) {
        loader.nextBatch(one.inputs, one.targets);
        inputs.set(one.inputs, r * T);
        targets.set(one.targets, r * T);
      }
      let count = 0;
      for (let i = 0; i < rows * T; i++) {
        const t = targets[i];
        if (t >= 0) {
          count++;
          bytes += tokenizer.tokenByteLength(t);
        }
      }
      if (count === 0) continue;
      g.reset();
      nats += model.loss(inputs.subarray(0, rows * T), targets.subarray(0, rows * T), rows, T).item() * count;
      tokens += count;
      o.onProgress?.(w + rows, windows);
    }
  });
  if (tokens === 0) throw new Error(`${dataDir}: the val split has no tokens to predict`);
  return { eval: 'base', val_loss: nats / tokens, val_bpb: bytes > 0 ? nats / Math.LN2 / bytes : 0, tokens };
}
