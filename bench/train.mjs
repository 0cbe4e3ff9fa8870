#!/usr/bin/env node
// The training-step benchmark side by side: `llmforge bench train` against PyTorch 1.13 running the same
// model and optimizer (bench/train_torch.py) with the same thread count, alternating runs so both see the
// same machine. Target (issue #2): llmforge ≥ 2× PyTorch's tokens/s on the `ref` preset.
//
//   node bench/train.mjs [--preset ref] [--threads 2] [--steps 10] [--rounds 2]
//
// Needs the built CLI (npm install) and /usr/bin/python3 with torch (Debian: python3-torch and
// libopenblas0-pthread). PyTorch gets its best BLAS setting: each round runs it twice, once with
// OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset (OpenBLAS picks its kernels; Debian's 0.3.21 takes AVX2 ones on
// Zen 5) and once with OPENBLAS_CORETYPE=SkylakeX (its AVX-512 kernels), and the faster counts.
// Prints one JSON line per side and a summary line {"bench":"train-vs-torch",...}.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({
  options: {
    preset: { type: 'string', default: 'ref' }, threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' },
  },
});
const python = process.env.PYTHON ?? '/usr/bin/python3';
const common = ['--preset', a.preset, '--threads', a.threads, '--steps', a.steps, '--json'];
const autoEnv = { ...process.env };
delete autoEnv.OPENBLAS_CORETYPE;
delete autoEnv.OPENBLAS_L2_SIZE;
const torchEnvs = [['auto', autoEnv], ['SkylakeX', { ...autoEnv, OPENBLAS_CORETYPE: 'SkylakeX' }]];

const last = (out) => JSON.parse(out.trim().split('\n').pop());
let ours = null;
let torch = null;
for (let round = 0; round < Number(a.rounds); round++) {
  const o = last(execFileSync(process.execPath, [join(root, 'bin', 'llmforge.js'), 'bench', 'train', ...common], { encoding: 'utf8' }));
  if (!ours || o.tokens_per_s > ours.tokens_per_s) ours = o;
  if (existsSync(python)) {
    for (const [blas, env] of torchEnvs) {
      const t = { ...last(execFileSync(python, [join(root, 'bench', 'train_torch.py'), ...common], { encoding: 'utf8', env })), openblas_coretype: blas };
      if (!torch || t.tokens_per_s > torch.tokens_per_s) torch = t;
    }
  }
}
console.log(JSON.stringify(ours));
if (torch) {
  console.log(JSON.stringify(torch));
  console.log(JSON.stringify({
    bench: 'train-vs-torch', preset: a.preset, threads: Number(a.threads), llmforge_tokens_per_s: ours.tokens_per_s,
    torch_tokens_per_s: torch.tokens_per_s, ratio: Math.round((ours.tokens_per_s / torch.tokens_per_s) * 100) / 100,
  }));
}
