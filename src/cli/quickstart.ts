/** `llmforge quickstart`: the whole flow on the embedded corpus (what `npm start` runs). */
import type { Command } from 'commander';
import { quickstart } from '../pipeline/quickstart.js';
import { applyThreads, intArg } from './options.js';

interface Opts {
  out: string;
  steps: number;
  fresh?: boolean;
  seed: number;
  threads?: number;
}

export function registerQuickstart(program: Command): void {
  program
    .command('quickstart')
    .description('tokenizer → data → pretraining → samples on the embedded corpus, in a few minutes')
    .option('--out <dir>', 'output folder', 'runs/quickstart')
    .option('--steps <n>', 'pretraining steps', intArg(1), 1500)
    .option('--fresh', 'replace an earlier quickstart in --out')
    .option('--seed <n>', 'random seed', intArg(0), 1337)
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .action(async (o: Opts) => {
      applyThreads(o.threads);
      await quickstart({ out: o.out, steps: o.steps, fresh: o.fresh ?? false, seed: o.seed });
    });
}
