/** `llmforge bench generate`: prefill and decode tokens/s, with or without the KV cache. */
import type { Command } from 'commander';
import { GPT } from '../nn/gpt.js';
import { preset, PRESET_NAMES } from '../nn/config.js';
import { benchGenerate, type GenerateBenchOptions } from '../infer/bench.js';
import { loadModel } from '../model/checkpoint.js';
import { backend, isa, nativeKernelNames } from '../tensor/registry.js';
import { applyThreads, intArg } from './options.js';

interface Opts {
  model?: string;
  preset?: string;
  promptTokens: number;
  newTokens: number;
  batch: number;
  cache: boolean;
  compare?: boolean;
  repeats: number;
  threads?: number;
  seed: number;
  json?: boolean;
}

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export function registerBenchGenerate(bench: Command): void {
  bench
    .command('generate')
    .description('time prompt prefill and token-by-token decoding (greedy, random prompt ids)')
    .option('--model <dir>', 'run folder or checkpoint to load')
    .option('--preset <name>', `or a model preset with random weights (${PRESET_NAMES.join(', ')})`)
    .option('--prompt-tokens <n>', 'prompt length', intArg(1), 32)
    .option('--new-tokens <n>', 'tokens to generate per sequence', intArg(1), 96)
    .option('--batch <n>', 'sequences generated together', intArg(1, 1024), 1)
    .option('--no-cache', 'recompute the full forward for every token')
    .option('--compare', 'run with and without the cache and report the speedup (the cache must be ≥ 3× faster)')
    .option('--repeats <n>', 'timed runs (best reported) after one warm-up', intArg(1), 3)
    .option('--threads <n>', 'native threads (default: all cores)', intArg(1))
    .option('--seed <n>', 'seed of the random prompts', intArg(0), 1234)
    .option('--json', 'print one JSON line')
    .action((o: Opts) => {
      if ((o.model === undefined) === (o.preset === undefined)) throw new Error('bench generate: give --model DIR or --preset NAME (one of them)');
      const threads = applyThreads(o.threads);
      const model = o.model !== undefined ? loadModel(o.model).model : new GPT(preset(o.preset ?? '')).init(o.seed);
      const what = o.model ?? `preset ${o.preset}`;
      const base: Omit<GenerateBenchOptions, 'useCache'> = {
        promptTokens: o.promptTokens, newTokens: o.newTokens, batch: o.batch, repeats: o.repeats, seed: o.seed,
      };
      const modes = o.compare ? [true, false] : [o.cache];
      const runs = modes.map((useCache) => ({ useCache, r: benchGenerate(model, { ...base, useCache }) }));
      const main = runs[0];
      const record: Record<string, unknown> = {
        bench: 'generate', model: what, params: model.params.count, batch: o.batch, prompt_tokens: o.promptTokens,
        new_tokens: o.newTokens, cache: main.useCache, threads, backend: backend(), isa: isa(),
        native_kernels: nativeKernelNames().length, native_attention_cached: nativeKernelNames().includes('attentionCached'),
        prefill_tokens_per_s: round(main.r.prefillTokensPerSecond), decode_tokens_per_s: round(main.r.decodeTokensPerSecond),
        decode_ms_per_token: round(main.r.decodeMs / o.newTokens, 3),
      };
      if (o.compare) {
        const nc = runs[1].r;
        const speedup = main.r.decodeTokensPerSecond / nc.decodeTokensPerSecond;
        const same = JSON.stringify(main.r.tokens) === JSON.stringify(nc.tokens);
        Object.assign(record, {
          no_cache_prefill_tokens_per_s: round(nc.prefillTokensPerSecond), no_cache_decode_tokens_per_s: round(nc.decodeTokensPerSecond),
          cache_speedup: round(speedup, 2), cache_speedup_ok: speedup >= 3, same_greedy_tokens: same,
        });
      }
      if (o.json) {
        process.stdout.write(`${JSON.stringify(record)}\n`);
      } else {
        const lines = [`bench generate: ${what} (${(model.params.count / 1e6).toFixed(2)}M params), batch ${o.batch}, ` +
          `${o.promptTokens} prompt + ${o.newTokens} new tokens, ${threads} threads, ${backend()}/${isa()} ` +
          `(${nativeKernelNames().length} native kernels${nativeKernelNames().includes('attentionCached') ? ', attentionCached among them' : ''})`];
        for (const { useCache, r } of runs) {
          lines.push(`  ${useCache ? 'KV cache  ' : 'no cache  '} prefill ${round(r.prefillTokensPerSecond)} tok/s, ` +
            `decode ${round(r.decodeTokensPerSecond)} tok/s (${round(r.decodeMs / o.newTokens, 3)} ms per step)`);
        }
        if (o.compare) {
          lines.push(`  cache speedup ${String(record.cache_speedup)}× (${record.cache_speedup_ok ? 'ok, ≥ 3×' : 'BELOW 3×'}); ` +
            `greedy tokens ${record.same_greedy_tokens ? 'identical' : 'DIFFER'}`);
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      }
      if (o.compare && record.cache_speedup_ok !== true) process.exitCode = 1;
    });
}
