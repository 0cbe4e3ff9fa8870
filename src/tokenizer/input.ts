/**
 * Streaming text input for training: files, folders and globs as the data stage finds them, gzip
 * files (`.gz`) decompressed, binary files skipped, read in chunks and cut into segments at places where the built-in
 * patterns always split, so memory stays bounded whatever the file size.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { discoverInputs, SkipSource, sniffBinary, warnLeftOut } from '../data/index.js';

export interface InputFile {
  path: string;
  /** Size on disk (compressed size for .gz): the unit of training progress. */
  size: number;
}

/**
 * Expands files, folders and globs with the data stage's discovery (src/data/discover.ts), so both
 * stages read the same files: in folders only .txt/.md/.jsonl (and .gz of them), hidden entries
 * skipped; what is left out is reported through `warn`. Throws naming a missing path.
 */
export async function listInputFiles(paths: readonly string[], warn: (message: string) => void): Promise<InputFile[]> {
  if (paths.length === 0) throw new Error('no --input given');
  const found = await discoverInputs(paths);
  warnLeftOut(found, warn);
  return found.sources.map((s) => ({ path: s.path, size: s.size }));
}

const SEGMENT = 1 << 20;
const MAX_CARRY = 8 << 20;

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

/**
 * Where to cut `text` (an index in (0, text.length)) so both sides pre-tokenize exactly as the whole
 * does with the gpt2/gpt4 patterns: just after a lone newline between two non-space characters, or
 * else before a single space that follows a non-space character. (Not after a longer run of white
 * space: gpt2 splits a run before a word differently from a run at the end of the text.)
 * Returns -1 if there is no such place.
 */
export function safeCut(text: string): number {
  for (let i = text.length - 2; i >= 1; i--) {
    if (text.charCodeAt(i) === 10 && !isSpace(text.charCodeAt(i + 1)) && !isSpace(text.charCodeAt(i - 1))) return i + 1;
  }
  for (let i = text.length - 2; i > 0; i--) {
    if (text.charCodeAt(i) === 32 && !isSpace(text.charCodeAt(i - 1)) && !isSpace(text.charCodeAt(i + 1))) return i;
  }
  return -1;
}

/**
 * Yields the text of `file` in segments of about 1 MB cut at safe places; `onBytes(n)` reports
 * bytes read from disk. Throws SkipSource, before yielding anything, when the start of the file
 * (after decompression) looks binary — the data stage's test (src/data/clean.ts).
 */
export async function* fileSegments(file: string, onBytes: (n: number) => void): AsyncGenerator<string> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const gz = file.endsWith('.gz');
  const stream = gz ? raw.pipe(createGunzip()) : raw;
  if (gz) raw.on('error', (err) => stream.destroy(err));
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let reported = 0;
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (first) {
        first = false;
        const why = sniffBinary(chunk);
        if (why) throw new SkipSource(why);
      }
      // Progress in bytes read from disk (compressed bytes for .gz).
      if (raw.bytesRead > reported) {
        onBytes(raw.bytesRead - reported);
        reported = raw.bytesRead;
      }
      carry += decoder.decode(chunk, { stream: true });
      while (carry.length >= SEGMENT) {
        let cut = safeCut(carry);
        if (cut <= 0) {
          if (carry.length < MAX_CARRY) break;
          cut = carry.length; // no safe place in 8 MB: cut anyway
        }
        yield carry.slice(0, cut);
        carry = carry.slice(cut);
        if (cut < SEGMENT / 4) break; // small cut: read more before trying again
      }
    }
  } catch (err) {
    if (err instanceof SkipSource) throw err;
    throw new Error(`${file}: read failed (${err instanceof Error ? err.message : String(err)})`);
  }
  if (raw.bytesRead > reported) onBytes(raw.bytesRead - reported);
  carry += decoder.decode();
  if (carry.length > 0) yield carry;
}
