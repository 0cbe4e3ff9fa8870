/** `llmforge feedback serve`: the comparison page, votes into a SQLite file. */
import { type Command, InvalidArgumentError } from 'commander';
import { startFeedbackServer } from '../align/feedback/server.js';
import { SAMPLING_DEFAULTS } from '../infer/sampler.js';
import { applyConfigFile } from './data.js';
import { intArg, numberArg } from './options.js';

interface ServeCliOptions {
  model?: string;
  modelB?: string;
  prompts?: string;
  db?: string;
  host: string;
  port: number;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  seed: number;
  ahead: number;
  threads?: number;
  json?: boolean;
  config?: string;
}

/** Required flags are checked after --config is applied (they may come from the file). */
export function required<T>(value: T | undefined, flag: string, what: string): T {
  if (value === undefined) throw new Error(`${flag} is required: ${what}`);
  return value;
}

function topPArg(value: string): number {
  const n = numberArg(0, 1)(value);
  if (n === 0) throw new InvalidArgumentError('must be in (0, 1], got 0');
  return n;
}

export function registerFeedbackServe(fb: Command): void {
  fb.command('serve')
    .description('a web page comparing two replies per prompt (two samples of --model, or --model vs --model-b); votes go to --db')
    .option('--model <dir>', 'run folder (its latest checkpoint) or checkpoint folder; its tokenizer needs the chat tokens')
    .option('--model-b <dir>', 'a second model: each pair is --model vs --model-b (default: two samples of --model)')
    .option('--prompts <file>', 'JSONL: {"messages":[...]} ending with a user turn, or {"prompt":"..."}')
    .option('--db <file>', 'SQLite file for prompts, pairs and votes (created if missing)')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--port <n>', 'port (0: any free one)', intArg(0, 65535), 8080)
    .option('--max-tokens <n>', 'reply length at most, in tokens', intArg(1), 256)
    .option('--temperature <t>', 'sampling temperature (> 0 with one model)', numberArg(0, 1e6), SAMPLING_DEFAULTS.temperature)
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', intArg(0), SAMPLING_DEFAULTS.topK)
    .option('--top-p <p>', 'nucleus mass in (0, 1] (1 = off)', topPArg, SAMPLING_DEFAULTS.topP)
    .option('--min-p <p>', 'drop tokens below p × the top probability (0 = off)', numberArg(0, 1), SAMPLING_DEFAULTS.minP)
    .option('--repetition-penalty <r>', 'penalize tokens already in the text (1 = off)', numberArg(Number.MIN_VALUE, 1e6), SAMPLING_DEFAULTS.repetitionPenalty)
    .option('--seed <n>', 'seed of the pairs and of the side shuffle', intArg(0, 2 ** 32 - 1), 0)
    .option('--ahead <n>', 'pairs generated ahead of each annotator', intArg(0, 16), 2)
    .option('--threads <n>', 'native threads of the generation worker (default: all cores)', intArg(1))
    .option('--json', 'print {"url", ...} as one JSON line when listening')
    .option('--config <file>', 'JSON file with any of these options (camelCase or flag names); flags override it')
    .action(async (opts: ServeCliOptions, command: Command) => {
      if (opts.config) applyConfigFile(command, opts.config);
      const o = command.opts<ServeCliOptions>();
      const model = required(o.model, '--model', 'a run folder or a checkpoint folder');
      const prompts = required(o.prompts, '--prompts', 'a JSONL file of prompts');
      const db = required(o.db, '--db', 'the SQLite file votes go to');
      let fatal: ((err: Error) => void) | null = null;
      const server = await startFeedbackServer({
        onFatal: (err) => fatal?.(err),
        models: o.modelB === undefined ? [model] : [model, o.modelB],
        prompts,
        db,
        host: o.host,
        port: o.port,
        seed: o.seed,
        ahead: o.ahead,
        threads: o.threads ?? null,
        sampling: {
          maxNewTokens: o.maxTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, minP: o.minP,
          repetitionPenalty: o.repetitionPenalty,
        },
      });
      const info = { url: server.url, prompts: server.prompts, models: server.models, db, setup: server.setup };
      if (o.json) process.stdout.write(`${JSON.stringify(info)}\n`);
      else {
        process.stdout.write(`llmforge feedback: ${server.url} (${server.prompts} prompts; ${server.models.join(' vs ')}` +
          `${server.models.length === 1 ? ', two samples each' : ''}; votes → ${db}); Ctrl-C stops\n`);
      }
      const failure = await new Promise<Error | null>((resolve) => {
        const stop = (err: Error | null): void => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          fatal = null;
          void server.close().then(() => resolve(err), () => resolve(err));
        };
        const onSignal = (): void => stop(null);
        fatal = stop;
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      // Votes already taken are safe in the file; without the worker no new pair can be made.
      if (failure !== null) throw new Error(`feedback serve: ${failure.message}`);
    });
}
