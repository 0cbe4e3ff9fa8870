/** `llmforge serve`: the OpenAI-compatible server and the chat page (src/serve, docs/SERVING.md). */
import { isIP } from 'node:net';
import { type Command, InvalidArgumentError } from 'commander';
import { startServer, type ServeOptions } from '../serve/server.js';
import { applyConfigFile } from './data.js';
import { applyThreads, intArg } from './options.js';
import { requireModel } from './generate.js';

interface Opts {
  model?: string;
  adapter?: string;
  host: string;
  port: number;
  apiKey?: string;
  parallel: number;
  queue: number;
  alias?: string;
  cors?: string[];
  maxTokens?: number;
  timeout: number;
  bodyLimit: number;
  threads?: number;
  config?: string;
}

function originArg(value: string, prev: string[] | undefined): string[] {
  if (value !== '*' && !/^https?:\/\/[^/\s]+$/.test(value)) {
    throw new InvalidArgumentError(`expected an origin like http://localhost:3000 (scheme, host, optional port, no path) or *, got '${value}'`);
  }
  return [...(prev ?? []), value];
}

function hostArg(value: string): string {
  if (value === 'localhost' || isIP(value) !== 0 || /^[a-z0-9.-]+$/i.test(value)) return value;
  throw new InvalidArgumentError(`expected an IP address or host name, got '${value}'`);
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a model over an OpenAI-compatible HTTP API, with a chat page at /')
    .option('--model <dir>', 'run folder (its latest checkpoint) or checkpoint folder (required)')
    .option('--adapter <dir>', 'apply a LoRA adapter (PEFT folder, or a finetune run) unmerged')
    .option('--host <addr>', 'address to listen on (0.0.0.0: every interface)', hostArg, '127.0.0.1')
    .option('--port <n>', 'TCP port (0: any free port)', intArg(0, 65535), 8080)
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" (default: env LLMFORGE_API_KEY; none: open)')
    .option('--parallel <n>', 'sequences decoded together (continuous batching)', intArg(1, 256), 8)
    .option('--queue <n>', 'sequences that may wait for a slot; beyond it requests get 503', intArg(0, 100_000), 64)
    .option('--alias <name>', 'model id clients use (default: the --model folder name)')
    .option('--cors <origin...>', 'allow browser calls from these origins (* for any); default: closed', originArg)
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for (default: the context length)', intArg(1))
    .option('--timeout <s>', 'generation time per request; then finish_reason "length"', intArg(1, 86_400), 600)
    .option('--body-limit <bytes>', 'largest request body', intArg(1024, 1 << 30), 1 << 20)
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--config <file>', 'JSON file with any of these options (camelCase or flag names); flags override it')
    .action(async (o: Opts, command: Command) => {
      if (o.config) applyConfigFile(command, o.config);
      o = command.opts<Opts>();
      const model = requireModel(o);
      const apiKey = o.apiKey ?? process.env.LLMFORGE_API_KEY;
      if (apiKey !== undefined && apiKey.trim().length === 0) throw new Error('--api-key / LLMFORGE_API_KEY: the key is empty');
      if (o.alias !== undefined && o.alias.trim().length === 0) throw new Error('--alias: the name is empty');
      const threads = applyThreads(o.threads);
      const opts: ServeOptions = {
        model, adapter: o.adapter, host: o.host, port: o.port, apiKey, parallel: o.parallel, queue: o.queue, alias: o.alias, cors: o.cors,
        maxTokens: o.maxTokens, timeoutS: o.timeout, bodyLimit: o.bodyLimit, threads,
      };
      const server = await startServer(opts);
      const i = server.info;
      const err = process.stderr;
      err.write(`llmforge serve: '${server.model.id}' (${i.dir}; ${(i.params / 1e6).toFixed(2)}M params, context ${i.contextLength}, ` +
        `${i.backend} kernels, ${i.threads} threads), ${o.parallel} parallel, queue ${o.queue}\n`);
      err.write(`  chat page  ${server.url}/\n  API        ${server.url}/v1  (key: ${apiKey !== undefined ? 'required' : 'none'}` +
        `${o.cors ? `; CORS: ${o.cors.join(' ')}` : ''})\n`);
      if (typeof server.model.chatStops === 'string') err.write(`warning: /v1/chat/completions is unavailable: ${server.model.chatStops}\n`);
      if (!LOOPBACK.has(o.host) && apiKey === undefined) {
        err.write(`warning: listening on ${o.host} without --api-key: anyone who can reach this port can use the model\n`);
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          err.write(`llmforge serve: ${signal}, shutting down\n`);
          void server.close().then(resolve, resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
