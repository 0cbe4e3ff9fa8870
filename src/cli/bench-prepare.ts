/** `llmforge bench prepare`: MB/s of `data prepare` (read, clean, dedup, tokenize, write shards). */
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { discoverInputs } from '../data/discover.js';
import { addPrepareOptions, runPrepare, type PrepareCliOptions } from './data.js';
import { intArg } from './options.js';

interface Opts extends PrepareCliOptions {
  repeat: number;
  json?: boolean;
}

/** Copies every input file `repeat` times into `dir` (distinct names) and returns the folder. */
async function repeatedCorpus(inputs: string[], repeat: number, dir: string): Promise<string> {
  const found = await discoverInputs(inputs);
  const corpus = join(dir, 'corpus');
  mkdirSync(corpus);
  let i = 0;
  for (let r = 0; r < repeat; r++) {
    for (const s of found.sources) {
      const name = `${String(i++).padStart(5, '0')}-${basename(s.path)}`;
      await pipeline(createReadStream(s.path), createWriteStream(join(corpus, name), { flags: 'wx' }));
    }
  }
  return corpus;
}

export function registerBenchPrepare(bench: Command): void {
  const cmd = bench
    .command('prepare')
    .description('time `data prepare` on a corpus (default dedup: exact) and report MB/s of input');
  addPrepareOptions(cmd)
    .option('--repeat <n>', 'use each input file n times (to make a larger corpus)', intArg(1), 1)
    .option('--json', 'print one JSON line')
    .action(async (o: Opts) => {
      const work = mkdtempSync(join(tmpdir(), 'llmforge-bench-prepare-'));
      try {
        let input = o.input ?? [];
        if (o.repeat > 1) {
          input = [await repeatedCorpus(input, o.repeat, work)];
        }
        const r = await runPrepare({ ...o, input, out: join(work, 'out'), progress: o.progress && !o.json }, { handleSignals: true });
        const m = r.manifest;
        const mb = r.inputBytes / 1e6;
        const record = {
          bench: 'prepare',
          mb_per_s: Math.round((mb / r.seconds) * 100) / 100,
          seconds: Math.round(r.seconds * 1000) / 1000,
          input_mb: Math.round(mb * 100) / 100,
          documents: m.documents,
          tokens: m.train_tokens + m.val_tokens,
          tokens_per_s: Math.round((m.train_tokens + m.val_tokens) / r.seconds),
          vocab_size: m.tokenizer.vocab_size,
          dedup: m.dedup.mode,
          duplicates_removed: m.duplicates_removed,
          threads: r.threads,
          peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
        };
        if (o.json) {
          process.stdout.write(`${JSON.stringify(record)}\n`);
        } else {
          process.stdout.write(
            `bench prepare: ${record.input_mb} MB in ${record.seconds} s = ${record.mb_per_s} MB/s ` +
              `(${record.tokens} tokens, ${record.tokens_per_s} tokens/s, vocab ${record.vocab_size}, ` +
              `dedup ${record.dedup}, ${record.threads} threads, peak RSS ${record.peak_rss_mb} MB)\n`,
          );
        }
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
}
