/**
 * Starting a worker thread that owns a model (the server's and the feedback page's generation
 * workers): find its compiled script, then wait for its first message — `ready` once the model
 * is loaded, or `fatal` with a load error that names the flag or file.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * The worker's script: beside the calling module when that is compiled JavaScript, else (tests
 * run the TypeScript sources) its twin under dist/. `candidates` are tried in order.
 */
export function workerScript(candidates: readonly URL[], what: string): URL {
  for (const url of candidates) if (existsSync(fileURLToPath(url))) return url;
  throw new Error(`${what} is not built (run npm run build)`);
}

type StartMessage = { type: string; message?: string };

/** Starts the worker and resolves with it and its `ready` message; `fatal`, an error or an exit rejects. */
export function startWorker<M extends StartMessage>(script: URL, workerData: unknown): Promise<{ worker: Worker; ready: M }> {
  const worker = new Worker(script, { workerData });
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (m: M): void => {
      if (m.type === 'ready') {
        cleanup();
        resolve({ worker, ready: m });
      } else if (m.type === 'fatal') {
        cleanup();
        void worker.terminate();
        reject(new Error(m.message ?? 'the generation worker failed to start'));
      }
    };
    const onError = (err: unknown): void => {
      cleanup();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`the generation worker exited while loading (code ${code})`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
