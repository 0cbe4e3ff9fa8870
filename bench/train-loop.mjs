#!/usr/bin/env node
// The trainer's overhead: `llmforge train` on real shards against `llmforge bench train` (random tokens, the
// bare step), both on the `ref` preset, same threads. Target (issue #5): within 10%.
//
//   node bench/train-loop.mjs [--steps 30] [--threads 2]
//
// Prints {"bench":"train-loop","train_tokens_per_s":…,"bench_tokens_per_s":…,"ratio":…}. Needs the built CLI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({ options: { steps: { type: 'string', default: '30' }, threads: { type: 'string', default: '2' } } });
const cli = (...args) => execFileSync(process.execPath, [join(root, 'bin', 'llmforge.js'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
const work = mkdtempSync(join(tmpdir(), 'llmforge-train-loop-'));
const corpus = join(root, 'examples', 'data');
cli('tokenizer', 'train', '--input', corpus, '--vocab-size', '4096', '--out', join(work, 'tok.json'));
cli('data', 'prepare', '--input', corpus, '--tokenizer', join(work, 'tok.json'), '--out', join(work, 'data'));
const run = join(work, 'run');
cli('train', '--data', join(work, 'data'), '--out', run, '--preset', 'ref', '--batch', '8', '--max-steps', a.steps, '--eval-every', '0', '--save-every', '0', '--threads', a.threads);
const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => 'tokens_per_s' in r);
const rates = steps.slice(2).map((r) => r.tokens_per_s).sort((x, y) => x - y); // the first steps warm up
const train = rates[Math.floor(rates.length / 2)];
const bench = JSON.parse(cli('bench', 'train', '--preset', 'ref', '--batch', '8', '--steps', '10', '--threads', a.threads, '--json').trim()).tokens_per_s;
console.log(JSON.stringify({ bench: 'train-loop', preset: 'ref', threads: Number(a.threads), train_tokens_per_s: Math.round(train), bench_tokens_per_s: bench, ratio: Math.round((train / bench) * 1000) / 1000 }));
