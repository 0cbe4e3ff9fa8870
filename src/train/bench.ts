/** The training benchmark: random tokens through forward, backward, clipping and AdamW. */
import { GPT } from '../nn/gpt.js';
import type { GPTConfig } from '../nn/config.js';
import { AdamW, ADAMW_DEFAULTS } from '../optim/adamw.js';
import { Random } from '../tensor/random.js';
import { TrainStep } from './step.js';
import { mfu, peakFlops } from './flops.js';

export interface TrainBenchOptions {
  config: GPTConfig;
  batchSize: number;
  steps: number;
  warmup: number;
  seed: number;
  onStep?: (step: number, ms: number, loss: number) => void;
}

export interface TrainBenchResult {
  tokensPerSecond: number;
  stepMs: number;
  mfu: number;
  peakGflops: number;
  flopsPerToken: number;
  params: number;
  finalLoss: number;
}

export function benchTrain(o: TrainBenchOptions): TrainBenchResult {
  const { config } = o;
  const T = config.contextLength;
  const model = new GPT(config).init(o.seed);
  const optimizer = new AdamW(model.params, ADAMW_DEFAULTS);
  const step = new TrainStep(model, optimizer, o.batchSize, T, 1.0);
  const rng = new Random(o.seed + 1);
  const inputs = new Int32Array(o.batchSize * T);
  const targets = new Int32Array(o.batchSize * T);
  const times: number[] = [];
  let loss = 0;
  for (let i = 0; i < o.warmup + o.steps; i++) {
    for (let j = 0; j < inputs.length; j++) {
      inputs[j] = rng.int(config.vocabSize);
      targets[j] = rng.int(config.vocabSize);
    }
    const t0 = performance.now();
    loss = step.run([{ inputs, targets }], 1e-4).loss;
    const ms = performance.now() - t0;
    if (i >= o.warmup) times.push(ms);
    o.onStep?.(i, ms, loss);
  }
  times.sort((a, b) => a - b);
  const stepMs = times[Math.floor(times.length / 2)];
  const tokensPerSecond = (o.batchSize * T * 1000) / stepMs;
  const flopsPerToken = model.flopsPerToken(T);
  return {
    tokensPerSecond, stepMs, mfu: mfu(tokensPerSecond, flopsPerToken), peakGflops: peakFlops() / 1e9,
    flopsPerToken, params: model.params.count, finalLoss: loss,
  };
}
