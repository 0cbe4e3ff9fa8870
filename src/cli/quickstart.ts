/** `llmforge quickstart`: the whole flow on the embedded corpus (what `npm start` runs). */
import type { Command } from 'commander';
import { quickstart } from '../pipeline/quickstart.js';
import { applyThreads, intArg, numberArg } from './options.js';

interface Opts {
  out: string;
  steps: number;
  sftEpochs: number;
  sftSteps?: number;
  evalExamples?: number;
  fresh?: boolean;
  seed: number;
  threads?: number;
}

export function registerQuickstart(program: Command): void {
  program
    .command('quickstart')
    .description('tokenizer → data → pretraining → SFT → chat eval → sample answers on the embedded data, in a few minutes')
    .option('--out <dir>', 'output folder', 'runs/quickstart')
    .option('--steps <n>', 'pretraining steps', intArg(1), 1500)
    .option('--sft-epochs <n>', 'SFT passes over the embedded instruction set (0: no SFT)', numberArg(0, 100), 4)
    .option('--sft-steps <n>', 'SFT optimizer steps instead of epochs', intArg(1))
    .option('--eval-examples <n>', 'held-out conversations the chat eval reads (default: all)', intArg(1))
    .option('--fresh', 'replace an earlier quickstart in --out')
    .option('--seed <n>', 'random seed', intArg(0), 1337)
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .action(async (o: Opts) => {
      applyThreads(o.threads);
      await quickstart({ out: o.out, steps: o.steps, sftEpochs: o.sftEpochs, sftSteps: o.sftSteps, evalExamples: o.evalExamples, fresh: o.fresh ?? false, seed: o.seed });
    });
}
