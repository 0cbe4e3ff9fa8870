/**
 * Messages between the HTTP thread and the generation worker (worker.ts). The worker owns the
 * model, the engine and the scheduler; the HTTP thread tokenizes, validates and streams.
 * Events travel in bundles (one message per step or per few milliseconds), so 16 streams cost one
 * postMessage, not sixteen.
 */
import type { ScheduledRequest, SchedulerEvent } from '../infer/index.js';

export interface WorkerInit {
  model: string;
  /** A PEFT LoRA adapter applied unmerged (--adapter). */
  adapter?: string;
  /** Sequences decoded together (rows of the KV cache). */
  parallel: number;
  threads?: number;
}

export interface ModelInfo {
  /** The checkpoint folder that was loaded. */
  dir: string;
  contextLength: number;
  vocabSize: number;
  params: number;
  family: string;
  threads: number;
  backend: string;
}

/** A request as the worker gets it: the deadline is relative (threads have their own clocks). */
export type WorkerRequest = Omit<ScheduledRequest, 'deadline'> & { timeoutMs: number };

export type ToWorker =
  | { type: 'submit'; id: string; request: WorkerRequest }
  | { type: 'cancel'; id: string };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  /** Loading failed, or the engine broke: the worker exits after this. */
  | { type: 'fatal'; message: string }
  /** submit threw (bad options): the request never started. */
  | { type: 'rejected'; id: string; message: string }
  /** at[i]: when event i happened (performance.timeOrigin + now, ms) — messages may bundle several steps. */
  | { type: 'events'; events: SchedulerEvent[]; at: number[]; waiting: number; running: number };
