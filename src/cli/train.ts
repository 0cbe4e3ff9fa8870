/** `llmforge train`: pretraining (and, with --init-from, continued training) from token shards. */
import type { Command } from 'commander';
import { PRESET_NAMES } from '../nn/config.js';
import { join } from 'node:path';
import { parseTrainConfig, readTrainConfig, type TrainConfig } from '../train/config.js';
import { resumedConfig, train } from '../train/trainer.js';
import { applyResumeFlags, configDiff, openResume, type ResumeFlag } from '../train/resume.js';
import { applyThreads, intArg, numberArg } from './options.js';

export interface TrainFlags {
  data: string;
  out: string;
  preset?: string;
  config?: string;
  tokenizer?: string;
  maxSteps?: number;
  maxMinutes?: number;
  resume?: boolean;
  resumeFrom?: string;
  threads?: number;
  seed?: number;
  saveEvery?: number;
  evalEvery?: number;
  initFrom?: string;
  lr?: number;
  batch?: number;
  warmupSteps?: number;
}

/** Each config flag and the field it sets. */
const FLAG_PATHS: ReadonlyArray<[keyof TrainFlags, string, string]> = [
  ['preset', '--preset', 'model.preset'], ['maxSteps', '--max-steps', 'limits.maxSteps'], ['maxMinutes', '--max-minutes', 'limits.maxMinutes'],
  ['seed', '--seed', 'seed'], ['saveEvery', '--save-every', 'checkpoint.every'], ['evalEvery', '--eval-every', 'eval.every'],
  ['threads', '--threads', 'threads'], ['lr', '--lr', 'optimizer.lr'], ['batch', '--batch', 'batch.microBatch'],
  ['warmupSteps', '--warmup-steps', 'schedule.warmupSteps'],
];

function givenFlags(o: TrainFlags): ResumeFlag[] {
  return FLAG_PATHS.filter(([k]) => o[k] !== undefined).map(([k, flag, path]) => ({ flag, path, value: o[k] }));
}

/** The config file (or defaults), with flags applied on top; validated as a whole. */
export function configFromOptions(o: TrainFlags): TrainConfig {
  const base = o.config ? readTrainConfig(o.config) : parseTrainConfig({}, 'defaults');
  const merged = structuredClone(base) as TrainConfig & Record<string, unknown>;
  for (const { path, value } of givenFlags(o)) {
    const keys = path.split('.');
    let obj = merged as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) obj = obj[key] as Record<string, unknown>;
    obj[keys[keys.length - 1]] = value;
  }
  return parseTrainConfig(merged, o.config ? `${o.config} with flags` : 'flags');
}

/**
 * With --resume: the run's saved config; flags (and a --config file) may only repeat it,
 * except raising --max-steps and setting --max-minutes.
 */
function resumeConfigFromOptions(o: TrainFlags, saved: TrainConfig, source: string): { config: TrainConfig; notes: string[] } {
  if (o.config) {
    const file = readTrainConfig(o.config);
    const changed = configDiff(saved, file).filter((p) => !p.startsWith('limits.'));
    if (changed.length > 0) {
      throw new Error(`--config ${o.config}: --resume continues the run as it was saved in ${source}, but the file differs in ` +
        `${changed.map((p) => `${p}`).join(', ')}. Drop --config, or start a new run with another --out`);
    }
  }
  return applyResumeFlags(saved, givenFlags(o), source);
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
