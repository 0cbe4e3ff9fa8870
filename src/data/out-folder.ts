/**
 * The output folder of `data prepare`: a dataset is written into a hidden temporary folder beside
 * --out and renamed into place at the end. This module names those folders, cleans up after runs
 * that were killed (SIGKILL runs no cleanup), and turns the file system's refusals into sentences.
 */
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errText } from './discover.js';
import { DataError } from './errors.js';

/** Temporary folders of `out` are named `.NAME.tmp-PID-RANDOM` beside it (`-old` appended: a dataset moved aside). */
export function tempPrefix(outAbs: string): string {
  return `.${basename(outAbs)}.tmp-`;
}

function errCode(err: unknown): string {
  return err && typeof err === 'object' && 'code' in err ? String(err.code) : '';
}

/**
 * Runs a file operation on the output folder; a refusal by the file system becomes one sentence
 * naming --out (a read-only --out or parent used to surface as a raw `EPERM … rmdir`).
 */
export async function outputStep<T>(out: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = errCode(err);
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new DataError(`--out '${out}': cannot write there (${errText(err)}); choose a folder you can write to`);
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new DataError(`--out '${out}': the disk is full (${errText(err)})`);
    if (code === 'ENOTDIR') throw new DataError(`--out '${out}': a parent of it is a file, not a folder`);
    throw err;
  }
}

/** True when process `pid` exists (EPERM: it does, as another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === 'EPERM';
  }
}

/**
 * A run killed with SIGKILL cannot clean up: its temporary folder stays, hidden, forever. Each run
 * removes the ones of `out` whose process is gone (a live process's is still being written; this
 * process's own pid may be a concurrent call). A dataset moved aside by a killed --overwrite is put
 * back when `out` itself is missing, else dropped.
 */
export async function cleanStaleTemps(outAbs: string, warn: (message: string) => void): Promise<void> {
  const parent = dirname(outAbs);
  const prefix = tempPrefix(outAbs);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return; // unreadable parent: mkdir of the temporary folder reports it
  }
  // Moved-aside datasets first, so that their new data (the plain temporary folder) goes after.
  const stale = names
    .map((name) => ({ name, m: /^(\d+)-[0-9a-f]{8}(-old)?$/.exec(name.slice(prefix.length)) }))
    .filter((e) => e.name.startsWith(prefix) && e.m !== null)
    .sort((a, b) => Number(b.m?.[2] !== undefined) - Number(a.m?.[2] !== undefined));
  for (const { name, m } of stale) {
    const pid = Number(m?.[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const path = join(parent, name);
    try {
      if (m?.[2] !== undefined && !(await pathExists(outAbs))) {
        await rename(path, outAbs);
        warn(`restored ${outAbs} from ${path}, where process ${pid} had moved it before it was killed`);
        continue;
      }
      await rm(path, { recursive: true, force: true });
      warn(`removed ${path}, left by process ${pid} that is gone (killed during data prepare?)`);
    } catch (err) {
      warn(`cannot remove ${path}, left by process ${pid}: ${errText(err)}`);
    }
  }
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
