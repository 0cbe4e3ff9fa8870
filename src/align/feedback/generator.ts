/** The main thread's handle on the generation worker: requests in, promises out. */
import type { Worker } from 'node:worker_threads';
import { startWorker, workerScript } from '../../util/worker.js';
import type { ChatMessage } from '../../model/chat.js';
import type { FromWorker, Reply, ToWorker, WorkerInit } from './protocol.js';

/**
 * The compiled worker: beside this module when running from dist/, else in dist/ (this
 * module run from source, as in tests).
 */
type Pending = { resolve: (m: FromWorker) => void; reject: (e: Error) => void };

export class PairGenerator {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failed: Error | null = null;
  private closing = false;
  /** Called once if the worker dies while the server runs (the server cannot go on without it). */
  onFailure: ((err: Error) => void) | null = null;

  private constructor(private readonly worker: Worker, readonly models: string[]) {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready' || m.type === 'fatal') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.type === 'error') p?.reject(new Error(m.message));
      else p?.resolve(m);
    });
    worker.on('error', (err) => this.fail(err instanceof Error ? err : new Error(String(err))));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`the generation worker exited unexpectedly (code ${code})`));
    });
  }

  /** Starts the worker and waits until it has loaded the model(s); load errors name the --model flag. */
  static async start(init: WorkerInit): Promise<PairGenerator> {
    const script = workerScript([new URL('./worker.js', import.meta.url), new URL('../../../dist/align/feedback/worker.js', import.meta.url)], 'the feedback worker (dist/align/feedback/worker.js)');
    const { worker, ready } = await startWorker<Extract<FromWorker, { type: 'ready' }>>(script, init);
    return new PairGenerator(worker, ready.models);
  }

  private request(msg: ToWorker): Promise<FromWorker> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }

  /** Throws file:line for the first prompt that leaves no room for a reply. */
  async check(prompts: Array<{ source: string; messages: ChatMessage[] }>): Promise<void> {
    await this.request({ type: 'check', id: this.nextId++, prompts });
  }

  async generate(messages: ChatMessage[], seed: number): Promise<[Reply, Reply]> {
    const m = await this.request({ type: 'generate', id: this.nextId++, messages, seed });
    if (m.type !== 'pair') throw new Error(`generation worker: unexpected reply ${m.type}`);
    return m.replies;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (!this.closing) this.onFailure?.(err);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
    this.fail(new Error('the generation worker was closed'));
  }
}
