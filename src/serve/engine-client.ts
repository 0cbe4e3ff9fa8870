/**
 * The HTTP thread's handle on the generation worker: starts it, sends requests and cancels,
 * and routes each step's events to the request they belong to.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker, workerScript } from '../util/worker.js';
import type { ScheduledFinishReason as FinishReason, TokenLogprob } from '../infer/index.js';
import type { FromWorker, ModelInfo, ToWorker, WorkerInit, WorkerRequest } from './protocol.js';

/** What a request hears back; every choice gets exactly one onFinish unless onError ends it all. */
export interface RequestSink {
  onStart?(promptTokens: number[]): void;
  /** token -1: text released at the end. at: when the worker produced it (performance.timeOrigin-based ms). */
  onToken?(choice: number, text: string, token: number, logprob: TokenLogprob | undefined, at: number): void;
  onFinish(choice: number, reason: FinishReason, completionTokens: number): void;
  /** The request failed as a whole (rejected options, the worker died). */
  onError(message: string): void;
}

interface Pending {
  sink: RequestSink;
  open: number;
}

/** The compiled worker: beside this module in dist/, or dist/ when this module runs from source (tests). */
export class EngineClient {
  private readonly pending = new Map<string, Pending>();
  private next = 0;
  private dead: string | null = null;
  /** Last counts the worker reported. */
  waiting = 0;
  running = 0;

  private constructor(private readonly worker: Worker, readonly info: ModelInfo) {
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (err) => this.fail(`the generation worker failed: ${err.message}`));
    worker.on('exit', (code) => this.fail(`the generation worker exited (code ${code})`));
  }

  /** Starts the worker and waits until the model is loaded; load errors reject with the worker's message. */
  static async start(init: WorkerInit): Promise<EngineClient> {
    const script = workerScript([new URL('./worker.js', import.meta.url), new URL('../../dist/serve/worker.js', import.meta.url)], 'serve: dist/serve/worker.js');
    const { worker, ready } = await startWorker<Extract<FromWorker, { type: 'ready' }>>(script, init);
    return new EngineClient(worker, ready.info);
  }

  /** null while the worker is alive, else why it is not. */
  get failure(): string | null {
    return this.dead;
  }

  /** Sequences submitted and not finished (waiting or running). */
  get inFlight(): number {
    let n = 0;
    for (const p of this.pending.values()) n += p.open;
    return n;
  }

  /** Sends a request; returns a cancel function (a no-op once the request has finished). */
  submit(request: WorkerRequest, sink: RequestSink): () => void {
    const id = `r${++this.next}`;
    if (this.dead !== null) {
      sink.onError(this.dead);
      return () => {};
    }
    this.pending.set(id, { sink, open: request.prompts.length });
    this.send({ type: 'submit', id, request });
    return () => {
      if (this.pending.has(id) && this.dead === null) this.send({ type: 'cancel', id });
    };
  }

  async close(): Promise<void> {
    this.dead ??= 'the server is shutting down';
    await this.worker.terminate();
  }

  private send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'events') {
      this.waiting = m.waiting;
      this.running = m.running;
      for (let k = 0; k < m.events.length; k++) {
        const e = m.events[k];
        const p = this.pending.get(e.id);
        if (p === undefined) continue;
        if (e.kind === 'start') p.sink.onStart?.(e.promptTokens);
        else if (e.kind === 'token') p.sink.onToken?.(e.choice, e.text, e.token, e.logprob, m.at[k]);
        else if (e.kind === 'text') p.sink.onToken?.(e.choice, e.text, -1, undefined, m.at[k]);
        else {
          if (--p.open === 0) this.pending.delete(e.id);
          p.sink.onFinish(e.choice, e.reason, e.completionTokens);
        }
      }
    } else if (m.type === 'rejected') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      p?.sink.onError(m.message);
    } else if (m.type === 'fatal') {
      this.fail(m.message);
    }
  }

  private fail(message: string): void {
    if (this.dead === null) this.dead = message;
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.sink.onError(this.dead);
  }
}
