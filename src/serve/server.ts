/** Starting and stopping the server: the worker (model), the tokenizer, the app, the listen. */
import { basename, join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { documentStartToken, endTokenIds } from '../model/framing.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { buildApp } from './app.js';
import { EngineClient } from './engine-client.js';
import { ServerMetrics } from './metrics.js';
import type { ModelInfo } from './protocol.js';
import { chatStopTokens, type ModelView, type ServeLimits } from './requests.js';

export interface ServeOptions {
  model: string;
  /** A PEFT LoRA adapter applied unmerged. */
  adapter?: string;
  host: string;
  /** 0: any free port. */
  port: number;
  apiKey?: string;
  parallel: number;
  queue: number;
  /** The model id clients use; default: the --model folder's name. */
  alias?: string;
  cors?: string[];
  /** Largest max_tokens; default: the context length. */
  maxTokens?: number;
  timeoutS: number;
  bodyLimit: number;
  threads?: number;
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  engine: EngineClient;
  info: ModelInfo;
  model: ModelView;
  metrics: ServerMetrics;
  close(): Promise<void>;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const engine = await EngineClient.start({ model: o.model, adapter: o.adapter, parallel: o.parallel, threads: o.threads });
  try {
    const info = engine.info;
    const tokenizer = await loadTokenizer(join(info.dir, 'tokenizer.json'));
    const endTokens = endTokenIds(tokenizer);
    const model: ModelView = {
      id: o.alias ?? basename(resolve(o.model)), tokenizer, contextLength: info.contextLength,
      documentStart: documentStartToken(tokenizer), endTokens, chatStops: chatStopTokens(tokenizer, endTokens),
    };
    const limits: ServeLimits = {
      parallel: o.parallel, queue: o.queue, maxTokens: Math.min(o.maxTokens ?? info.contextLength, info.contextLength),
      timeoutMs: o.timeoutS * 1000, bodyLimit: o.bodyLimit,
    };
    const metrics = new ServerMetrics({ waiting: () => engine.waiting, running: () => engine.running, parallel: o.parallel });
    const app = await buildApp({ engine, model, limits, metrics }, { apiKey: o.apiKey, cors: o.cors });
    try {
      await app.listen({ host: o.host, port: o.port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new Error(`--port ${o.port}: ${o.host}:${o.port} is already in use (choose another port, or 0 for any free one)`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new Error(`--host ${o.host}: not an address of this machine (${code})`);
      if (code === 'EACCES') throw new Error(`--port ${o.port}: permission denied (ports below 1024 need privileges)`);
      throw err;
    }
    const addr = app.server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return {
      url: `http://${host}:${addr.port}`, app, engine, info, model, metrics,
      async close() {
        // The worker first: replies in flight end (streams with an error event) instead of holding the close.
        await engine.close();
        await app.close();
      },
    };
  } catch (err) {
    await engine.close();
    throw err;
  }
}
