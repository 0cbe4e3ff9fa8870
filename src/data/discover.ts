/**
 * Input discovery: files, folders (recursive, sorted) and globs become an ordered,
 * de-duplicated list of source files with a format each.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { DataError } from './errors.js';

export type SourceFormat = 'txt' | 'md' | 'jsonl';

export interface SourceFile {
  /** The path as the user will recognise it (input path joined with what was found under it). */
  path: string;
  format: SourceFormat;
  gzip: boolean;
  /** Size on disk in bytes (compressed size for .gz). */
  size: number;
}

export interface Discovery {
  sources: SourceFile[];
  /** Files found inside folders or by globs whose extension is not a supported format. */
  ignored: string[];
  /** Paths that exist but cannot be used (unreadable, not a regular file). */
  skipped: { path: string; reason: string }[];
}

const FORMATS: Record<string, SourceFormat> = {
  txt: 'txt',
  text: 'txt',
  md: 'md',
  markdown: 'md',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
};

/** Format of a file name, or null when its extension is not supported. */
export function formatOf(name: string): { format: SourceFormat; gzip: boolean } | null {
  const lower = name.toLowerCase();
  const gzip = lower.endsWith('.gz');
  const base = gzip ? lower.slice(0, -3) : lower;
  const dot = base.lastIndexOf('.');
  if (dot < 0) return null;
  const format = FORMATS[base.slice(dot + 1)];
  return format ? { format, gzip } : null;
}

const GLOB_CHARS = /[*?[{]/;

export function isGlob(p: string): boolean {
  return GLOB_CHARS.test(p);
}

/**
 * Compiles a glob to a RegExp over '/'-separated relative paths: `*` and `?` stay within
 * one path segment, `**` spans segments, `[abc]` / `[!abc]` classes, `{a,b}` alternatives.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let i = 0;
  let braces = 0;
  while (i < glob.length) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const atSegmentStart = i === 0 || glob[i - 1] === '/';
        const next = glob[i + 2];
        if (atSegmentStart && next === '/') {
          re += '(?:[^/]*/)*';
          i += 3;
          continue;
        }
        re += '.*';
        i += 2;
        continue;
      }
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
      } else {
        let body = glob.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = close + 1;
        continue;
      }
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) {
      re += '|';
    } else {
      re += c.replace(/[.+^$()|\\\]}]/g, '\\$&');
    }
    i++;
  }
  return new RegExp('^' + re + '$');
}

/** The part of a glob before its first segment with a glob character. */
function globBase(glob: string): string {
  const parts = glob.split('/');
  const base: string[] = [];
  for (const part of parts) {
    if (isGlob(part)) break;
    base.push(part);
  }
  if (base.length === parts.length) base.pop();
  const joined = base.join('/');
  return joined === '' ? (glob.startsWith('/') ? '/' : '.') : joined;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Found {
  path: string;
  size: number;
}

/**
 * Walks a folder recursively in sorted order. Entries whose names start with '.' are
 * not entered (version-control folders, editor files); symlinks are followed once.
 */
async function walk(
  dir: string,
  out: Found[],
  skipped: { path: string; reason: string }[],
  seenDirs: Set<string>,
): Promise<void> {
  let real: string;
  try {
    real = await realpath(dir);
  } catch (err) {
    skipped.push({ path: dir, reason: `unreadable folder: ${errText(err)}` });
    return;
  }
  if (seenDirs.has(real)) return;
  seenDirs.add(real);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    skipped.push({ path: dir, reason: `unreadable folder: ${errText(err)}` });
    return;
  }
  names.sort(byName);
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      skipped.push({ path: p, reason: `unreadable: ${errText(err)}` });
      continue;
    }
    if (st.isDirectory()) await walk(p, out, skipped, seenDirs);
    else if (st.isFile()) out.push({ path: p, size: st.size });
    else skipped.push({ path: p, reason: 'not a regular file' });
  }
}

export function errText(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    const msg = err instanceof Error ? err.message : String(err);
    // Node messages look like "EACCES: permission denied, open 'x'": keep the code and the words.
    const m = /^([A-Z]+): ([^,]+)/.exec(msg);
    return m ? `${m[1]} ${m[2]}` : err.code;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Says what discovery left out, one warning per kind (data prepare and tokenizer train alike). */
export function warnLeftOut(d: Discovery, warn: (message: string) => void): void {
  for (const s of d.skipped) warn(`skipped ${s.path}: ${s.reason}`);
  if (d.ignored.length > 0) {
    const shown = d.ignored.slice(0, 3).join(', ');
    warn(`ignored ${d.ignored.length} file(s) without a .txt/.md/.jsonl(.gz) extension: ${shown}${d.ignored.length > 3 ? ', …' : ''}`);
  }
}

/**
 * Expands the inputs. Explicit files are used whatever their extension (read as plain
 * text unless .md/.jsonl); files found in folders or by globs must have a supported
 * extension, the others are listed in `ignored`. A path that does not exist, or a glob
 * that matches nothing, is an error.
 */
export async function discoverInputs(inputs: readonly string[]): Promise<Discovery> {
  const found: { path: string; size: number; explicit: boolean }[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const ignored: string[] = [];
  for (const input of inputs) {
    let exists = true;
    try {
      await lstat(input);
    } catch {
      exists = false;
    }
    if (!exists) {
      if (!isGlob(input)) throw new DataError(`input '${input}' does not exist`);
      const posix = input.split(sep).join('/');
      const base = globBase(posix);
      const re = globToRegExp(posix.startsWith('./') ? posix.slice(2) : posix);
      const all: Found[] = [];
      try {
        await walk(base, all, skipped, new Set());
      } catch {
        // an unreadable base is reported by walk
      }
      let matched = 0;
      for (const f of all) {
        const rel = f.path.split(sep).join('/');
        const candidate = base === '.' ? relative('.', f.path).split(sep).join('/') : rel;
        if (!re.test(candidate)) continue;
        matched++;
        found.push({ ...f, explicit: false });
      }
      if (matched === 0) throw new DataError(`input glob '${input}' matched no files`);
      continue;
    }
    let st;
    try {
      st = await stat(input);
    } catch (err) {
      skipped.push({ path: input, reason: `unreadable: ${errText(err)}` });
      continue;
    }
    if (st.isDirectory()) {
      const all: Found[] = [];
      await walk(input, all, skipped, new Set());
      for (const f of all) found.push({ ...f, explicit: false });
    } else if (st.isFile()) {
      found.push({ path: input, size: st.size, explicit: true });
    } else {
      skipped.push({ path: input, reason: 'not a regular file' });
    }
  }
  const seen = new Set<string>();
  const sources: SourceFile[] = [];
  for (const f of found) {
    const key = resolve(f.path);
    if (seen.has(key)) continue;
    seen.add(key);
    const fmt = formatOf(f.path);
    if (fmt) {
      sources.push({ path: f.path, format: fmt.format, gzip: fmt.gzip, size: f.size });
    } else if (f.explicit) {
      const gzip = f.path.toLowerCase().endsWith('.gz');
      sources.push({ path: f.path, format: 'txt', gzip, size: f.size });
    } else {
      ignored.push(f.path);
    }
  }
  return { sources, ignored, skipped };
}
