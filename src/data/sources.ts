/**
 * Reading one source file as a stream of clean documents: .txt/.md are cut into
 * documents of about `docChars` characters, .jsonl gives one document per line; .gz of
 * either is decompressed on the fly. Memory stays bounded by the chunk size and the
 * longest JSONL line.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { Sectioner, TextCleaner, cleanText, finishDocument, sniffBinary } from './clean.js';
import type { SourceFile } from './discover.js';
import { errText } from './discover.js';
import { DataError, SkipSource } from './errors.js';
import { Utf8StreamDecoder } from './utf8.js';

export interface SourceStats {
  path: string;
  format: SourceFile['format'];
  gzip: boolean;
  /** Size on disk (compressed for .gz). */
  bytes: number;
  /** Documents read (before the length filter and dedup). */
  documents: number;
  /** Documents written to the shards. */
  kept: number;
  duplicates: number;
  too_short: number;
  invalid_bytes: number;
  control_chars: number;
  bad_lines: number;
  tokens: number;
}

export function newStats(src: SourceFile): SourceStats {
  return {
    path: src.path,
    format: src.format,
    gzip: src.gzip,
    bytes: src.size,
    documents: 0,
    kept: 0,
    duplicates: 0,
    too_short: 0,
    invalid_bytes: 0,
    control_chars: 0,
    bad_lines: 0,
    tokens: 0,
  };
}

export interface ReadOptions {
  /** JSONL field holding the text; a dotted path reaches into nested objects. */
  textField: string;
  /** Turn malformed JSONL lines and missing text fields into counted skips instead of errors. */
  skipBadLines: boolean;
  /** Target document length for .txt/.md (UTF-16 units). */
  docChars: number;
  /** Called with each skipped bad line's message. */
  onBadLine?: (message: string) => void;
  /** Called with the number of source bytes (on disk) consumed since the last call. */
  onBytes?: (bytes: number) => void;
  /** Read chunk size in bytes. */
  chunkBytes?: number;
}

export interface Document {
  text: string;
  /** 1-based line of a JSONL document. */
  line?: number;
}

interface Handler {
  push(text: string): Document[];
  end(): Document[];
}

function textHandler(docChars: number, cleaner: TextCleaner): Handler {
  const sectioner = new Sectioner(docChars);
  const finish = (parts: string[]): Document[] => parts.map((p) => ({ text: finishDocument(p) }));
  return {
    push: (text) => finish(sectioner.push(cleaner.push(text))),
    end: () => finish([...sectioner.push(cleaner.end()), ...sectioner.end()]),
  };
}

function lookupField(obj: Record<string, unknown>, field: string): unknown {
  if (field in obj) return obj[field];
  if (!field.includes('.')) return undefined;
  let cur: unknown = obj;
  for (const part of field.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function jsonlHandler(src: SourceFile, stats: SourceStats, opts: ReadOptions): Handler {
  let pending = '';
  let lineNo = 0;
  const bad = (message: string): void => {
    const full = `${src.path}:${lineNo}: ${message}`;
    if (!opts.skipBadLines) throw new DataError(`${full} (use --skip-bad-lines to skip such lines)`);
    stats.bad_lines++;
    opts.onBadLine?.(full);
  };
  const line = (raw: string, out: Document[]): void => {
    lineNo++;
    let s = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (lineNo === 1 && s.charCodeAt(0) === 0xfeff) s = s.slice(1); // byte-order mark
    if (s.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(s);
    } catch (err) {
      bad(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      bad(`expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
      return;
    }
    const text = lookupField(value as Record<string, unknown>, opts.textField);
    if (text === undefined) {
      bad(`missing text field '${opts.textField}' (choose the field with --text-field)`);
      return;
    }
    if (typeof text !== 'string') {
      bad(`text field '${opts.textField}' is ${text === null ? 'null' : typeof text}, not a string`);
      return;
    }
    const cleaned = cleanText(text);
    stats.control_chars += cleaned.controlChars;
    out.push({ text: cleaned.text, line: lineNo });
  };
  return {
    push(text) {
      const out: Document[] = [];
      let start = 0;
      let nl = text.indexOf('\n');
      if (nl < 0) {
        pending += text;
        return out;
      }
      line(pending + text.slice(0, nl), out);
      pending = '';
      start = nl + 1;
      while ((nl = text.indexOf('\n', start)) >= 0) {
        line(text.slice(start, nl), out);
        start = nl + 1;
      }
      pending = text.slice(start);
      return out;
    },
    end() {
      const out: Document[] = [];
      if (pending !== '') line(pending, out);
      pending = '';
      return out;
    },
  };
}

/**
 * Yields the clean documents of one source. Throws SkipSource when the file is binary,
 * empty, unreadable or a corrupt gzip (documents already yielded stay yielded), and
 * DataError for a bad JSONL line unless `skipBadLines`.
 */
export async function* readDocuments(
  src: SourceFile,
  stats: SourceStats,
  opts: ReadOptions,
): AsyncGenerator<Document, void, undefined> {
  const rs = createReadStream(src.path, { highWaterMark: opts.chunkBytes ?? 1 << 20 });
  let stream: AsyncIterable<Buffer> = rs;
  if (src.gzip) {
    const gz = createGunzip({ chunkSize: 1 << 16 });
    rs.on('error', (err) => gz.destroy(err));
    rs.pipe(gz);
    stream = gz;
  }
  // .txt/.md: one cleaner for the whole stream (its count is the file's); JSONL cleans each text field.
  const cleaner = new TextCleaner();
  const handler = src.format === 'jsonl' ? jsonlHandler(src, stats, opts) : textHandler(opts.docChars, cleaner);
  const decoder = new Utf8StreamDecoder();
  let reported = 0;
  let total = 0;
  let yielded = 0;
  const report = (): void => {
    const now = rs.bytesRead;
    if (now > reported) {
      opts.onBytes?.(now - reported);
      reported = now;
    }
  };
  try {
    let docs: Document[] = [];
    try {
      for await (const chunk of stream) {
        report();
        if (total === 0) {
          const why = sniffBinary(chunk);
          if (why) throw new SkipSource(why);
        }
        total += chunk.length;
        docs = handler.push(decoder.decode(chunk));
        stats.invalid_bytes = decoder.invalidBytes;
        if (src.format !== 'jsonl') stats.control_chars = cleaner.controlChars;
        for (const d of docs) {
          yielded++;
          yield d;
        }
      }
    } catch (err) {
      if (err instanceof SkipSource || err instanceof DataError) throw err;
      const after = yielded > 0 ? ` (after ${yielded} documents, which are kept)` : '';
      const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : '';
      if (src.gzip && (code.startsWith('Z_') || /unexpected end of file|incorrect header/i.test(String(err)))) {
        throw new SkipSource(`corrupt gzip: ${err instanceof Error ? err.message : String(err)}${after}`);
      }
      throw new SkipSource(`unreadable: ${errText(err)}${after}`);
    }
    report();
    if (total === 0) throw new SkipSource(src.gzip ? 'empty file (after decompression)' : 'empty file');
    docs = handler.push(decoder.end());
    docs.push(...handler.end());
    stats.invalid_bytes = decoder.invalidBytes;
    if (src.format !== 'jsonl') stats.control_chars = cleaner.controlChars;
    for (const d of docs) yield d;
  } finally {
    rs.destroy();
  }
}
