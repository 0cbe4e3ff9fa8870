/**
 * The trainer's view of a prepared dataset: windows of `context + 1` tokens from one
 * split's shards (treated as one stream), as (inputs, targets) batches, deterministic
 * by seed, with a position that can be saved and restored exactly.
 *
 * random:     every window start is drawn independently (with replacement) from a
 *             counter-based generator: sample k of seed s is always the same window, so
 *             the position is just the counter.
 * sequential: windows follow each other with stride `context` (a window's last target
 *             is the next window's first input); at the end it wraps to the start and
 *             `epoch` goes up.
 *
 * Splits up to `maxMemoryBytes` (default 512 MiB) are read into memory once; larger ones
 * are read window by window from the files.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { fmix32 } from './dedup.js';
import { DataError } from './errors.js';
import { type Manifest, checkDatasetTokenizer, readManifest } from './manifest.js';
import { HEADER_BYTES, type ShardExpectation, bytesPerToken, readShardHeader, verifyShard } from './shard.js';

export type Split = 'train' | 'val';
export type LoaderMode = 'random' | 'sequential';

export interface LoaderOptions {
  context: number;
  batchSize: number;
  seed?: number;
  mode?: LoaderMode;
  /** Splits up to this many bytes are held in memory (default 512 MiB). */
  maxMemoryBytes?: number;
}

/** Where a loader is; plain JSON, saved with checkpoints. */
export interface LoaderPosition {
  version: 1;
  dataset: string;
  split: Split;
  mode: LoaderMode;
  seed: number;
  /** Windows drawn so far. */
  samples: number;
  /** Next window start (sequential mode). */
  cursor: number;
  /** Completed passes over the split (sequential), or tokens drawn / split tokens (random, rounded down). */
  epoch: number;
}

interface ShardRef {
  path: string;
  start: number;
  tokens: number;
  fd: number;
  sha256: string;
}

/** 53 uniform random bits in [0, 1) for (seed, counter). */
function draw(seed: number, counter: number): number {
  const lo = counter >>> 0;
  const hi = Math.floor(counter / 4294967296) >>> 0;
  const s = fmix32((seed ^ 0x6a09e667) >>> 0);
  const a = fmix32((fmix32((lo ^ s) >>> 0) ^ Math.imul(hi, 0x9e3779b1) ^ 0x243f6a88) >>> 0);
  const b = fmix32((a ^ fmix32((lo + 0x85ebca6b) >>> 0) ^ s) >>> 0);
  return ((a >>> 5) * 67108864 + (b >>> 6)) / 9007199254740992;
}

export class TokenLoader {
  readonly tokens: number;
  readonly context: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly mode: LoaderMode;
  readonly split: Split;
  readonly dataset: string;
  private samples = 0;
  private cursor = 0;
  private epochs = 0;
  private readonly memory: Uint16Array | Uint32Array | null;
  private readonly shards: ShardRef[];
  private readonly bpt: 2 | 4;
  private readonly scratch: Uint8Array;
  private readonly scratchView: Uint16Array | Uint32Array;

  private constructor(
    readonly manifest: Manifest,
    readonly dir: string,
    split: Split,
    opts: Required<Omit<LoaderOptions, 'maxMemoryBytes'>> & { maxMemoryBytes: number },
  ) {
    this.split = split;
    this.context = opts.context;
    this.batchSize = opts.batchSize;
    this.seed = opts.seed;
    this.mode = opts.mode;
    this.dataset = manifest.dataset_id;
    this.bpt = bytesPerToken(manifest.dtype);
    const entries = manifest.shards.filter((s) => s.split === split);
    this.shards = [];
    let start = 0;
    for (const s of entries) {
      const path = join(dir, s.file);
      let h;
      try {
        h = readShardHeader(path);
      } catch (err) {
        if (err instanceof DataError) throw err;
        throw new DataError(`${path}: cannot read shard listed in manifest.json: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (h.tokens !== s.tokens) throw new DataError(`${path}: header says ${h.tokens} tokens, manifest.json says ${s.tokens}`);
      if (h.dtype !== manifest.dtype) throw new DataError(`${path}: header dtype ${h.dtype}, manifest.json says ${manifest.dtype}`);
      if (h.vocabSize !== manifest.tokenizer.vocab_size) {
        throw new DataError(`${path}: header vocabulary size ${h.vocabSize}, but manifest.json says ${manifest.tokenizer.vocab_size}`);
      }
      this.shards.push({ path, start, tokens: s.tokens, fd: -1, sha256: s.sha256 });
      start += s.tokens;
    }
    this.tokens = start;
    if (this.tokens < this.context + 1) {
      throw new DataError(
        `${dir}: the ${split} split has ${this.tokens} tokens, fewer than context + 1 = ${this.context + 1}` +
          (this.tokens === 0 && split === 'val' ? ' (prepare with --val-fraction > 0 and more documents)' : ''),
      );
    }
    const bytes = this.tokens * this.bpt;
    this.scratch = new Uint8Array((this.context + 1) * this.bpt);
    this.scratchView = this.bpt === 2 ? new Uint16Array(this.scratch.buffer) : new Uint32Array(this.scratch.buffer);
    // Every shard is verified when the loader opens it (checksum, token ids); an in-memory
    // split is filled by that same read.
    const want = (s: ShardRef): ShardExpectation => ({ sha256: s.sha256, dtype: manifest.dtype, vocabSize: manifest.tokenizer.vocab_size });
    if (bytes <= opts.maxMemoryBytes) {
      const all = this.bpt === 2 ? new Uint16Array(this.tokens) : new Uint32Array(this.tokens);
      const view = new Uint8Array(all.buffer);
      for (const s of this.shards) verifyShard(s.path, want(s), view, s.start * this.bpt);
      this.memory = all;
    } else {
      for (const s of this.shards) verifyShard(s.path, want(s));
      this.memory = null;
    }
  }

  /**
   * Opens one split of the dataset in `dir`. Checks the manifest, the tokenizer saved beside it,
   * and each shard of the split: header, vocabulary size, sha256 and token ids.
   */
  static async open(dir: string, split: Split, opts: LoaderOptions): Promise<TokenLoader> {
    if (endianness() !== 'LE') throw new DataError('token shards are little-endian; this machine is big-endian');
    if (split !== 'train' && split !== 'val') throw new DataError(`split must be 'train' or 'val', got '${String(split)}'`);
    if (!Number.isInteger(opts.context) || opts.context < 1) throw new DataError(`context must be a positive integer, got ${opts.context}`);
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new DataError(`batchSize must be a positive integer, got ${opts.batchSize}`);
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed)) throw new DataError(`seed must be an integer, got ${seed}`);
    const mode = opts.mode ?? 'random';
    if (mode !== 'random' && mode !== 'sequential') throw new DataError(`mode must be 'random' or 'sequential', got '${String(mode)}'`);
    const manifest = await readManifest(dir);
    await checkDatasetTokenizer(dir, manifest);
    return new TokenLoader(manifest, dir, split, {
      context: opts.context,
      batchSize: opts.batchSize,
      seed,
      mode,
      maxMemoryBytes: opts.maxMemoryBytes ?? 512 * 1024 * 1024,
    });
  }

  /** Number of distinct window starts. */
  get windows(): number {
    return this.tokens - this.context;
  }

  private readInto(s: ShardRef, from: number, count: number, dest: Uint8Array, destOff: number): void {
    if (s.fd < 0) s.fd = openSync(s.path, 'r');
    let done = 0;
    const want = count * this.bpt;
    while (done < want) {
      const n = readSync(s.fd, dest, destOff + done, want - done, HEADER_BYTES + from * this.bpt + done);
      if (n === 0) throw new DataError(`${s.path}: unexpected end of file (shard changed since it was opened?)`);
      done += n;
    }
  }

  /** Copies tokens [start, start + n) of the split into `out` at `outOff`. */
  private window(start: number, n: number, out: Int32Array, outOff: number, shifted: Int32Array, shiftedOff: number): void {
    let src: Uint16Array | Uint32Array;
    let base: number;
    if (this.memory) {
      src = this.memory;
      base = start;
    } else {
      // Binary search the first shard, then read across shard boundaries.
      let lo = 0;
      let hi = this.shards.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.shards[mid].start <= start) lo = mid;
        else hi = mid - 1;
      }
      let pos = start;
      let written = 0;
      for (let k = lo; written < n + 1; k++) {
        const s = this.shards[k];
        const from = pos - s.start;
        const take = Math.min(s.tokens - from, n + 1 - written);
        this.readInto(s, from, take, this.scratch, written * this.bpt);
        written += take;
        pos += take;
      }
      src = this.scratchView;
      base = 0;
    }
    out.set(src.subarray(base, base + n), outOff);
    shifted.set(src.subarray(base + 1, base + n + 1), shiftedOff);
  }

  /**
   * Fills `inputs` and `targets` (each batchSize × context, row-major) with the next
   * windows: targets are the inputs shifted by one token. Allocates nothing.
   */
  nextBatch(inputs: Int32Array, targets: Int32Array): void {
    const need = this.batchSize * this.context;
    if (inputs.length !== need || targets.length !== need) {
      throw new DataError(`nextBatch: inputs and targets must hold batchSize × context = ${need} ids, got ${inputs.length} and ${targets.length}`);
    }
    const T = this.context;
    for (let b = 0; b < this.batchSize; b++) {
      let start: number;
      if (this.mode === 'random') {
        start = Math.floor(draw(this.seed, this.samples) * this.windows);
      } else {
        if (this.cursor + T + 1 > this.tokens) {
          this.cursor = 0;
          this.epochs++;
        }
        start = this.cursor;
        this.cursor += T;
      }
      this.samples++;
      this.window(start, T, inputs, b * T, targets, b * T);
    }
  }

  position(): LoaderPosition {
    return {
      version: 1,
      dataset: this.dataset,
      split: this.split,
      mode: this.mode,
      seed: this.seed,
      samples: this.samples,
      cursor: this.cursor,
      epoch: this.mode === 'random' ? Math.floor((this.samples * this.context) / this.tokens) : this.epochs,
    };
  }

  /** Continues from a saved position; the dataset, split, mode and seed must match. */
  restore(p: LoaderPosition): void {
    const where = 'loader position';
    if (!p || typeof p !== 'object') throw new DataError(`${where}: expected an object`);
    if (p.version !== 1) throw new DataError(`${where}: field version is ${String(p.version)}, expected 1`);
    if (p.dataset !== this.dataset) {
      throw new DataError(`${where}: field dataset is ${String(p.dataset)} but ${this.dir} holds dataset ${this.dataset} (the data changed since the checkpoint)`);
    }
    if (p.split !== this.split) throw new DataError(`${where}: field split is '${String(p.split)}', this loader reads '${this.split}'`);
    if (p.mode !== this.mode) throw new DataError(`${where}: field mode is '${String(p.mode)}', this loader is '${this.mode}'`);
    if (p.seed !== this.seed) throw new DataError(`${where}: field seed is ${String(p.seed)}, this loader uses ${this.seed}`);
    for (const f of ['samples', 'cursor', 'epoch'] as const) {
      if (!Number.isSafeInteger(p[f]) || p[f] < 0) throw new DataError(`${where}: field ${f} must be a non-negative integer, got ${String(p[f])}`);
    }
    if (p.cursor > this.tokens) throw new DataError(`${where}: field cursor ${p.cursor} is past the end of the split (${this.tokens} tokens)`);
    this.samples = p.samples;
    this.cursor = p.cursor;
    this.epochs = p.epoch;
  }

  private closeFiles(): void {
    for (const s of this.shards) {
      if (s.fd >= 0) {
        closeSync(s.fd);
        s.fd = -1;
      }
    }
  }

  /** Releases open files. */
  close(): void {
    this.closeFiles();
  }
}
