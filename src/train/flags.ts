/**
 * Train options (the `llmforge train` flags, a pipeline stage's settings) into one validated config:
 * the config file or defaults, the flags on top. Shared by the CLI, `finetune` and the pipeline,
 * so the errors name the CLI flags.
 */
import { parseTrainConfig, readTrainConfig, type TrainConfig } from './config.js';
import { applyResumeFlags, configDiff, type ResumeFlag } from './resume.js';

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
export function resumeConfigFromOptions(o: TrainFlags, saved: TrainConfig, source: string): { config: TrainConfig; notes: string[] } {
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
