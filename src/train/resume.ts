/**
 * Resuming continues the same run. The checkpoint to continue from is checked before
 * anything is loaded (a damaged one names the last intact checkpoint and how to resume
 * from it), its trainer_state.json is validated, and the run's saved config is what the
 * resumed run uses: a flag that would change it is refused, naming the flag and both
 * values, except raising the step limit (the schedule's horizon moves, which is logged)
 * and the wall-clock limit of this invocation.
 */
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CHECKPOINTS_DIR, LATEST_FILE, listCheckpoints, resolveCheckpoint } from '../model/checkpoint.js';
import type { TrainerState } from './loop.js';

export interface OpenedRun {
  /** The checkpoint directory resumed from. */
  dir: string;
  state: TrainerState;
}

/**
 * Opens `outDir`'s latest checkpoint (or `from`: a checkpoint name in the run, or a path
 * to one of its checkpoints) for resuming; leftovers of a killed checkpoint write are removed.
 */
export function openResume(outDir: string, from?: string): OpenedRun {
  const root = join(outDir, CHECKPOINTS_DIR);
  const latestFile = join(outDir, LATEST_FILE);
  if (!existsSync(latestFile) && from === undefined) throw new Error(`--resume: ${outDir} has no checkpoint to resume from`);
  if (existsSync(root)) for (const n of readdirSync(root)) if (n.startsWith('.tmp-')) rmSync(join(root, n), { recursive: true, force: true });
  let dir: string;
  if (from !== undefined) {
    dir = existsSync(join(root, from)) ? join(root, from) : resolve(from);
    if (resolve(dir, '..') !== resolve(root) || !existsSync(dir)) {
      throw new Error(`--resume-from ${from}: not a checkpoint of ${outDir} (choose one of: ${listCheckpoints(outDir).join(', ') || 'none'})`);
    }
  } else {
    dir = join(root, readFileSync(latestFile, 'utf8').trim());
  }
  const problem = checkpointProblem(dir);
  if (problem !== null) {
    const intact = listCheckpoints(outDir).filter((n) => n < basename(dir)).reverse().find((n) => checkpointProblem(join(root, n)) === null);
    throw new Error(`${problem}. ${intact
      ? `The last intact checkpoint is ${join(root, intact)}: resume from it with --resume-from ${intact} (later checkpoints are replaced as the run continues).`
      : 'No intact checkpoint is left in this run: start a new one.'}`);
  }
  return { dir, state: readTrainerState(join(dir, 'trainer_state.json')) };
}

/** Null when a checkpoint's files are all there and whole; else what is wrong, naming the file. */
export function checkpointProblem(dir: string): string | null {
  if (!existsSync(dir)) return `${dir}: no such checkpoint`;
  for (const f of ['model.safetensors', 'optimizer.safetensors']) {
    const why = safetensorsProblem(join(dir, f));
    if (why !== null) return `${join(dir, f)}: ${why}`;
  }
  try {
    readTrainerState(join(dir, 'trainer_state.json'));
  } catch (err) {
    return (err as Error).message;
  }
  return null;
}

/** Header and length check without reading the tensors: a truncated or garbled file is caught. */
function safetensorsProblem(path: string): string | null {
  if (!existsSync(path)) return 'missing';
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < 8) return `${size} bytes, truncated`;
    const head = Buffer.alloc(8);
    readSync(fd, head, 0, 8, 0);
    const headerLen = Number(head.readBigUInt64LE(0));
    if (headerLen > size - 8) return `header length ${headerLen} exceeds the file size ${size} (truncated)`;
    const header = Buffer.alloc(headerLen);
    readSync(fd, header, 0, headerLen, 8);
    let json: Record<string, { data_offsets?: [number, number] }>;
    try {
      json = JSON.parse(header.toString('utf8')) as typeof json;
    } catch {
      return 'the header is not JSON (damaged)';
    }
    let end = 0;
    for (const [name, e] of Object.entries(json)) if (name !== '__metadata__') end = Math.max(end, e.data_offsets?.[1] ?? 0);
    if (8 + headerLen + end > size) return `holds ${size} bytes but its tensors need ${8 + headerLen + end} (truncated)`;
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Reads and validates trainer_state.json; every error names the file (and the field). */
export function readTrainerState(path: string): TrainerState {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${path}: ${code === 'ENOENT' ? 'missing' : `not valid JSON (${(err as Error).message})`}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${path}: expected a JSON object`);
  const s = raw as Record<string, unknown>;
  for (const f of ['step', 'tokens_seen', 'consecutive_bad_steps']) {
    if (!Number.isSafeInteger(s[f]) || (s[f] as number) < 0) throw new Error(`${path}: field ${f} must be a non-negative integer, got ${JSON.stringify(s[f])}`);
  }
  if (typeof s.train_seconds !== 'number' || !(s.train_seconds >= 0)) throw new Error(`${path}: field train_seconds must be a non-negative number`);
  if (typeof s.data_position !== 'object' || s.data_position === null) throw new Error(`${path}: field data_position must be an object`);
  return s as TrainerState;
}

/** A flag given together with --resume: where it lives in the run's config, and its value. */
export interface ResumeFlag {
  flag: string;
  path: string;
  value: unknown;
}

/** Paths whose change a resumed run accepts: raising the step limit, and this invocation's wall-clock limit. */
const STEP_LIMIT = 'limits.maxSteps';
const TIME_LIMIT = 'limits.maxMinutes';

function getPath(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]] = value;
}

const show = (v: unknown): string => (v === undefined ? '(unset)' : JSON.stringify(v));

/** Every path where two JSON values differ. */
export function configDiff(a: unknown, b: unknown, prefix = ''): string[] {
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => configDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(root)'];
}

/**
 * The saved config with the flags given alongside --resume applied. A flag that changes the
 * run is refused, naming it and both values; raising --max-steps and any --max-minutes
 * are applied and described in the returned notes.
 */
export function applyResumeFlags<C extends object>(saved: C, flags: readonly ResumeFlag[], source: string): { config: C; notes: string[] } {
  const config = structuredClone(saved) as C & Record<string, unknown>;
  const notes: string[] = [];
  const refused: string[] = [];
  for (const { flag, path, value } of flags) {
    const before = getPath(saved, path);
    if (JSON.stringify(before) === JSON.stringify(value)) continue;
    if (path === STEP_LIMIT && typeof value === 'number' && (before === undefined || (typeof before === 'number' && value > before))) {
      notes.push(`${flag} ${value}: the run now trains to step ${value} (was ${show(before)}); the learning-rate schedule's horizon moves with it`);
    } else if (path === TIME_LIMIT) {
      notes.push(`${flag} ${String(value)}: this invocation stops after ${String(value)} minutes (was ${show(before)})`);
    } else if (path === STEP_LIMIT) {
      refused.push(`${flag} ${show(value)} is below the saved run's ${show(before)} (only raising it is allowed)`);
      continue;
    } else {
      refused.push(`${flag} ${show(value)} differs from the saved run's ${show(before)} (${path})`);
      continue;
    }
    setPath(config, path, value);
  }
  if (refused.length > 0) {
    throw new Error(`--resume continues the run as it was saved in ${source}: ${refused.join('; ')}. Drop the flag, or start a new run with another --out`);
  }
  return { config, notes };
}

/**
 * The config a training stage saved with run `runDir` (its latest checkpoint's trainer_state.json),
 * checked to come from a `stage` run (`label` names it in the error); the caller validates it.
 */
export function readSavedConfig(runDir: string, stage: string, label = `a ${stage}`): unknown {
  const path = join(resolveCheckpoint(runDir), 'trainer_state.json');
  const state = readTrainerState(path);
  if (state.stage !== stage) throw new Error(`--resume: ${path} is not from ${label} run (stage ${String(state.stage)})`);
  return state.config;
}
