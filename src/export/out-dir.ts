/**
 * Output folders written all at once: every file goes into a temporary sibling folder, which
 * is renamed into place at the end — a failure or a kill leaves no half-written model. An
 * existing non-empty folder is never replaced (nothing already written is damaged).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fsyncDir } from '../util/atomic.js';

/** Throws unless `out` can become a new folder (absent, or an empty folder). */
export function checkNewDir(out: string, flag: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new Error(`${flag} ${out}: exists and is not a folder`);
  if (readdirSync(out).length > 0) throw new Error(`${flag} ${out}: folder exists and is not empty (choose a new one or remove it)`);
}

export async function writeDirAtomic(out: string, flag: string, fill: (tmp: string) => void | Promise<void>): Promise<void> {
  const dir = resolve(out);
  checkNewDir(dir, flag);
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    await fill(tmp);
    if (existsSync(dir)) rmSync(dir, { recursive: true }); // empty, checked above
    renameSync(tmp, dir);
    fsyncDir(dirname(dir));
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
