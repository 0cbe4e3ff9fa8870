/**
 * Opening a run to resume it: the checkpoint `latest` names, checked intact, and its
 * trainer_state.json. Stale temporaries of a killed checkpoint write are removed.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINTS_DIR, LATEST_FILE, resolveCheckpoint } from '../model/checkpoint.js';
import type { TrainerState } from './loop.js';

export function openResume(outDir: string): { dir: string; state: TrainerState } {
  const root = join(outDir, CHECKPOINTS_DIR);
  if (!existsSync(join(outDir, LATEST_FILE))) throw new Error(`--resume: ${outDir} has no checkpoint to resume from`);
  if (existsSync(root)) for (const n of readdirSync(root)) if (n.startsWith('.tmp-')) rmSync(join(root, n), { recursive: true, force: true });
  const dir = resolveCheckpoint(outDir);
  const state = JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  return { dir, state };
}
