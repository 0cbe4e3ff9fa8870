/**
 * Where batches of documents get tokenized: on the main thread (InlineRunner), or on a
 * pool of worker threads, each with its own copy of the tokenizer (WorkerPool).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Tokenizer } from '../tokenizer/types.js';
import { type BatchOptions, type BatchResult, analyzeBatch, assembleBatch, processBatch } from './process.js';

export interface WorkerInit {
  /** URL of the module that exports the tokenizer loader. */
  loaderModule: string;
  /** Name of the export: (path) => Promise<Tokenizer>. */
  loaderExport: string;
  tokenizerPath: string;
  tokenizerHash: string;
}

export interface WorkerRequest extends BatchOptions {
  id: number;
  texts: string[];
}

export type WorkerResponse = { id: number; result: BatchResult; error?: undefined } | { id: number; error: string };

export interface BatchRunner {
  readonly threads: number;
  run(texts: string[], opts: BatchOptions): Promise<BatchResult>;
  close(): Promise<void>;
}

export class InlineRunner implements BatchRunner {
  readonly threads = 0;
  constructor(private readonly tokenizer: Tokenizer) {}
  run(texts: string[], opts: BatchOptions): Promise<BatchResult> {
    try {
      return Promise.resolve(processBatch(this.tokenizer, texts, opts));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Tokenization by the tokenizer's own encodeBatch (the native encoder spreads a batch over
 * the addon's thread pool); hashing and near-dedup keys on the calling thread.
 */
export class EncodeBatchRunner implements BatchRunner {
  constructor(
    private readonly tokenizer: Tokenizer,
    readonly threads: number,
  ) {}
  async run(texts: string[], opts: BatchOptions): Promise<BatchResult> {
    const encoded = await this.tokenizer.encodeBatch(texts);
    return assembleBatch(analyzeBatch(texts, opts.near), encoded, opts.separatorId);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The compiled worker script: next to this module when running from dist/, else the
 * build output in dist/ (when this module is run from source, as in tests). Null when
 * neither exists.
 */
export function workerScript(): URL | null {
  return builtModule('data/prepare-worker.js');
}

/** The compiled tokenizer module the workers load the tokenizer with (see workerScript). */
export function tokenizerModule(): URL | null {
  return builtModule('tokenizer/index.js');
}

/** `rel` (under src/ or dist/) as compiled JavaScript: beside this module's tree, else in dist/. */
function builtModule(rel: string): URL | null {
  const here = new URL(`../${rel}`, import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL(`../../dist/${rel}`, import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  return null;
}

interface Task {
  id: number;
  texts: string[];
  opts: BatchOptions;
  resolve: (r: BatchResult) => void;
  reject: (e: Error) => void;
}

export class WorkerPool implements BatchRunner {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Task[] = [];
  private readonly running = new Map<Worker, Task>();
  private nextId = 0;
  private failed: Error | null = null;
  private closed = false;

  constructor(
    script: URL,
    init: WorkerInit,
    readonly threads: number,
  ) {
    for (let i = 0; i < threads; i++) {
      const w = new Worker(script, { workerData: init });
      w.on('message', (msg: WorkerResponse) => this.onMessage(w, msg));
      w.on('error', (err) => this.fail(err instanceof Error ? err : new Error(String(err))));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`a tokenization worker exited unexpectedly (code ${code})`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  private onMessage(w: Worker, msg: WorkerResponse): void {
    const task = this.running.get(w);
    this.running.delete(w);
    this.idle.push(w);
    if (task) {
      if (msg.error !== undefined) task.reject(new Error(`tokenization worker: ${msg.error}`));
      else task.resolve(msg.result);
    }
    this.dispatch();
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    for (const t of this.running.values()) t.reject(err);
    this.running.clear();
    for (const t of this.queue.splice(0)) t.reject(err);
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.shift() as Worker;
      const task = this.queue.shift() as Task;
      this.running.set(w, task);
      const req: WorkerRequest = { id: task.id, texts: task.texts, ...task.opts };
      w.postMessage(req);
    }
  }

  run(texts: string[], opts: BatchOptions): Promise<BatchResult> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, texts, opts, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
