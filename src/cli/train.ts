/** `llmforge train`: pretraining (and, with --init-from, continued training) from token shards. */
import type { Command } from 'commander';
import { PRESET_NAMES } from '../nn/config.js';
import { parseTrainConfig, readTrainConfig, type TrainConfig } from '../train/config.js';
import { train } from '../train/trainer.js';
import { applyThreads, intArg, numberArg } from './options.js';

interface Opts {
  data: string;
  out: string;
  preset?: string;
  config?: string;
  tokenizer?: string;
  maxSteps?: number;
  maxMinutes?: number;
  resume?: boolean;
  threads?: number;
  seed?: number;
  saveEvery?: number;
  evalEvery?: number;
  initFrom?: string;
  lr?: number;
  batch?: number;
}

/** The config file (or defaults), with flags applied on top; validated as a whole. */
export function configFromOptions(o: Opts): TrainConfig {
  const base = o.config ? readTrainConfig(o.config) : parseTrainConfig({}, 'defaults');
  const merged = structuredClone(base);
  if (o.preset !== undefined) merged.model.preset = o.preset;
  if (o.maxSteps !== undefined) merged.limits.maxSteps = o.maxSteps;
  if (o.maxMinutes !== undefined) merged.limits.maxMinutes = o.maxMinutes;
  if (o.seed !== undefined) merged.seed = o.seed;
  if (o.saveEvery !== undefined) merged.checkpoint.every = o.saveEvery;
  if (o.evalEvery !== undefined) merged.eval.every = o.evalEvery;
  if (o.threads !== undefined) merged.threads = o.threads;
  if (o.lr !== undefined) merged.optimizer.lr = o.lr;
  if (o.batch !== undefined) merged.batch.microBatch = o.batch;
  return parseTrainConfig(merged, o.config ? `${o.config} with flags` : 'flags');
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('pretrain a GPT on prepared token shards (resumable, with evals, samples and plots)')
    .requiredOption('--data <dir>', 'prepared data folder (llmforge data prepare)')
    .requiredOption('--out <dir>', 'run folder: checkpoints, metrics.jsonl, loss.svg, lr.svg')
    .option('--preset <name>', `model preset (${PRESET_NAMES.join(', ')})`)
    .option('--config <file>', 'training config JSON (see docs/TRAINING.md); flags override it')
    .option('--tokenizer <path>', 'tokenizer.json (default: the one in the data folder)')
    .option('--max-steps <n>', 'optimizer steps', intArg(1))
    .option('--max-minutes <m>', 'stop after this much wall time', numberArg(0.001))
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .option('--init-from <checkpoint>', 'start from these weights with a fresh optimizer')
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--seed <n>', 'random seed', intArg(0))
    .option('--save-every <n>', 'checkpoint every n steps (0: only at the end)', intArg(0))
    .option('--eval-every <n>', 'evaluate and sample every n steps (0: only at the end)', intArg(0))
    .option('--lr <x>', 'peak learning rate', numberArg(1e-8, 1))
    .option('--batch <n>', 'sequences per micro-batch', intArg(1))
    .action(async (o: Opts) => {
      if (o.resume && o.initFrom) throw new Error('--resume and --init-from cannot be combined');
      const config = configFromOptions(o);
      applyThreads(config.threads);
      const r = await train({ dataDir: o.data, outDir: o.out, config, resume: o.resume, initFrom: o.initFrom, tokenizerPath: o.tokenizer });
      process.stderr.write(`done: ${r.steps} steps in ${r.seconds.toFixed(1)} s, train loss ${r.finalTrainLoss.toFixed(4)}` +
        `${r.finalValLoss !== null ? `, val loss ${r.finalValLoss.toFixed(4)}` : ''}; checkpoint ${r.checkpoint}\n`);
    });
}
