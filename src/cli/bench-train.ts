/** `llmforge bench train`: tokens/s, step time and MFU of a full training step. */
import type { Command } from 'commander';
import { preset, PRESET_NAMES } from '../nn/config.js';
import { benchTrain } from '../train/bench.js';
import { backend, isa } from '../tensor/registry.js';
import { applyThreads, intArg } from './options.js';

interface Opts {
  preset: string;
  steps: number;
  warmup: number;
  batch: number;
  threads?: number;
  seed: number;
  json?: boolean;
}

export function registerBenchTrain(bench: Command): void {
  bench
    .command('train')
    .description('time forward + backward + clipping + AdamW on random tokens')
    .option('--preset <name>', `model preset (${PRESET_NAMES.join(', ')})`, 'ref')
    .option('--steps <n>', 'timed steps', intArg(1), 10)
    .option('--warmup <n>', 'untimed steps first', intArg(0), 2)
    .option('--batch <n>', 'sequences per step', intArg(1), 8)
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--seed <n>', 'random seed', intArg(0), 1337)
    .option('--json', 'print one JSON line')
    .action((o: Opts) => {
      const config = preset(o.preset);
      const threads = applyThreads(o.threads);
      const r = benchTrain({
        config, batchSize: o.batch, steps: o.steps, warmup: o.warmup, seed: o.seed,
        onStep: o.json ? undefined : (i, ms, loss) => {
          const tag = i < o.warmup ? 'warmup' : 'step';
          process.stderr.write(`${tag} ${i}: ${ms.toFixed(1)} ms, loss ${loss.toFixed(4)}\n`);
        },
      });
      const record = {
        bench: 'train', preset: o.preset, batch: o.batch, context: config.contextLength, threads, backend: backend(), isa: isa(),
        params: r.params, tokens_per_s: round(r.tokensPerSecond, 1), step_ms: round(r.stepMs, 2), mfu: round(r.mfu, 4),
        peak_gflops: round(r.peakGflops, 1),
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(record)}\n`);
      } else {
        process.stdout.write(
          `bench train: preset ${o.preset} (${(r.params / 1e6).toFixed(2)}M params), batch ${o.batch}×${config.contextLength}, ` +
          `${threads} threads, ${backend()}/${isa()}\n` +
          `  ${record.tokens_per_s} tokens/s, ${record.step_ms} ms/step, ` +
          `${r.peakGflops > 0 ? `MFU ${(r.mfu * 100).toFixed(1)}% of ${record.peak_gflops} GFLOP/s measured peak` : 'MFU n/a (the peak is measured natively)'}\n`,
        );
      }
    });
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
