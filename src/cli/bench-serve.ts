/** `llmforge bench serve`: aggregate tokens/s and time to first token of N concurrent HTTP clients. */
import type { Command } from 'commander';
import { benchServe } from '../serve/bench.js';
import { applyThreads, intArg } from './options.js';

interface Opts {
  model?: string;
  clients: number;
  newTokens: number;
  promptTokens: number;
  repeats: number;
  threads?: number;
  seed: number;
  json?: boolean;
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export function registerBenchServe(bench: Command): void {
  bench
    .command('serve')
    .description('start the server in-process and stream completions from N concurrent clients (greedy, fixed length)')
    .option('--model <dir>', 'run folder or checkpoint to serve (required)')
    .option('--clients <n>', 'concurrent clients (the server runs --parallel N)', intArg(1, 256), 1)
    .option('--new-tokens <n>', 'tokens each client receives', intArg(1), 96)
    .option('--prompt-tokens <n>', 'prompt length (random ordinary token ids)', intArg(1), 32)
    .option('--repeats <n>', 'timed runs (best reported) after one warm-up', intArg(1), 3)
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--seed <n>', 'seed of the random prompts', intArg(0), 1234)
    .option('--json', 'print one JSON line')
    .action(async (o: Opts) => {
      if (o.model === undefined) throw new Error('bench serve: --model DIR is required');
      const threads = applyThreads(o.threads);
      const r = await benchServe({ model: o.model, clients: o.clients, newTokens: o.newTokens, promptTokens: o.promptTokens, repeats: o.repeats, threads, seed: o.seed });
      const record = {
        bench: 'serve', model: o.model, params: r.params, clients: o.clients, parallel: o.clients, prompt_tokens: o.promptTokens,
        new_tokens: o.newTokens, tokens_per_s: round(r.tokensPerSecond), ttft_ms_p50: round(r.ttftMsP50, 2), ttft_ms_p95: round(r.ttftMsP95, 2),
        decode_tokens_per_s: round(r.decodeTokensPerSecond), seconds: round(r.seconds, 3), threads: r.threads, backend: r.backend,
      };
      if (o.json) process.stdout.write(`${JSON.stringify(record)}\n`);
      else {
        process.stdout.write(`bench serve: ${o.model} (${(r.params / 1e6).toFixed(2)}M params), ${o.clients} concurrent client${o.clients > 1 ? 's' : ''}, ` +
          `${o.promptTokens} prompt + ${o.newTokens} new tokens each, ${r.threads} threads, ${r.backend} kernels\n` +
          `  aggregate ${record.tokens_per_s} tok/s; time to first token p50 ${record.ttft_ms_p50} ms, p95 ${record.ttft_ms_p95} ms; ` +
          `per-client decode ${record.decode_tokens_per_s} tok/s\n`);
      }
    });
}
