/** `llmforge train`: pretraining (and, with --init-from, continued training) from token shards. */
import type { Command } from 'commander';
import { PRESET_NAMES } from '../nn/config.js';
import { join } from 'node:path';
import { configFromOptions, openResume, resumeConfigFromOptions, resumedConfig, train, type TrainConfig, type TrainFlags } from '../train/index.js';
import { applyThreads, intArg, numberArg } from './options.js';

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
    .option('--resume', 'continue the run in --out from its latest checkpoint, with its saved settings')
    .option('--resume-from <checkpoint>', 'continue the run in --out from this checkpoint (e.g. step-0000400) instead of the latest')
    .option('--init-from <checkpoint>', 'start from these weights with a fresh optimizer')
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--seed <n>', 'random seed', intArg(0))
    .option('--save-every <n>', 'checkpoint every n steps (0: only at the end)', intArg(0))
    .option('--eval-every <n>', 'evaluate and sample every n steps (0: only at the end)', intArg(0))
    .option('--lr <x>', 'peak learning rate', numberArg(1e-8, 1))
    .option('--batch <n>', 'sequences per micro-batch', intArg(1))
    .option('--warmup-steps <n>', 'learning-rate warmup steps (default 100; more than half the run becomes a tenth of it)', intArg(0))
    .action(async (o: TrainFlags) => {
      if ((o.resume || o.resumeFrom) && o.initFrom) throw new Error('--resume and --init-from cannot be combined');
      let config: TrainConfig;
      let run;
      if (o.resume || o.resumeFrom !== undefined) {
        run = openResume(o.out, o.resumeFrom);
        const source = join(run.dir, 'trainer_state.json');
        // Raised limits are logged by train() as it applies them.
        config = resumeConfigFromOptions(o, resumedConfig(run, undefined, () => {}), source).config;
      } else {
        config = configFromOptions(o);
      }
      applyThreads(config.threads);
      const r = await train({ dataDir: o.data, outDir: o.out, config, resume: run, initFrom: o.initFrom, tokenizerPath: o.tokenizer });
      process.stderr.write(`done: ${r.steps} steps in ${r.seconds.toFixed(1)} s, train loss ${r.finalTrainLoss.toFixed(4)}` +
        `${r.finalValLoss !== null ? `, val loss ${r.finalValLoss.toFixed(4)}` : ''}; checkpoint ${r.checkpoint}\n`);
    });
}
