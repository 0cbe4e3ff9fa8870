/**
 * Batch encoding on worker threads: the JavaScript fallback for when the native addon (whose thread
 * pool does this job) is missing. Workers are started once per process, kept, and unref'd so they
 * never hold the process open; each loads a tokenizer from its tokenizer.json text once (by hash).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { capThreads } from '../tensor/native.js';
import type { EncodeOptions, Tokenizer } from './types.js';

export interface WorkerRequest {
  id: number;
  hash: string;
  json?: string;
  texts: string[];
  allowedSpecial?: 'all' | string[];
}

export interface WorkerReply {
  id: number;
  ids?: Uint32Array[];
  error?: string;
}

/** Below this many UTF-16 units in a batch, starting workers costs more than it saves. */
const MIN_WORKER_CHARS = 1 << 20;

let threadsSetting: number | undefined;

/** Threads for JavaScript batch encoding (the native path uses the addon's --threads). */
export function setBatchThreads(n: number | undefined): void {
  threadsSetting = n;
}

/** Worker threads batch encoding uses: --threads, LLMFORGE_THREADS or the cores, never more than the cores. */
export function batchThreadCount(): number {
  if (threadsSetting !== undefined) return capThreads(threadsSetting, `--threads ${threadsSetting}`);
  const env = Number(process.env.LLMFORGE_THREADS);
  return Number.isInteger(env) && env > 0 ? capThreads(env, `LLMFORGE_THREADS=${env}`) : Math.max(1, availableParallelism());
}

interface PoolWorker {
  worker: Worker;
  loaded: Set<string>;
  pending: Map<number, (r: WorkerReply) => void>;
}

const pool: PoolWorker[] = [];
let nextId = 1;

function workerPath(): string | undefined {
  // Present next to this module once compiled (dist/tokenizer/encode-worker.js).
  const p = fileURLToPath(new URL('./encode-worker.js', import.meta.url));
  return existsSync(p) ? p : undefined;
}

function getWorker(i: number, path: string): PoolWorker {
  while (pool.length <= i) {
    const worker = new Worker(path);
    worker.unref();
    const pw: PoolWorker = { worker, loaded: new Set(), pending: new Map() };
    worker.on('message', (r: WorkerReply) => {
      const done = pw.pending.get(r.id);
      pw.pending.delete(r.id);
      done?.(r);
    });
    worker.on('error', (err) => {
      for (const done of pw.pending.values()) done({ id: -1, error: err.message });
      pw.pending.clear();
      const k = pool.indexOf(pw);
      if (k >= 0) pool.splice(k, 1);
    });
    pool.push(pw);
  }
  return pool[i];
}

function run(pw: PoolWorker, req: WorkerRequest): Promise<Uint32Array[]> {
  return new Promise((resolve, reject) => {
    pw.pending.set(req.id, (r) => {
      if (r.error !== undefined || !r.ids) reject(new Error(`tokenizer worker: ${r.error ?? 'no result'}`));
      else resolve(r.ids);
    });
    pw.worker.ref();
    pw.worker.postMessage(req);
  }).finally(() => {
    if (pw.pending.size === 0) pw.worker.unref();
  }) as Promise<Uint32Array[]>;
}

/**
 * Encodes `texts` on worker threads, or returns null when that is not worth it (small batch, one
 * thread) or not possible (running from TypeScript sources, where there is no compiled worker).
 */
export async function encodeBatchInWorkers(
  tok: Tokenizer,
  texts: readonly string[],
  options?: EncodeOptions,
): Promise<Uint32Array[] | null> {
  const threads = Math.min(batchThreadCount(), texts.length);
  if (threads < 2) return null;
  let total = 0;
  for (const t of texts) total += t.length;
  if (total < MIN_WORKER_CHARS) return null;
  const path = workerPath();
  if (!path) return null;
  const allowed = options?.allowedSpecial;
  const allowedSpecial = allowed === undefined ? undefined : allowed === 'all' ? 'all' : [...allowed];
  // Contiguous slices of about equal length, one per worker.
  const jobs: Array<Promise<Uint32Array[]>> = [];
  let start = 0;
  let acc = 0;
  for (let w = 0; w < threads; w++) {
    const target = (total * (w + 1)) / threads;
    let end = start;
    while (end < texts.length && (acc < target || w === threads - 1)) acc += texts[end++].length;
    if (end === start) continue;
    const pw = getWorker(w, path);
    const req: WorkerRequest = { id: nextId++, hash: tok.hash, texts: texts.slice(start, end), allowedSpecial };
    if (!pw.loaded.has(tok.hash)) {
      req.json = tok.toTokenizerJson();
      pw.loaded.add(tok.hash);
    }
    jobs.push(run(pw, req));
    start = end;
  }
  const parts = await Promise.all(jobs);
  return parts.flat();
}
