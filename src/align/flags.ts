/**
 * Alignment options (the `llmforge sft` / `dpo` / `reward train` flags, a pipeline stage's settings)
 * into one validated config: defaults, then a config file or the run's saved config, then the flags.
 * Shared by the CLI, `finetune` and the pipeline, so the errors name the CLI flags.
 */
import { applyResumeFlags, readConfigFile, readSavedConfig, type ResumeFlag } from '../train/index.js';
import { parseSftConfig, readSavedSftConfig, type SftConfig } from './sft.js';

/** The flags every alignment trainer (`sft`, `dpo`, `reward train`) takes. */
interface AlignRunFlags {
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
  config?: string;
  resume?: boolean;
  seed?: number;
  threads?: number;
  saveEvery?: number;
  evalEvery?: number;
  skipBadLines?: boolean;
  json?: boolean;
}

export interface SftFlags extends AlignRunFlags {
  layout?: 'packed' | 'padded';
}

export interface PrefTrainOpts extends AlignRunFlags {
  gradAccum?: number;
}

/** Defaults, then the run's saved config (--resume) or --config FILE, then flags; validated as a whole. */
export function sftConfigFromOptions(o: SftFlags, stage = 'sft'): SftConfig {
  let base: Record<string, unknown> = {};
  let source = 'defaults';
  if (o.config !== undefined) {
    base = readConfigFile(o.config);
    source = o.config;
  } else if (o.resume) {
    base = readSavedSftConfig(o.out, stage) as unknown as Record<string, unknown>;
    source = `${o.out} (saved config)`;
  }
  const c = structuredClone(parseSftConfig(base, source)) as unknown as Record<string, unknown>;
  setPaths(c, commonFlags(o, 'sft', o.layout !== undefined ? [{ flag: '--layout', path: 'sft.layout', value: o.layout }] : []));
  // A step limit wins over epochs; --epochs on its own clears a step limit from the file or the saved run.
  if (o.epochs !== undefined && o.maxSteps === undefined) delete (c.limits as Record<string, unknown>).maxSteps;
  return parseSftConfig(c, `${source} with flags`);
}

/** The flags the alignment trainers share, as config paths (`section` holds epochs). `extra` adds the command's own. */
export function commonFlags(o: AlignRunFlags & { gradAccum?: number }, section: string, extra: ResumeFlag[] = []): ResumeFlag[] {
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
  setPaths(c, flags);
  const limits = c.limits as Record<string, unknown>;
  if (o.epochs !== undefined && o.maxSteps === undefined) delete limits.maxSteps;
  return { config: parse(c, `${o.config ?? 'defaults'} with flags`), notes: [] };
}

/** Sets each flag's value at its dotted config path, creating sections that are missing. */
function setPaths(c: Record<string, unknown>, flags: readonly ResumeFlag[]): void {
  for (const { path, value } of flags) {
    const keys = path.split('.');
    let obj = c;
    for (const k of keys.slice(0, -1)) obj = (obj[k] ??= {}) as Record<string, unknown>;
    obj[keys[keys.length - 1]] = value;
  }
}
