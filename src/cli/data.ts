/** `llmforge data prepare`: raw text files → token shards + manifest.json (stage one of the flow). */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { DataError } from '../data/errors.js';
import { DEFAULTS, type DedupMode, type PrepareProgress, type PrepareResult, prepare } from '../data/prepare.js';
import { loadTokenizer } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { Progress } from '../util/progress.js';
import { capThreads } from '../tensor/native.js';
import { applyThreads, intArg, numberArg } from './options.js';

export interface PrepareCliOptions {
  input?: string[];
  tokenizer?: string;
  out?: string;
  valFraction: number;
  dedup: DedupMode;
  textField: string;
  minChars: number;
  seed: number;
  skipBadLines?: boolean;
  docChars: number;
  shardTokens: number;
  threads?: number;
  encoder: 'auto' | 'main' | 'batch' | 'workers';
  overwrite?: boolean;
  config?: string;
  json?: boolean;
  progress: boolean;
}

function encoderArg(value: string): PrepareCliOptions['encoder'] {
  if (value !== 'auto' && value !== 'main' && value !== 'batch' && value !== 'workers') {
    throw new InvalidArgumentError(`expected auto, main, batch or workers, got '${value}'`);
  }
  return value;
}

function dedupArg(value: string): DedupMode {
  if (value !== 'none' && value !== 'exact' && value !== 'near') {
    throw new InvalidArgumentError(`expected none, exact or near, got '${value}'`);
  }
  return value;
}

/**
 * Applies `--config FILE` (JSON; keys as camelCase or --flag-names) to options that were
 * not given on the command line; flags override the file.
 */
export function applyConfigFile(cmd: Command, file: string): void {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new DataError(`--config ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new DataError(`--config ${file}: expected a JSON object`);
  const byKey = new Map(cmd.options.map((o) => [o.attributeName(), o]));
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const name = key.replace(/^--/, '').replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());
    const opt = byKey.get(name);
    if (!opt || name === 'config') throw new DataError(`--config ${file}: unknown field '${key}'`);
    const source = cmd.getOptionValueSource(name);
    if (source === 'cli' || source === 'env') continue;
    const where = `--config ${file}: field '${key}'`;
    let v: unknown = value;
    if (opt.variadic) {
      const arr = Array.isArray(value) ? value : [value];
      if (!arr.every((x) => typeof x === 'string')) throw new DataError(`${where}: expected a string or a list of strings`);
      v = arr;
    } else if (opt.isBoolean() || opt.negate) {
      if (typeof value !== 'boolean') throw new DataError(`${where}: expected true or false`);
    } else {
      if (typeof value !== 'string' && typeof value !== 'number') throw new DataError(`${where}: expected a string or number`);
      const parse = opt.parseArg as ((s: string, prev: unknown) => unknown) | undefined;
      try {
        v = parse ? parse(String(value), undefined) : String(value);
      } catch (err) {
        throw new DataError(`${where}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    cmd.setOptionValueWithSource(name, v, 'config');
  }
}

/** A one-line progress bar on stderr (terminals only): MB done, MB/s, ETA, documents and tokens. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): {
  update: (p: PrepareProgress) => void;
  done: () => void;
} {
  let bar: Progress | null = null;
  return {
    update(p) {
      bar ??= new Progress({ total: p.totalBytes, label: 'prepare', unit: 'MB', unitScale: 1e-6, stream, whenPiped: false });
      bar.update(p.bytes, `${p.documents} docs ${p.tokens} tokens`);
    },
    done() {
      bar?.clear();
      bar = null;
    },
  };
}

export async function openTokenizer(path: string): Promise<Tokenizer> {
  try {
    return await loadTokenizer(path);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new DataError(`--tokenizer: ${msg.startsWith(path) ? msg : `${path}: ${msg}`}`);
  }
}

/** Runs prepare for parsed CLI options (shared with `bench prepare`). */
export async function runPrepare(
  o: PrepareCliOptions,
  extra: { quiet?: boolean; handleSignals?: boolean } = {},
): Promise<PrepareResult> {
  if (!o.input || o.input.length === 0) throw new DataError('--input is required (files, folders or globs)');
  if (!o.tokenizer) throw new DataError('--tokenizer is required');
  if (!o.out) throw new DataError('--out is required');
  const tokenizer = await openTokenizer(o.tokenizer);
  // The native encoder's batches run on the addon's thread pool: give it --threads.
  if (o.threads !== 0) applyThreads(o.threads);
  const bar = o.progress && !extra.quiet ? progressBar() : null;
  try {
    return await prepare({
      inputs: o.input,
      out: o.out,
      tokenizer,
      tokenizerSource: { path: o.tokenizer },
      valFraction: o.valFraction,
      dedup: o.dedup,
      textField: o.textField,
      minChars: o.minChars,
      seed: o.seed,
      skipBadLines: o.skipBadLines ?? false,
      docChars: o.docChars,
      shardTokens: o.shardTokens,
      // Worker threads too: never more than the cores (applyThreads warned already).
      threads: o.threads === undefined || o.threads === 0 ? o.threads : capThreads(o.threads, `--threads ${o.threads}`),
      encoder: o.encoder,
      overwrite: o.overwrite ?? false,
      handleSignals: extra.handleSignals,
      onProgress: bar ? bar.update : undefined,
      onWarning: (m) => {
        bar?.done();
        process.stderr.write(`llmforge: warning: ${m}\n`);
      },
    });
  } finally {
    bar?.done();
  }
}

/** The shared options of `data prepare` and `bench prepare`. */
export function addPrepareOptions(cmd: Command): Command {
  return cmd
    .option('--input <path...>', 'files, folders (recursive) or globs: .txt, .md, .jsonl and .gz of them')
    .option('--tokenizer <path>', 'tokenizer.json (or any file llmforge tokenizer can load)')
    .option('--out <dir>', 'output folder: shards + manifest.json (new or empty)')
    .option('--val-fraction <f>', 'share of documents for validation', numberArg(0, 0.999999), DEFAULTS.valFraction)
    .option('--dedup <mode>', 'none | exact | near (MinHash, Jaccard ≥ 0.8 on word 5-grams)', dedupArg, DEFAULTS.dedup)
    .option('--text-field <name>', 'JSONL field holding the text (a.b for nested)', DEFAULTS.textField)
    .option('--min-chars <n>', 'drop documents shorter than this many characters', intArg(0), DEFAULTS.minChars)
    .option('--seed <n>', 'seed of the train/val split', intArg(-2147483648, 4294967295), DEFAULTS.seed)
    .option('--skip-bad-lines', 'skip (and count) malformed JSONL lines and lines without the text field')
    .option('--doc-chars <n>', '.txt/.md files longer than this are cut into documents of about this size', intArg(16), DEFAULTS.docChars)
    .option('--shard-tokens <n>', 'tokens per shard file', intArg(1), DEFAULTS.shardTokens)
    .option('--threads <n>', 'tokenization threads (default: all cores, or the main thread for inputs under 4 MiB; 0 = main thread)', intArg(0))
    .option('--encoder <where>', 'auto | main | batch (tokenizer encodeBatch) | workers (worker threads)', encoderArg, 'auto')
    .option('--overwrite', 'replace a dataset already in --out (only once the new one is complete)')
    .option('--config <file>', 'JSON file with any of these options (camelCase or flag names); flags override it')
    .option('--no-progress', 'no progress bar');
}

export function registerData(program: Command): void {
  const data = program.command('data').description('stage 1: raw text → token shards for training');
  const cmd = data
    .command('prepare')
    .description('clean, deduplicate, tokenize and shard raw text (see docs/DATA.md)');
  addPrepareOptions(cmd)
    .option('--json', 'print a JSON summary on stdout')
    .action(async (o: PrepareCliOptions, command: Command) => {
      if (o.config) applyConfigFile(command, o.config);
      const opts = command.opts<PrepareCliOptions>();
      const r = await runPrepare(opts);
      const m = r.manifest;
      const mbps = r.inputBytes / 1e6 / r.seconds;
      if (opts.json) {
        process.stdout.write(
          JSON.stringify({
            command: 'data prepare',
            out: r.out,
            documents: m.documents,
            train_tokens: m.train_tokens,
            val_tokens: m.val_tokens,
            duplicates_removed: m.duplicates_removed,
            skipped: m.skipped.length,
            seconds: r.seconds,
            mb_per_s: mbps,
          }) + '\n',
        );
      } else {
        process.stderr.write(
          `${r.out}: ${m.documents} documents (${m.train_documents} train, ${m.val_documents} val), ` +
            `${m.train_tokens} train + ${m.val_tokens} val tokens (${m.dtype}), ${m.duplicates_removed} duplicates removed, ` +
            `${m.too_short} too short, ${m.skipped.length} files skipped; ${(r.inputBytes / 1e6).toFixed(1)} MB in ` +
            `${r.seconds.toFixed(1)} s (${mbps.toFixed(1)} MB/s)\n`,
        );
      }
    });
}
