/** Messages between the server (main thread) and the generation worker. */
import type { ChatMessage } from '../../model/chat.js';

export interface Sampling {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
}

export interface WorkerInit {
  /** One model (two samples of it) or two (model A vs model B). */
  models: string[];
  sampling: Sampling;
  threads: number | null;
}

export interface Reply {
  text: string;
  /** Checkpoint directory of the model that wrote it. */
  model: string;
  /** The generation seed; `sample` is the sequence index within that generation. */
  seed: number;
  sample: number;
  finishReason: string;
  tokens: number;
}

export type ToWorker =
  | { type: 'check'; id: number; prompts: Array<{ source: string; messages: ChatMessage[] }> }
  | { type: 'generate'; id: number; messages: ChatMessage[]; seed: number };

export type FromWorker =
  | { type: 'ready'; models: string[] }
  | { type: 'fatal'; message: string }
  | { type: 'checked'; id: number }
  | { type: 'pair'; id: number; replies: [Reply, Reply] }
  | { type: 'error'; id: number; message: string };
