/**
 * `llmforge bench tokenizer`: encoding speed in MB/s of UTF-8 input. The file is cut into segments of
 * about 1 MB at places where the split pattern always splits and encoded with encodeBatch, on
 * --threads threads; the best of --repeat runs is reported (the first run, with a cold piece cache,
 * is reported too).
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { loadTokenizer, setBatchThreads } from '../tokenizer/index.js';
import { safeCut } from '../tokenizer/input.js';
import { applyThreads, intArg } from './options.js';

interface Opts {
  tokenizer?: string;
  input?: string;
  threads?: number;
  repeat: number;
  json?: boolean;
}

/** Cuts text into segments of about `size` characters at safe places. */
export function segmentText(text: string, size = 1 << 20): string[] {
  const out: string[] = [];
  let start = 0;
  while (text.length - start > size * 1.5) {
    const cut = safeCut(text.slice(start, start + size));
    if (cut <= 0) break;
    out.push(text.slice(start, start + cut));
    start += cut;
  }
  out.push(text.slice(start));
  return out;
}

export function registerBenchTokenizer(bench: Command): void {
  bench
    .command('tokenizer')
    .description('encoding speed (MB/s of UTF-8 text) of a tokenizer on a text file')
    .option('--tokenizer <path>', 'tokenizer.json, tiktoken rank file, or GPT-2 encoder.json / vocab.bpe')
    .option('--input <file>', 'UTF-8 text file')
    .option('--threads <n>', 'threads (default: all cores)', intArg(1))
    .option('--repeat <n>', 'timed runs; the best is reported', intArg(1), 3)
    .option('--json', 'print one JSON line')
    .action(async (o: Opts) => {
      if (!o.tokenizer) throw new Error('--tokenizer is required');
      if (!o.input) throw new Error('--input is required');
      const nativeThreads = applyThreads(o.threads);
      setBatchThreads(o.threads);
      const tok = await loadTokenizer(o.tokenizer);
      const threads = tok.backend === 'native' ? nativeThreads : (o.threads ?? availableParallelism());
      let text: string;
      try {
        text = await readFile(o.input, 'utf8');
      } catch (err) {
        throw new Error(`--input ${o.input}: cannot read (${err instanceof Error ? err.message : String(err)})`);
      }
      const mb = Buffer.byteLength(text) / 1e6;
      const segments = segmentText(text);
      const times: number[] = [];
      let tokens = 0;
      for (let r = 0; r < o.repeat; r++) {
        const t0 = performance.now();
        const ids = await tok.encodeBatch(segments);
        times.push((performance.now() - t0) / 1000);
        tokens = ids.reduce((s, a) => s + a.length, 0);
      }
      const best = Math.min(...times);
      const record = {
        bench: 'encode',
        mb_per_s: Math.round((mb / best) * 100) / 100,
        first_run_mb_per_s: Math.round((mb / times[0]) * 100) / 100,
        seconds: Math.round(best * 1e4) / 1e4,
        input_mb: Math.round(mb * 100) / 100,
        tokens,
        tokens_per_s: Math.round(tokens / best),
        threads,
        backend: tok.backend,
        vocab_size: tok.vocabSize,
      };
      if (o.json) process.stdout.write(`${JSON.stringify(record)}\n`);
      else {
        process.stdout.write(
          `bench tokenizer: ${record.input_mb} MB → ${tokens} tokens in ${record.seconds} s = ${record.mb_per_s} MB/s ` +
            `(first run ${record.first_run_mb_per_s} MB/s; ${threads} threads, ${record.backend} encoder)\n`,
        );
      }
    });
}
