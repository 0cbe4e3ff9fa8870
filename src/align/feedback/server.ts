/**
 * `feedback serve` put together: prompts read and checked, the database opened (and
 * migrated), the generation worker started, the HTTP server listening.
 *
 * A "setup" names what generated the pairs — the model checkpoints, the sampling settings
 * and the seed. Pairs are stored per (prompt, setup): restarting with the same setup
 * continues where everyone left off with the same pairs; a different setup gets new pairs
 * (old votes stay in the file and are exported too).
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { openFeedbackDb, type Db } from './db.js';
import { PairGenerator } from './generator.js';
import { readPrompts } from './prompts.js';
import type { Sampling } from './protocol.js';
import { CandidateQueue } from './queue.js';
import { registerRoutes } from './routes.js';
import { FeedbackStore } from './store.js';

export interface ServeOptions {
  models: string[];
  prompts: string;
  db: string;
  host: string;
  port: number;
  seed: number;
  sampling: Sampling;
  threads: number | null;
  /** Pairs generated ahead of each annotator's current one (default 2). */
  ahead?: number;
  /** Called if the generation worker dies while serving. */
  onFatal?: (err: Error) => void;
}

export interface FeedbackServer {
  url: string;
  app: FastifyInstance;
  store: FeedbackStore;
  queue: CandidateQueue;
  setup: string;
  prompts: number;
  models: string[];
  close(): Promise<void>;
}

export function setupHash(models: readonly string[], sampling: Sampling, seed: number): string {
  return createHash('sha256').update(JSON.stringify({ models, sampling, seed })).digest('hex').slice(0, 16);
}

export async function startFeedbackServer(o: ServeOptions): Promise<FeedbackServer> {
  if (o.models.length < 1 || o.models.length > 2) throw new Error('feedback serve: one or two models');
  if (o.models.length === 1 && o.sampling.temperature === 0) {
    throw new Error('--temperature 0 with one model gives the same reply twice: sample (temperature > 0) or compare with --model-b');
  }
  const items = readPrompts(o.prompts);
  const generator = await PairGenerator.start({ models: o.models, sampling: o.sampling, threads: o.threads });
  let db: Db | null = null;
  generator.onFailure = (err) => o.onFatal?.(err);
  try {
    await generator.check(items);
    db = openFeedbackDb(o.db);
    const store = new FeedbackStore(db);
    const order = store.addPrompts(items);
    const hashes = new Map(order.map((id, i) => [id, items[i].hash]));
    const setup = setupHash(generator.models, o.sampling, o.seed);
    const queue = new CandidateQueue(store, generator, setup, o.seed, hashes);
    // Strict schemas: unknown fields are an error (not silently dropped) and "5" is not 5.
    const app = Fastify({ logger: false, bodyLimit: 1 << 20, ajv: { customOptions: { removeAdditional: false, coerceTypes: false } } });
    const title = `${basename(o.prompts)} — ${generator.models.map((m) => basename(m)).join(' vs ')}`;
    registerRoutes(app, { store, queue, setup, seed: o.seed, order, ahead: o.ahead ?? 2, title });
    let address: string;
    try {
      address = await app.listen({ host: o.host, port: o.port });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : e.message;
      throw new Error(`--host ${o.host} --port ${o.port}: cannot listen (${why})`);
    }
    const openDb = db;
    // Start on the first prompt's pair right away: the first page load then rarely waits.
    queue.prefetch(order.slice(0, 1 + (o.ahead ?? 2)));
    return {
      url: `${address}/`, app, store, queue, setup, prompts: order.length, models: generator.models,
      async close() {
        queue.close();
        await app.close();
        await generator.close();
        openDb.close();
      },
    };
  } catch (err) {
    await generator.close();
    db?.close();
    throw err;
  }
}
