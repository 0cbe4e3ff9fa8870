/**
 * Flags shared by the commands that train on preference pairs (`dpo`, `reward train`): the
 * shared training flags, a config file, and resume (the run's saved config, where a flag
 * that would change the run is refused — src/train/resume.ts).
 */
import type { Command } from 'commander';
import { applyResumeFlags, readSavedConfig, type ResumeFlag } from '../train/index.js';
import { intArg, numberArg, readConfigFile } from './options.js';

export interface PrefTrainOpts {
  initFrom?: string;
  data?: string[];
  valData?: string[];
  out: string;
  epochs?: number;
  maxSteps?: number;
  maxMinutes?: number;
  lr?: number;
  warmupSteps?: number;
  batch?: number;
  gradAccum?: number;
  config?: string;
  resume?: boolean;
  seed?: number;
  threads?: number;
  saveEvery?: number;
  evalEvery?: number;
  skipBadLines?: boolean;
  json?: boolean;
}

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


/** The flags common to both commands, as config paths. `extra` adds the command's own. */
export function commonFlags(o: PrefTrainOpts, section: string, extra: ResumeFlag[] = []): ResumeFlag[] {
  const f: ResumeFlag[] = [];
  const add = (flag: string, path: string, value: unknown): void => {
    if (value !== undefined) f.push({ flag, path, value });
  };
  add('--epochs', `${section}.epochs`, o.epochs);
  add('--max-steps', 'limits.maxSteps', o.maxSteps);
  add('--max-minutes', 'limits.maxMinutes', o.maxMinutes);
  add('--lr', 'optimizer.lr', o.lr);
  add('--warmup-steps', 'schedule.warmupSteps', o.warmupSteps);
  add('--batch', 'batch.microBatch', o.batch);
  add('--grad-accum', 'batch.gradAccum', o.gradAccum);
  add('--seed', 'seed', o.seed);
  add('--threads', 'threads', o.threads);
  add('--save-every', 'checkpoint.every', o.saveEvery);
  add('--eval-every', 'eval.every', o.evalEvery);
  return [...f, ...extra];
}

/**
 * Defaults, then --config FILE, then flags; with --resume the saved config, where only raising
 * --max-steps and --max-minutes are accepted.
 */
export function configFromFlags<C>(o: PrefTrainOpts, stage: string, parse: (v: unknown, source: string) => C, flags: ResumeFlag[]): { config: C; notes: string[] } {
  if (o.epochs !== undefined && o.maxSteps !== undefined) throw new Error('--epochs and --max-steps cannot be combined: choose one');
  if (o.resume) {
    if (o.config !== undefined) throw new Error('--config cannot be combined with --resume: the run continues with its saved config');
    const source = `${o.out} (saved config)`;
    const saved = parse(readSavedConfig(o.out, stage), source);
    const r = applyResumeFlags(saved as C & object, flags, source);
    return { config: parse(r.config, `${source} with flags`), notes: r.notes };
  }
  const base = o.config !== undefined ? readConfigFile(o.config) : {};
  const c = structuredClone(parse(base, o.config ?? 'defaults')) as Record<string, unknown>;
  for (const { path, value } of flags) {
    const keys = path.split('.');
    let obj = c;
    for (const k of keys.slice(0, -1)) obj = (obj[k] ??= {}) as Record<string, unknown>;
    obj[keys[keys.length - 1]] = value;
  }
  const limits = c.limits as Record<string, unknown>;
  if (o.epochs !== undefined && o.maxSteps === undefined) delete limits.maxSteps;
  return { config: parse(c, `${o.config ?? 'defaults'} with flags`), notes: [] };
}
