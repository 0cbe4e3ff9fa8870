#!/usr/bin/env node
// Benchmark of `llmforge data prepare` with a 32k-vocabulary tokenizer.
//
//   node bench/prepare.mjs [--tokenizer FILE] [--input PATH...] [--repeat N] [--threads N] [--runs K] [--dedup MODE]
//
// Without --tokenizer it trains (once, cached in $TMPDIR/llmforge-bench/) a 32768-id tokenizer on the
// input. Without --input it uses ../shared/corpora/*.txt when present, else examples/data/.
// Prints the best of K runs as one line: {"bench":"prepare","mb_per_s":…,…}. Needs `npm run build`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const inputs = [];
for (let i = args.indexOf('--input') + 1; i > 0 && i < args.length && !args[i].startsWith('--'); i++) inputs.push(args[i]);
if (inputs.length === 0) {
  const shared = join(root, '..', 'shared', 'corpora');
  if (existsSync(shared)) inputs.push(...readdirSync(shared).filter((f) => f.endsWith('.txt')).sort().map((f) => join(shared, f)));
  else inputs.push(join(root, 'examples', 'data'));
}
const repeat = opt('--repeat', '5');
const runs = Number(opt('--runs', '3'));
const threads = opt('--threads');
const dedup = opt('--dedup', 'exact');

let tokenizer = opt('--tokenizer');
if (!tokenizer) {
  const cache = join(tmpdir(), 'llmforge-bench');
  mkdirSync(cache, { recursive: true });
  tokenizer = join(cache, 'tok32k.json');
  if (!existsSync(tokenizer)) {
    process.stderr.write(`training a 32768-id tokenizer on ${inputs.length} input(s) → ${tokenizer}\n`);
    const { trainTokenizer } = await import(join(root, 'dist', 'tokenizer', 'index.js'));
    await trainTokenizer({ input: inputs, vocabSize: 32768, out: tokenizer, progress: false });
  }
}

const cli = join(root, 'bin', 'llmforge.js');
let best = null;
for (let r = 0; r < runs; r++) {
  const argv = [cli, 'bench', 'prepare', '--tokenizer', tokenizer, '--input', ...inputs, '--repeat', repeat, '--dedup', dedup, '--json'];
  if (threads) argv.push('--threads', threads);
  const line = execFileSync(process.execPath, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const rec = JSON.parse(line);
  process.stderr.write(`run ${r + 1}/${runs}: ${rec.mb_per_s} MB/s (${rec.input_mb} MB, ${rec.threads} threads, peak RSS ${rec.peak_rss_mb} MB)\n`);
  if (!best || rec.mb_per_s > best.mb_per_s) best = rec;
}
process.stdout.write(`${JSON.stringify(best)}\n`);
