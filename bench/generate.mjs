#!/usr/bin/env node
// Generation speed for the README: `llmforge bench generate` on the tiny, ref and small presets
// (random weights: speed does not depend on them), batch 1 and 8, with and without the KV cache.
// Prints one JSON line per run on stdout (progress on stderr).
//
//   node bench/generate.mjs [--presets tiny,ref,small] [--batches 1,8] [--threads N] [--repeats N]
//                           [--prompt-tokens 32] [--new-tokens 96] [--no-recompute]
//
// Needs the compiled CLI (npm run build). Runs without the cache are slow by design (each token
// recomputes the whole sequence), so they are timed once (--repeats 1) after the warm-up.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, hasFlag } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'llmforge.js');

const presets = flag('--presets', 'tiny,ref,small').split(',');
const batches = flag('--batches', '1,8').split(',').map(Number);
const threads = flag('--threads', undefined);
const repeats = flag('--repeats', '3');
const promptTokens = flag('--prompt-tokens', '32');
const newTokens = flag('--new-tokens', '96');
const recompute = !hasFlag('--no-recompute');

let failed = false;
for (const preset of presets) {
  for (const batch of batches) {
    for (const cache of recompute ? [true, false] : [true]) {
      const cmd = ['bench', 'generate', '--preset', preset, '--batch', String(batch), '--prompt-tokens', promptTokens,
        '--new-tokens', newTokens, '--repeats', cache ? repeats : '1', '--json'];
      if (!cache) cmd.push('--no-cache');
      if (threads !== undefined) cmd.push('--threads', threads);
      process.stderr.write(`llmforge ${cmd.join(' ')}\n`);
      const r = spawnSync(process.execPath, [bin, ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
      if (r.status !== 0) {
        failed = true;
        process.stderr.write(`  failed with exit code ${r.status}\n`);
        continue;
      }
      process.stdout.write(r.stdout);
    }
  }
}
process.exitCode = failed ? 1 : 0;
