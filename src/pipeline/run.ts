/**
 * `llmforge run`: the stages in order, each in its own folder `OUT/<stage>-<key>/`, where the
 * key hashes the stage's options, the contents of its input files and the keys of the stages
 * it reads from. A folder with a stage.json is done (skipped); one without is an interrupted
 * run (the training stages resume from their last checkpoint, the others start over inside
 * it); a changed option gives a new key, so that stage and every one after it run again.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { resolveCheckpoint } from '../model/checkpoint.js';
import { writeFileAtomic, fsyncDir } from '../util/atomic.js';
import { formatDuration } from '../util/progress.js';
import { STAGE_NAMES, stageOn, type PipelineConfig, type StageName } from './config.js';
import { RUN_SUBDIR, RUNNERS, runThroughput, type StageContext } from './stages.js';
import { estimateSeconds } from './estimate.js';
import { writeReport } from './report.js';

/** Bump when a stage's meaning changes, so old folders are not taken for done. */
const PIPELINE_VERSION = 1;

/** What each stage reads from (its key includes theirs). */
const READS: Record<StageName, readonly StageName[]> = {
  tokenizer: [], data: ['tokenizer'], pretrain: ['tokenizer', 'data'], sft: ['pretrain'], prefs: ['sft'], dpo: ['sft', 'prefs'],
  reward: ['sft', 'prefs'], finetune: ['sft', 'dpo'],
  eval: ['data', 'pretrain', 'sft', 'dpo', 'reward', 'finetune'], export: ['sft', 'dpo', 'finetune'],
};
/** Options that change how fast a stage runs, not what it makes. */
const NOT_IN_KEY = new Set(['threads', 'enabled']);
/** Stages that continue from their last checkpoint after an interruption. */
const RESUMABLE = new Set<StageName>(['pretrain', 'sft', 'dpo', 'reward', 'finetune']);

export interface StageRecord {
  version: number;
  stage: StageName;
  key: string;
  options: Record<string, unknown>;
  reads: Record<string, string>;
  outputs: Record<string, string>;
  started: string;
  finished: string;
  seconds: number;
  /** Peak resident memory while the stage ran (MiB). */
  peak_rss_mb: number;
  tokens: number | null;
  tokens_per_s: number | null;
  /** Whether this run continued an interrupted one (seconds then count this process only). */
  resumed: boolean;
  summary: Record<string, unknown>;
}

export interface RunOptions {
  config: PipelineConfig;
  out: string;
  only?: StageName;
  from?: StageName;
  fresh?: boolean;
  log?: (line: string) => void;
}

export interface RunResult {
  out: string;
  stages: Array<{ stage: StageName; dir: string; status: 'done' | 'ran' | 'resumed' }>;
  /** The chat model (a checkpoint folder), when the pipeline has SFT. */
  final: string | null;
  report: { md: string; html: string };
  seconds: number;
}

export const FINAL_DIR = 'final';
const STAGE_DIR = new RegExp(`^(${STAGE_NAMES.join('|')})-[0-9a-f]{12}$`);
const LOCK_FILE = '.llmforge-run.lock';

/** One `llmforge run` per folder at a time; a lock left by a killed run (its process is gone) is taken over. */
function lock(out: string): () => void {
  const path = join(out, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      let alive = false;
      try {
        alive = Number.isInteger(pid) && pid > 0 && pid !== process.pid && (process.kill(pid, 0), true);
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`${out}: another llmforge run (pid ${pid}) is working in this folder (${path})`);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`${path}: cannot take the lock`);
}

/** Durations in logs: tenths under ten seconds (tiny pipelines), else formatDuration. */
export function seconds(s: number): string {
  return s < 10 ? `${s.toFixed(1)}s` : formatDuration(s);
}

/** sha256 of a file's bytes, or of a folder's files (names and bytes, sorted). */
function hashPath(path: string, h = createHash('sha256')): ReturnType<typeof createHash> {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`${path}: no such file or folder (an input of the pipeline)`);
  }
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      h.update(`\0${name}\0`);
      hashPath(join(path, name), h);
    }
  } else {
    h.update(readFileSync(path));
  }
  return h;
}

const INPUT_KEYS = new Set(['input', 'chatData', 'data', 'valData', 'prompts', 'config']);

/** The stage's key: its options, its input files' contents, and the keys it reads from. */
function stageKey(stage: StageName, options: Record<string, unknown>, reads: Record<string, string>): string {
  const files: Record<string, string> = {};
  for (const [k, v] of Object.entries(options)) {
    if (!INPUT_KEYS.has(k)) continue;
    for (const p of Array.isArray(v) ? v : typeof v === 'string' ? [v] : []) files[p as string] = hashPath(p as string).digest('hex');
  }
  const keyed = Object.fromEntries(Object.entries(options).filter(([k]) => !NOT_IN_KEY.has(k)).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify({ v: PIPELINE_VERSION, stage, options: keyed, files, reads })).digest('hex').slice(0, 12);
}

/**
 * A finished stage's record, with its outputs as absolute paths (stage.json keeps them relative
 * to the pipeline's folder, so a moved or copied folder still works). Null when not finished.
 */
export function readRecord(dir: string, out: string): StageRecord | null {
  const path = join(dir, 'stage.json');
  if (!existsSync(path)) return null;
  let r: StageRecord;
  try {
    r = JSON.parse(readFileSync(path, 'utf8')) as StageRecord;
  } catch (err) {
    throw new Error(`${path}: unreadable (${(err as Error).message}); delete that folder to redo the stage`);
  }
  if (r.version !== PIPELINE_VERSION) return null;
  return { ...r, outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, resolve(out, v)])) };
}

/** Resets the kernel's peak-RSS counter (Linux), so VmHWM measures this stage alone. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux: the process's peak so far
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Copies the chat model's checkpoint (without its optimizer state) to OUT/final, replacing it whole. */
function copyFinal(runDir: string, out: string): string {
  const src = resolveCheckpoint(runDir);
  const dest = join(out, FINAL_DIR);
  const tmp = join(out, `.${FINAL_DIR}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  for (const name of readdirSync(src)) {
    if (name === 'optimizer.safetensors') continue;
    copyFileSync(join(src, name), join(tmp, name));
  }
  writeFileSync(join(tmp, 'SOURCE'), `${src}\n`);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  fsyncDir(out);
  return dest;
}

export async function runPipeline(o: RunOptions): Promise<RunResult> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const c = o.config;
  const out = resolve(o.out);
  const t0 = performance.now();
  mkdirSync(out, { recursive: true });
  const unlock = lock(out);
  try {
    if (o.fresh) {
      // Only what a pipeline writes: stage folders, final/, the report.
      for (const name of readdirSync(out)) {
        if (STAGE_DIR.test(name) || name === FINAL_DIR || name.startsWith('report.')) rmSync(join(out, name), { recursive: true, force: true });
      }
    }
    return await runStages(o, c, out, t0, log);
  } finally {
    unlock();
  }
}

async function runStages(o: RunOptions, c: PipelineConfig, out: string, t0: number, log: (line: string) => void): Promise<RunResult> {
  const active = STAGE_NAMES.filter((s) => stageOn(c, s));
  for (const flag of ['only', 'from'] as const) {
    const s = o[flag];
    if (s !== undefined && !active.includes(s)) throw new Error(`--${flag} ${s}: not a stage of this pipeline (${active.join(', ')})`);
  }
  const startAt = o.from !== undefined ? active.indexOf(o.from) : o.only !== undefined ? active.indexOf(o.only) : 0;
  const estimates = new Map(active.map((s) => [s, estimateSeconds(s, c)]));
  const ctx: Omit<StageContext, 'dir' | 'resume'> = { outputs: {}, log };
  const keys: Partial<Record<StageName, string>> = {};
  const result: RunResult['stages'] = [];
  // Measured time over estimated time of the stages that ran here: scales the ETA of the rest.
  let spent = 0;
  let spentEstimate = 0;
  for (const [i, stage] of active.entries()) {
    const options = (c[stage] ?? {}) as Record<string, unknown>;
    const reads = Object.fromEntries(READS[stage].filter((s) => keys[s] !== undefined).map((s) => [s, keys[s] as string]));
    const key = stageKey(stage, options, reads);
    keys[stage] = key;
    const dir = join(out, `${stage}-${key}`);
    const record = readRecord(dir, out);
    const forced = i >= startAt && (o.only === undefined || stage === o.only) && (o.only !== undefined || o.from !== undefined);
    const head = `[stage ${i + 1} of ${active.length}] ${stage}`;
    if (record !== null && !forced) {
      ctx.outputs[stage] = record.outputs;
      result.push({ stage, dir, status: 'done' });
      log(`${head}: done (${dir}, ${seconds(record.seconds)})`);
      continue;
    }
    // After --only's stage: keys only, so that the report still shows the stages already done.
    if (o.only !== undefined && i > startAt) continue;
    if (i < startAt || (o.only !== undefined && stage !== o.only)) {
      throw new Error(`${head}: not done yet (${dir} has no stage.json), so --${o.only !== undefined ? 'only' : 'from'} cannot start later; run without it first`);
    }
    if (record !== null) rmSync(join(dir, 'stage.json'));
    const resume = RESUMABLE.has(stage) && existsSync(join(dir, RUN_SUBDIR, 'latest')) && !forced;
    if (forced) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const rest = active.slice(i).reduce((a, s) => a + (estimates.get(s) ?? 0), 0);
    // Seconds-long stages say little about this machine's speed; wait for a longer one.
    const scale = spentEstimate >= 30 ? spent / spentEstimate : 1;
    log(`${head}${resume ? ': resuming' : ''} → ${dir}   (overall ETA ${formatDuration(rest * scale)})`);
    const started = new Date();
    const peakReset = resetPeakRss();
    const s0 = performance.now();
    if (stage === 'export') {
      const chat = ctx.outputs.finetune?.run ?? ctx.outputs.dpo?.run ?? ctx.outputs.sft?.run;
      if (chat === undefined) throw new Error("stage 'export': the pipeline has no chat model to export (enable sft)");
      ctx.finalModel = copyFinal(chat, out);
    }
    let r;
    try {
      r = await RUNNERS[stage](c, { ...ctx, dir, resume });
    } catch (err) {
      throw new Error(`stage '${stage}' (${dir}): ${(err as Error).message}`);
    }
    const elapsed = (performance.now() - s0) / 1000;
    spent += elapsed;
    spentEstimate += estimates.get(stage) ?? 0;
    const run = r.outputs.run;
    const tps = run !== undefined ? runThroughput(run).tokensPerS : r.tokens !== undefined ? r.tokens / elapsed : null;
    const rec: StageRecord = {
      version: PIPELINE_VERSION, stage, key, options, reads, outputs: Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, relative(out, v)])), started: started.toISOString(), finished: new Date().toISOString(),
      seconds: elapsed, peak_rss_mb: peakReset ? peakRssMb() : process.resourceUsage().maxRSS / 1024, tokens: r.tokens ?? null, tokens_per_s: tps, resumed: resume, summary: r.summary,
    };
    writeFileAtomic(join(dir, 'stage.json'), `${JSON.stringify(rec, null, 2)}\n`);
    ctx.outputs[stage] = r.outputs;
    result.push({ stage, dir, status: resume ? 'resumed' : 'ran' });
    log(`${head}: finished in ${seconds(elapsed)}`);
    // Folders of this stage with other keys are stale now.
    for (const name of readdirSync(out)) {
      if (STAGE_DIR.test(name) && name.startsWith(`${stage}-`) && name !== `${stage}-${key}`) rmSync(join(out, name), { recursive: true, force: true });
    }
  }
  const chat = ctx.outputs.finetune?.run ?? ctx.outputs.dpo?.run ?? ctx.outputs.sft?.run;
  const final = chat !== undefined ? copyFinal(chat, out) : null;
  const report = writeReport(out, active.map((s) => ({ stage: s, dir: join(out, `${s}-${keys[s] as string}`) })));
  return { out, stages: result, final, report, seconds: (performance.now() - t0) / 1000 };
}
