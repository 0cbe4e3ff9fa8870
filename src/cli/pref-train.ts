/**
 * Flags shared by the commands that train on preference pairs (`dpo`, `reward train`): the
 * shared training flags, a config file, and resume (the run's saved config, where a flag
 * that would change the run is refused — src/train/resume.ts). The config they make is built by
 * commonFlags / configFromFlags in src/align/flags.ts, which the pipeline's stages call too.
 */
import type { Command } from 'commander';
import { intArg, numberArg } from './options.js';

export function addPrefTrainOptions(cmd: Command, defaults: { lr: number; batch: number; epochs: number }): Command {
  return cmd
    .option('--init-from <model>', 'SFT run folder or checkpoint (required unless --resume)')
    .option('--data <path...>', 'preference pairs JSONL ({"prompt":[messages],"chosen","rejected"}): files, folders, globs, .jsonl.gz; human and rule-made files mix')
    .option('--val-data <path...>', 'held-out pairs (default: a share of --data, chosen by content)')
    .requiredOption('--out <dir>', 'run folder: checkpoints (with tokenizer_config.json), metrics.jsonl, plots')
    .option('--epochs <n>', `passes over the pairs (default ${defaults.epochs})`, numberArg(0.001, 1e6))
    .option('--max-steps <n>', 'optimizer steps (instead of --epochs)', intArg(1))
    .option('--max-minutes <m>', 'stop after this much wall time', numberArg(0.001))
    .option('--lr <x>', `peak learning rate (default ${defaults.lr})`, numberArg(1e-10, 1))
    .option('--warmup-steps <n>', 'learning-rate warmup (at most a fifth of the run)', intArg(0))
    .option('--batch <n>', `rows per micro-batch, as many pairs as fit (default ${defaults.batch})`, intArg(1))
    .option('--grad-accum <n>', 'micro-batches per optimizer step (default 1)', intArg(1))
    .option('--config <file>', 'config JSON (the train config without "model"); flags override it')
    .option('--resume', 'continue the run in --out from its latest checkpoint with its saved config')
    .option('--seed <n>', 'random seed (pair order, a new head)', intArg(0))
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--save-every <n>', 'checkpoint every n steps (0: only at the end)', intArg(0))
    .option('--eval-every <n>', 'held-out eval every n steps (0: only at the end)', intArg(0))
    .option('--skip-bad-lines', 'count and skip malformed JSONL lines instead of stopping')
    .option('--json', 'print a JSON summary on stdout at the end');
}
