/**
 * The generation worker: loads the model, owns the engine (one KV-cache row per parallel
 * sequence) and the continuous-batching scheduler, and steps it while there is work. Between
 * steps it yields to its event loop, so submits and cancels land at the next step, while the
 * HTTP thread stays free to answer /health and accept connections.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceEngine, loadForGeneration, Scheduler, type SchedulerEvent } from '../infer/index.js';
import { backend, getThreads, setThreads } from '../tensor/registry.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

if (parentPort === null) throw new Error('serve/worker.js runs as a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);
const FLUSH_MS = 16;

async function main(): Promise<void> {
  const threads = init.threads !== undefined ? setThreads(init.threads) : getThreads();
  const loaded = await loadForGeneration(init.model, undefined, undefined, init.adapter);
  const c = loaded.model.config;
  const engine = new InferenceEngine(loaded.model, { maxBatch: init.parallel });
  const scheduler = new Scheduler(engine, loaded.tokenizer);
  let looping = false;
  // Token events of several steps travel together, at most FLUSH_MS apart (one message per
  // 60 Hz display frame: a stream still looks continuous). Each message costs the HTTP thread
  // a wake-up, JSON and a socket write per stream, and on a small machine that thread takes its
  // CPU from the model's threads: a message per 2 ms cost a single stream 15% more CPU per
  // token than one per 16 ms. Starts and finishes go at once (time to first token, request
  // ends); each event carries the time of its step.
  let pending: SchedulerEvent[] = [];
  let at: number[] = [];
  let lastPost = 0;
  const flush = (): void => {
    if (pending.length === 0) return;
    const { waiting, running } = scheduler.stats;
    post({ type: 'events', events: pending, at, waiting, running });
    pending = [];
    at = [];
    lastPost = performance.now();
  };
  const collect = (events: SchedulerEvent[]): void => {
    const now = performance.timeOrigin + performance.now();
    let urgent = false;
    for (const e of events) {
      pending.push(e);
      at.push(now);
      if (e.kind === 'start' || e.kind === 'finish') urgent = true;
    }
    if (urgent || scheduler.idle || performance.now() - lastPost >= FLUSH_MS) flush();
  };

  const loop = (): void => {
    try {
      collect(scheduler.step());
    } catch (err) {
      post({ type: 'fatal', message: `generation failed: ${err instanceof Error ? err.message : String(err)}` });
      process.exit(1);
    }
    if (scheduler.idle) looping = false;
    else setImmediate(loop);
  };
  const kick = (): void => {
    if (looping) return;
    looping = true;
    setImmediate(loop);
  };

  port.on('message', (m: ToWorker) => {
    if (m.type === 'submit') {
      try {
        scheduler.submit(m.id, { ...m.request, deadline: performance.now() + m.request.timeoutMs });
      } catch (err) {
        post({ type: 'rejected', id: m.id, message: err instanceof Error ? err.message : String(err) });
        return;
      }
      kick();
    } else if (m.type === 'cancel') {
      collect(scheduler.cancel(m.id));
    }
  });
  post({
    type: 'ready',
    info: {
      dir: loaded.dir, contextLength: c.contextLength, vocabSize: c.vocabSize, params: loaded.model.params.count,
      family: c.family, threads, backend: backend(),
    },
  });
}

main().catch((err: unknown) => {
  post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
