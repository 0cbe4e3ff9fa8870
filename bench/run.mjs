#!/usr/bin/env node
// `npm run bench`: every benchmark behind the README's performance section, each against its peer on this
// machine in this run. Each script can also run alone (see its header). Output: the scripts' own lines.
//
//   npm run bench                 # all
//   npm run bench -- train matmul # some: matmul, train, train-loop, nanogpt, tokenizer, prepare, generate, feedback, llamacpp, serve, sft, dpo, finetune
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const suites = {
  matmul: ['matmul.mjs'],
  train: ['train.mjs'],
  'train-loop': ['train-loop.mjs'],
  nanogpt: ['nanogpt.mjs'],
  tokenizer: ['tokenizer.mjs'],
  prepare: ['prepare.mjs'],
  generate: ['generate.mjs'],
  feedback: ['feedback.mjs'],
  llamacpp: ['llamacpp.mjs'],
  serve: ['serve.mjs'],
  sft: ['sft.mjs'],
  dpo: ['dpo.mjs'],
  finetune: ['finetune.mjs'],
};
const wanted = process.argv.slice(2);
for (const name of wanted) if (!(name in suites)) throw new Error(`unknown benchmark '${name}' (choose from ${Object.keys(suites).join(', ')})`);
let failed = 0;
for (const [name, [script, ...args]] of Object.entries(suites)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const path = join(here, script);
  if (!existsSync(path)) continue;
  process.stderr.write(`\n=== ${name}: node bench/${script} ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [path, ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`=== ${name} failed (exit ${r.status})\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
