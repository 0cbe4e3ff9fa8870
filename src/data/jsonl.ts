/**
 * JSONL records from files, folders and globs (plain or .gz), each parsed by the caller's
 * schema: chat data, preference pairs and prompts all read this way. A malformed line stops
 * the read with `file:line: what is wrong` (the parser names the field), or, with
 * skipBadLines, is counted and skipped.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { discoverInputs, errText, type SourceFile } from './discover.js';
import { DataError } from './errors.js';

/** A record that is wrong in itself; the reader adds its file:line. */
export class LineError extends Error {}

export interface JsonlOptions {
  /** Count and skip malformed lines instead of stopping at the first. */
  skipBadLines?: boolean;
  /** Called with each skipped line's place (file:line) and what is wrong with it. */
  onSkip?: (where: string, why: string) => void;
}

export const describeJson = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/**
 * Every record of `paths`, in input order then line order, with its file:line. A file named
 * explicitly is read as JSONL whatever its extension; inside folders and globs only
 * .jsonl/.ndjson (optionally .gz) files are read, so a README beside the data is ignored.
 */
export async function readJsonlRecords<R>(paths: readonly string[], what: string, parse: (value: unknown) => R, opts: JsonlOptions = {}): Promise<Array<{ record: R; where: string }>> {
  if (paths.length === 0) throw new DataError(`no ${what} given`);
  const found = await discoverInputs([...paths]);
  if (found.skipped.length > 0) throw new DataError(`${found.skipped[0].path}: ${found.skipped[0].reason}`);
  const explicit = new Set(paths.map((p) => resolve(p)));
  const sources = found.sources.filter((s) => s.format === 'jsonl' || explicit.has(resolve(s.path)));
  if (sources.length === 0) throw new DataError(`no .jsonl or .jsonl.gz files in ${paths.join(', ')}`);
  const out: Array<{ record: R; where: string }> = [];
  for (const src of sources) await readFile(src, parse, opts, out);
  if (out.length === 0) throw new DataError(`no valid ${what} in ${paths.join(', ')}`);
  return out;
}

async function readFile<R>(src: SourceFile, parse: (value: unknown) => R, opts: JsonlOptions, out: Array<{ record: R; where: string }>): Promise<void> {
  const rs = createReadStream(src.path);
  let input: NodeJS.ReadableStream = rs;
  if (src.gzip) {
    const gz = createGunzip();
    rs.on('error', (err) => gz.destroy(err));
    input = rs.pipe(gz);
  }
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  try {
    for await (const raw of lines) {
      lineNo++;
      const s = lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw; // byte-order mark
      if (s.trim() === '') continue;
      const where = `${src.path}:${lineNo}`;
      try {
        let value: unknown;
        try {
          value = JSON.parse(s);
        } catch (err) {
          throw new LineError(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
        }
        out.push({ record: parse(value), where });
      } catch (err) {
        if (!(err instanceof LineError)) throw err;
        if (!opts.skipBadLines) throw new DataError(`${where}: ${err.message} (use --skip-bad-lines to skip such lines)`);
        opts.onSkip?.(where, err.message);
      }
    }
  } catch (err) {
    if (err instanceof DataError) throw err;
    const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : '';
    if (src.gzip && (code.startsWith('Z_') || /unexpected end of file|incorrect header/i.test(String(err)))) {
      throw new DataError(`${src.path}: corrupt gzip after line ${lineNo}: ${err instanceof Error ? err.message : String(err)}`);
    }
    throw new DataError(`${src.path}: unreadable after line ${lineNo}: ${errText(err)}`);
  } finally {
    lines.close();
    rs.destroy();
  }
}
