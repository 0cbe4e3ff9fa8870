/**
 * `data prepare`: raw files → cleaned, deduplicated documents → token shards and a
 * manifest, streaming, with tokenization spread over worker threads.
 *
 * Everything is written to a temporary folder beside `out` and renamed into place at
 * the end, manifest last: a failed or interrupted run leaves no manifest.json behind.
 */
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Tokenizer } from '../tokenizer/types.js';
import { hasMinChars } from './clean.js';
import { BANDS, NEAR_THRESHOLD, NUM_PERM, NearIndex, ROWS, SHINGLE_WORDS, U64Map, fmix32 } from './dedup.js';
import { discoverInputs, warnLeftOut } from './discover.js';
import { cleanStaleTemps, outputStep, tempPrefix } from './out-folder.js';
import { DataError, SkipSource } from './errors.js';
import { MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_VERSION, TOKENIZER_FILE, type Manifest, datasetId } from './manifest.js';
import { type BatchRunner, EncodeBatchRunner, InlineRunner, WorkerPool, tokenizerModule, workerScript } from './pool.js';
import type { BatchResult } from './process.js';
import { ShardWriter, dtypeFor } from './shard.js';
import { type SourceStats, newStats, readDocuments } from './sources.js';

export type DedupMode = 'none' | 'exact' | 'near';

/** Separator tokens in order of preference. */
export const SEPARATOR_TOKENS = ['<|bos|>', '<|endoftext|>', '<|begin_of_text|>', '<s>'];

export function findSeparator(tokenizer: Tokenizer): { token: string; id: number } {
  for (const token of SEPARATOR_TOKENS) {
    const id = tokenizer.specialTokens.get(token);
    if (id !== undefined) return { token, id };
  }
  const have = [...tokenizer.specialTokens.keys()];
  throw new DataError(
    `the tokenizer has no document separator token: need one of ${SEPARATOR_TOKENS.join(', ')} as a special token ` +
      `(it has ${have.length ? have.join(', ') : 'none'}); train one with --special '<|bos|>'`,
  );
}

export interface PrepareProgress {
  /** Source bytes (on disk) consumed so far. */
  bytes: number;
  totalBytes: number;
  documents: number;
  tokens: number;
  seconds: number;
}

export interface PrepareOptions {
  inputs: readonly string[];
  out: string;
  tokenizer: Tokenizer;
  /**
   * How worker threads load the same tokenizer: the tokenizer file, and the URL of a module
   * exporting `loaderExport` (default: llmforge's compiled tokenizer module, 'loadTokenizer').
   * Without it tokenization runs on the main thread.
   */
  tokenizerSource?: { path: string; module?: string; loaderExport?: string };
  valFraction?: number;
  dedup?: DedupMode;
  textField?: string;
  minChars?: number;
  seed?: number;
  skipBadLines?: boolean;
  /** Target document length for .txt/.md files (UTF-16 units); longer files are cut. */
  docChars?: number;
  /** Maximum tokens per shard file. */
  shardTokens?: number;
  /** Tokenization threads; 0 = main thread. Default: all cores (the main thread for inputs under 4 MiB). */
  threads?: number;
  /**
   * Where tokenization runs: 'main' thread, tokenizer 'batch' (encodeBatch), 'workers'
   * (worker threads with their own tokenizer), or 'auto' (default; see makeRunner).
   */
  encoder?: 'auto' | 'main' | 'batch' | 'workers';
  /** Replace a dataset already in `out` (only once the new one is complete). */
  overwrite?: boolean;
  /** Characters per batch sent to a tokenization thread. */
  batchChars?: number;
  onWarning?: (message: string) => void;
  onProgress?: (p: PrepareProgress) => void;
  /** Remove the temporary folder on SIGINT/SIGTERM (default true). */
  handleSignals?: boolean;
}

export interface PrepareResult {
  out: string;
  manifest: Manifest;
  seconds: number;
  /** Source bytes on disk. */
  inputBytes: number;
  threads: number;
}

export const DEFAULTS = {
  valFraction: 0.1,
  dedup: 'exact' as DedupMode,
  textField: 'text',
  minChars: 1,
  seed: 1337,
  docChars: 16384,
  shardTokens: 1 << 26,
  batchChars: 1 << 18,
};

const VERSION = '0.1.0';
/** Below this much input, the default is to tokenize on the main thread. */
export const AUTO_POOL_BYTES = 4 * 1024 * 1024;

/** Checks that `out` can receive a dataset; returns whether a dataset is there now. */
async function checkOut(out: string, overwrite: boolean): Promise<'new' | 'empty' | 'replace'> {
  let st;
  try {
    st = await stat(out);
  } catch {
    return 'new';
  }
  if (!st.isDirectory()) throw new DataError(`--out '${out}' exists and is not a folder`);
  const names = await readdir(out);
  if (names.length === 0) return 'empty';
  if (names.includes(MANIFEST_FILE)) {
    if (overwrite) return 'replace';
    throw new DataError(
      `--out '${out}' already holds a dataset (${MANIFEST_FILE}); choose another folder or pass --overwrite to replace it`,
    );
  }
  throw new DataError(`--out '${out}' is not empty and holds no dataset; choose a new or empty folder`);
}

/** Uniform in [0, 1) from a document hash and the seed: the same document always lands in the same split. */
function splitDraw(hi: number, lo: number, seed: number): number {
  const s = fmix32((seed ^ 0x9e3779b9) >>> 0);
  return fmix32((fmix32((lo ^ s) >>> 0) ^ hi) >>> 0) / 4294967296;
}

interface Held {
  tokens: Uint32Array;
  textBytes: number;
  source: number;
  split: 'train' | 'val';
}

/**
 * Picks where tokenization runs. auto: the main thread when threads is 0; the tokenizer's
 * encodeBatch when its encoder is native (the addon's thread pool does the spreading);
 * else worker threads that each load the tokenizer (when `tokenizerSource` says how).
 */
function makeRunner(options: PrepareOptions, tokenizer: Tokenizer, threads: number): BatchRunner {
  const want = options.encoder ?? 'auto';
  if (threads === 0 || want === 'main') return new InlineRunner(tokenizer);
  const native = (tokenizer as { backend?: unknown }).backend === 'native';
  if (want === 'batch' || (want === 'auto' && native)) return new EncodeBatchRunner(tokenizer, threads);
  const script = workerScript();
  const loaderModule = options.tokenizerSource?.module ?? tokenizerModule()?.href;
  if (options.tokenizerSource && script && loaderModule) {
    return new WorkerPool(
      script,
      {
        loaderModule,
        loaderExport: options.tokenizerSource.loaderExport ?? 'loadTokenizer',
        tokenizerPath: resolve(options.tokenizerSource.path),
        tokenizerHash: tokenizer.hash,
      },
      threads,
    );
  }
  if (want === 'workers') throw new DataError('worker threads need the compiled worker script (npm run build) and tokenizerSource');
  return new InlineRunner(tokenizer);
}

export async function prepare(options: PrepareOptions): Promise<PrepareResult> {
  const start = performance.now();
  const o = { ...DEFAULTS, ...stripUndefined(options) };
  const warn = options.onWarning ?? ((m: string) => process.stderr.write(`llmforge: warning: ${m}\n`));
  if (!(o.valFraction >= 0 && o.valFraction < 1)) throw new DataError(`--val-fraction must be in [0, 1), got ${o.valFraction}`);
  if (!['none', 'exact', 'near'].includes(o.dedup)) throw new DataError(`--dedup must be none, exact or near, got '${o.dedup}'`);
  if (!Number.isInteger(o.minChars) || o.minChars < 0) throw new DataError(`--min-chars must be an integer >= 0, got ${o.minChars}`);
  if (!Number.isInteger(o.seed)) throw new DataError(`--seed must be an integer, got ${o.seed}`);
  if (!(o.docChars >= 16)) throw new DataError(`doc-chars must be >= 16, got ${o.docChars}`);
  if (!(o.shardTokens >= 1)) throw new DataError(`shard-tokens must be >= 1, got ${o.shardTokens}`);
  if (options.inputs.length === 0) throw new DataError('no --input given');

  const tokenizer = options.tokenizer;
  const separator = findSeparator(tokenizer);
  const outState = await outputStep(options.out, () => checkOut(options.out, o.overwrite ?? false));
  const found = await discoverInputs(options.inputs);
  const skipped = [...found.skipped];
  warnLeftOut(found, warn);

  const outAbs = resolve(options.out);
  const parent = dirname(outAbs);
  await outputStep(options.out, () => mkdir(parent, { recursive: true }));
  await cleanStaleTemps(outAbs, warn);
  const tmp = join(parent, `${tempPrefix(outAbs)}${process.pid}-${randomBytes(4).toString('hex')}`);
  await outputStep(options.out, () => mkdir(tmp));
  const cleanup = (): void => {
    try {
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      // best effort
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    cleanup();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    process.kill(process.pid, sig);
  };
  if (options.handleSignals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const dtype = dtypeFor(tokenizer.vocabSize);
  const writers = {
    train: new ShardWriter(tmp, 'train', dtype, tokenizer.vocabSize, o.shardTokens),
    val: new ShardWriter(tmp, 'val', dtype, tokenizer.vocabSize, o.shardTokens),
  };
  const totalBytes = found.sources.reduce((a, s) => a + s.size, 0);
  // Starting workers (each loads the tokenizer) costs more than it saves on small inputs.
  const threads = o.threads ?? (totalBytes < AUTO_POOL_BYTES ? 0 : Math.max(1, availableParallelism()));
  let runner: BatchRunner | null = null;

  try {
    const pool = makeRunner(options, tokenizer, threads);
    runner = pool;
    const stats: SourceStats[] = found.sources.map(newStats);
    const exactSet = new U64Map(4096);
    const nearIndex = o.dedup === 'near' ? new NearIndex(NEAR_THRESHOLD) : null;
    const splitBytes = { train: 0, val: 0 };
    const dups = { exact: 0, near: 0 };
    let bytesDone = 0;
    let docsDone = 0;
    let lastProgress = 0;
    const progress = (force = false): void => {
      if (!options.onProgress) return;
      const now = performance.now();
      if (!force && now - lastProgress < 100) return;
      lastProgress = now;
      options.onProgress({
        bytes: bytesDone,
        totalBytes,
        documents: docsDone,
        tokens: writers.train.tokens + writers.val.tokens,
        seconds: (now - start) / 1000,
      });
    };

    let held: Held | null = null;
    const commit = (h: Held): void => {
      writers[h.split].writeDocument(h.tokens);
      splitBytes[h.split] += h.textBytes;
      stats[h.source].kept++;
      stats[h.source].tokens += h.tokens.length;
      docsDone++;
    };
    const handle = (r: BatchResult, sourcesOf: Int32Array): void => {
      for (let i = 0; i < r.count; i++) {
        const src = sourcesOf[i];
        if (o.dedup !== 'none' && !exactSet.setIfAbsent(r.hashHi[i], r.hashLo[i], 0)) {
          stats[src].duplicates++;
          dups.exact++;
          continue;
        }
        if (nearIndex && r.nearOk[i]) {
          if (nearIndex.find(r.bands, i * BANDS, r.fingerprints, i * NUM_PERM) >= 0) {
            stats[src].duplicates++;
            dups.near++;
            continue;
          }
          nearIndex.add(r.bands, i * BANDS, r.fingerprints, i * NUM_PERM);
        }
        const split = splitDraw(r.hashHi[i], r.hashLo[i], o.seed) < o.valFraction ? 'val' : 'train';
        if (held) commit(held);
        held = { tokens: r.tokens.subarray(r.offsets[i], r.offsets[i + 1]), textBytes: r.textBytes[i], source: src, split };
      }
      progress();
    };

    // Batches in flight, handled strictly in submission order (determinism), at most
    // 2 per thread (bounded memory).
    const maxInFlight = pool instanceof WorkerPool ? 2 * pool.threads : 2;
    // encodeBatch spreads one batch over its threads: give it bigger batches.
    const batchLimit = options.batchChars ?? (pool instanceof EncodeBatchRunner ? 4 * DEFAULTS.batchChars : DEFAULTS.batchChars);
    const inFlight: { promise: Promise<BatchResult>; sources: Int32Array }[] = [];
    let batch: string[] = [];
    let batchSources: number[] = [];
    let batchChars = 0;
    const batchOpts = { near: o.dedup === 'near', separatorId: separator.id };
    const drainOne = async (): Promise<void> => {
      const next = inFlight.shift();
      if (next) handle(await next.promise, next.sources);
    };
    const submit = async (): Promise<void> => {
      if (batch.length === 0) return;
      const promise = pool.run(batch, batchOpts);
      promise.catch(() => undefined);
      inFlight.push({ promise, sources: Int32Array.from(batchSources) });
      batch = [];
      batchSources = [];
      batchChars = 0;
      while (inFlight.length >= maxInFlight) await drainOne();
    };

    for (let si = 0; si < found.sources.length; si++) {
      const src = found.sources[si];
      const st = stats[si];
      let consumed = 0;
      try {
        const docs = readDocuments(src, st, {
          textField: o.textField,
          skipBadLines: o.skipBadLines ?? false,
          docChars: o.docChars,
          onBadLine: (m) => warn(`skipped line ${m}`),
          onBytes: (n) => {
            consumed += n;
            bytesDone += n;
            progress();
          },
        });
        for await (const doc of docs) {
          st.documents++;
          if (!hasMinChars(doc.text, o.minChars)) {
            st.too_short++;
            continue;
          }
          batch.push(doc.text);
          batchSources.push(si);
          batchChars += doc.text.length;
          if (batchChars >= batchLimit) await submit();
        }
      } catch (err) {
        if (!(err instanceof SkipSource)) throw err;
        skipped.push({ path: src.path, reason: err.message });
        warn(`skipped ${src.path}: ${err.message}`);
      }
      bytesDone += src.size - consumed; // a skipped file counts as done
    }
    await submit();
    while (inFlight.length > 0) await drainOne();

    const finalHeld = held as Held | null;
    if (finalHeld) {
      // The last document fills an empty split: training needs train tokens, and a val
      // fraction above 0 promises a val split.
      if (writers.train.documents === 0) finalHeld.split = 'train';
      else if (writers.val.documents === 0 && o.valFraction > 0) finalHeld.split = 'val';
      commit(finalHeld);
      held = null;
    }
    progress(true);

    const totals = sumStats(stats);
    if (docsDone === 0) {
      const why: string[] = [];
      if (found.sources.length === 0) why.push('no input files of a supported type');
      if (skipped.length) why.push(`${skipped.length} file(s) skipped`);
      if (totals.too_short) why.push(`${totals.too_short} document(s) shorter than --min-chars ${o.minChars}`);
      if (dups.exact + dups.near) why.push(`${dups.exact + dups.near} duplicate(s)`);
      if (totals.bad_lines) why.push(`${totals.bad_lines} bad line(s)`);
      if (totals.documents === 0 && found.sources.length > 0 && skipped.length < found.sources.length) why.push('no documents found');
      throw new DataError(`no usable documents in the inputs (${why.join(', ') || 'nothing to read'})`);
    }
    if (o.valFraction > 0 && writers.val.documents === 0) {
      warn(`the val split is empty: only ${docsDone} document(s) were kept; validation loss will not be available`);
    }

    const shards = [...(await writers.train.finish()), ...(await writers.val.finish())];
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      created_by: `llmforge ${VERSION}`,
      dataset_id: datasetId(shards),
      tokenizer_hash: tokenizer.hash,
      tokenizer: {
        file: TOKENIZER_FILE,
        hash: tokenizer.hash,
        vocab_size: tokenizer.vocabSize,
        separator: separator.token,
        separator_id: separator.id,
      },
      dtype,
      documents: docsDone,
      train_documents: writers.train.documents,
      val_documents: writers.val.documents,
      train_tokens: writers.train.tokens,
      val_tokens: writers.val.tokens,
      train_bytes: splitBytes.train,
      val_bytes: splitBytes.val,
      source_bytes: totalBytes,
      duplicates_removed: dups.exact + dups.near,
      dedup: {
        mode: o.dedup,
        exact: dups.exact,
        near: dups.near,
        near_threshold: NEAR_THRESHOLD,
        num_perm: NUM_PERM,
        bands: BANDS,
        rows: ROWS,
        shingle_words: SHINGLE_WORDS,
      },
      too_short: totals.too_short,
      invalid_bytes: totals.invalid_bytes,
      control_chars: totals.control_chars,
      bad_lines: totals.bad_lines,
      skipped,
      ignored_files: found.ignored,
      sources: stats,
      shards,
      options: {
        val_fraction: o.valFraction,
        seed: o.seed,
        min_chars: o.minChars,
        text_field: o.textField,
        doc_chars: o.docChars,
        shard_tokens: o.shardTokens,
        skip_bad_lines: o.skipBadLines ?? false,
      },
    };
    // The tokenizer travels with its data: the trainer reads DIR/tokenizer.json by default.
    await writeFile(join(tmp, TOKENIZER_FILE), tokenizer.toTokenizerJson(), { flag: 'wx' });
    await writeFile(join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n', { flag: 'wx' });

    // Move into place: only now does `out` get a manifest.
    const state = outState === 'new' ? 'new' : await outputStep(options.out, () => checkOut(options.out, o.overwrite ?? false));
    await outputStep(options.out, async () => {
      if (state === 'empty') await rmdir(outAbs);
      if (state === 'replace') {
        // Killed between these renames, the old dataset waits in `-old`: the next run puts it back.
        const old = `${tmp}-old`;
        await rename(outAbs, old);
        await rename(tmp, outAbs);
        await rm(old, { recursive: true, force: true });
      } else {
        await rename(tmp, outAbs);
      }
    });
    return { out: options.out, manifest, seconds: (performance.now() - start) / 1000, inputBytes: totalBytes, threads: pool.threads };
  } catch (err) {
    writers.train.abort();
    writers.val.abort();
    cleanup();
    throw err;
  } finally {
    await runner?.close();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function sumStats(stats: SourceStats[]): Pick<SourceStats, 'documents' | 'too_short' | 'invalid_bytes' | 'control_chars' | 'bad_lines'> {
  const t = { documents: 0, too_short: 0, invalid_bytes: 0, control_chars: 0, bad_lines: 0 };
  for (const s of stats) {
    t.documents += s.documents;
    t.too_short += s.too_short;
    t.invalid_bytes += s.invalid_bytes;
    t.control_chars += s.control_chars;
    t.bad_lines += s.bad_lines;
  }
  return t;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
