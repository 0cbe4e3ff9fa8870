#!/usr/bin/env node
/**
 * llmforge's matmul against torch.mm, side by side: 1024³ and every Linear layer of the
 * benchmark model (`ref` preset: 2048 tokens, d 256, MLP 1024, vocab 4096) in the three
 * forms training uses — forward y = x·Wᵀ, dx = dy·W, dW += dyᵀ·x.
 *
 *   node bench/matmul.mjs                      # 2 threads
 *   THREADS=1,2 node bench/matmul.mjs          # several thread counts
 *   OPENBLAS_CORETYPE=SkylakeX node bench/matmul.mjs   # OpenBLAS's AVX-512 kernels
 *
 * Needs the built CLI (npm run build, npm run build:native) and /usr/bin/python3 with
 * torch. LLMFORGE="node other/cli.js" runs another build of the CLI; PYTHON picks the
 * interpreter; ITERS the timed iterations; REPEAT=3 runs every measurement three times,
 * alternating the two, and keeps the best median (for machines shared with other work). torch.mm uses whatever BLAS torch loaded:
 * the "torch blas" column says which (OpenBLAS 0.3.21 runs its AVX2 kernels on Zen 5
 * unless OPENBLAS_CORETYPE=SkylakeX is set).
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const llmforge = (process.env.LLMFORGE ?? `node ${join(root, 'bin', 'llmforge.js')}`).split(' ');
const python = process.env.PYTHON ?? '/usr/bin/python3';
const threadCounts = (process.env.THREADS ?? '2').split(',').map(Number);
const iters = process.env.ITERS ?? '20';
const repeat = Number(process.env.REPEAT ?? 1);

const T = 2048, D = 256, MLP = 1024, VOCAB = 4096;
const layers = [['qkv', D, 3 * D], ['attn proj', D, D], ['mlp fc', D, MLP], ['mlp proj', MLP, D], ['lm head', D, VOCAB]];

/** [label, m, n, k, transA, transB, accumulate] */
const shapes = [['square 1024³', 1024, 1024, 1024, false, false, false]];
for (const [name, inF, outF] of layers) {
  shapes.push([`${name} fwd  y=x·Wᵀ`, T, outF, inF, false, true, false]);
  shapes.push([`${name} dx   dy·W`, T, inF, outF, false, false, false]);
  shapes.push([`${name} dW  +=dyᵀ·x`, outF, inF, T, true, false, true]);
}

function flags(m, n, k, ta, tb, acc, threads) {
  return ['--m', String(m), '--n', String(n), '--k', String(k), '--threads', String(threads), '--iters', iters, '--json',
    ...(ta ? ['--trans-a'] : []), ...(tb ? ['--trans-b'] : []), ...(acc ? ['--accumulate'] : [])];
}

function runJson(cmd, args) {
  const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop());
}

const pad = (s, w) => String(s).padEnd(w);
const lpad = (s, w) => String(s).padStart(w);
for (const threads of threadCounts) {
  console.log(`\n${threads} thread${threads > 1 ? 's' : ''}`);
  console.log(`${pad('shape', 26)}${pad('m×n×k', 18)}${lpad('llmforge', 10)}${lpad('torch.mm', 10)}${lpad('ratio', 7)}  ` +
    'GFLOP/s (llmforge isa / torch blas)');
  let logRatio = 0;
  for (const [label, m, n, k, ta, tb, acc] of shapes) {
    let ours, torch;
    for (let r = 0; r < repeat; r++) {
      const o = runJson(llmforge[0], [...llmforge.slice(1), 'bench', 'matmul', ...flags(m, n, k, ta, tb, acc, threads)]);
      const t = runJson(python, [join(root, 'bench', 'matmul_torch.py'), ...flags(m, n, k, ta, tb, acc, threads)]);
      if (!ours || o.gflops > ours.gflops) ours = o;
      if (!torch || t.gflops > torch.gflops) torch = t;
    }
    const ratio = ours.gflops / torch.gflops;
    logRatio += Math.log(ratio);
    console.log(`${pad(label, 26)}${pad(`${m}×${n}×${k}`, 18)}${lpad(ours.gflops.toFixed(1), 10)}` +
      `${lpad(torch.gflops.toFixed(1), 10)}${lpad(ratio.toFixed(2), 7)}  ${ours.isa} / ${torch.isa}`);
  }
  console.log(`${pad('geometric mean ratio', 44)}${lpad(Math.exp(logRatio / shapes.length).toFixed(2), 27)}`);
}
