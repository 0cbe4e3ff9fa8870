/**
 * Tokenization thread of `data prepare`: loads the tokenizer once, then processes
 * batches of documents (see process.ts) sent by the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Tokenizer } from '../tokenizer/types.js';
import { processBatch, transferList } from './process.js';
import type { WorkerInit, WorkerRequest, WorkerResponse } from './pool.js';

const init = workerData as WorkerInit;

async function load(): Promise<Tokenizer> {
  const mod = (await import(init.loaderModule)) as Record<string, unknown>;
  const fn = mod[init.loaderExport];
  if (typeof fn !== 'function') throw new Error(`${init.loaderModule} has no function ${init.loaderExport}`);
  const tok = (await (fn as (p: string) => Promise<Tokenizer>)(init.tokenizerPath)) as Tokenizer;
  if (tok.hash !== init.tokenizerHash) {
    throw new Error(`tokenizer loaded in a worker has hash ${tok.hash}, expected ${init.tokenizerHash}`);
  }
  return tok;
}

const port = parentPort;
if (!port) throw new Error('prepare-worker must run in a worker thread');
const ready = load();
ready.catch(() => undefined);
port.on('message', (msg: WorkerRequest) => {
  ready
    .then((tok) => {
      const result = processBatch(tok, msg.texts, { near: msg.near, separatorId: msg.separatorId });
      const res: WorkerResponse = { id: msg.id, result };
      port.postMessage(res, transferList(result));
    })
    .catch((err: unknown) => {
      const res: WorkerResponse = { id: msg.id, error: err instanceof Error ? err.message : String(err) };
      port.postMessage(res);
    });
});
