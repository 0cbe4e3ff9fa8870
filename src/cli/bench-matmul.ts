/**
 * `llmforge bench matmul`: GFLOP/s of the matmul kernel (the SGEMM that dominates
 * training time), timed through the same kernel table the engine uses. Its peer is
 * bench/matmul_torch.py (torch.mm at the same shape and thread count); bench/matmul.sh
 * runs both side by side.
 */
import type { Command } from 'commander';
import { applyThreads, intArg } from './options.js';
import { backend, isa, kernels } from '../tensor/registry.js';

interface Opts {
  size?: number;
  m?: number;
  n?: number;
  k?: number;
  threads?: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  iters: number;
  json?: boolean;
}

export interface MatmulBenchResult {
  bench: 'matmul';
  m: number;
  n: number;
  k: number;
  threads: number;
  isa: string;
  gflops: number;
  ms: number;
}

/** Largest operand we allocate (elements): beyond this a typed array would not fit anyway. */
const MAX_ELEMENTS = 2 ** 30;
const WARMUP_MS = 200;

/** Uniform values in [-1, 1): any data will do, as long as it has no denormals. */
function fill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Times one shape: warm-up (at least two calls and WARMUP_MS), then the median of `iters` calls. */
export function benchMatmul(m: number, n: number, k: number, transA: boolean, transB: boolean, accumulate: boolean,
  iters: number, threads: number): MatmulBenchResult {
  for (const [what, count] of [['--m × --k', m * k], ['--k × --n', k * n], ['--m × --n', m * n]] as const) {
    if (count > MAX_ELEMENTS) throw new Error(`bench matmul: ${what} = ${count} elements is too large (max ${MAX_ELEMENTS})`);
  }
  const a = fill(m * k, 1);
  const b = fill(k * n, 2);
  const c = new Float32Array(m * n);
  const { matmul } = kernels();
  const run = (): number => {
    const t0 = process.hrtime.bigint();
    matmul(a, b, c, 1, m, n, k, transA, transB, accumulate);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  // With accumulate, C grows by one product per call: a few hundred calls stay far
  // from float32 overflow, so it is not reset (which would also warm its cache lines).
  const warmupEnd = Date.now() + WARMUP_MS;
  for (let i = 0; i < 2 || Date.now() < warmupEnd; i++) run();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) times.push(run());
  const ms = median(times);
  return {
    bench: 'matmul',
    m, n, k,
    threads,
    isa: backend() === 'native' ? isa() : 'js',
    gflops: Math.round(((2 * m * n * k) / (ms * 1e6)) * 100) / 100,
    ms: Math.round(ms * 10000) / 10000,
  };
}

export function registerBenchMatmul(bench: Command): void {
  bench
    .command('matmul')
    .description('time C = op(A)·op(B) (the SGEMM behind every Linear layer) and report GFLOP/s')
    .option('--size <s>', 'square problem m = n = k = s (default 1024); --m/--n/--k override it', intArg(1))
    .option('--m <m>', 'rows of C', intArg(1))
    .option('--n <n>', 'columns of C', intArg(1))
    .option('--k <k>', 'inner dimension', intArg(1))
    .option('--threads <n>', 'kernel threads (default: LLMFORGE_THREADS or all cores)', intArg(1))
    .option('--trans-a', 'A stored k×m, as in the weight gradient dW = dYᵀ·X')
    .option('--trans-b', 'B stored n×k, as in a Linear forward Y = X·Wᵀ')
    .option('--accumulate', 'C += op(A)·op(B), as gradients do')
    .option('--iters <n>', 'timed iterations after warm-up; the median is reported', intArg(1), 20)
    .option('--json', 'print one JSON line')
    .action((o: Opts) => {
      const size = o.size ?? 1024;
      const m = o.m ?? size, n = o.n ?? size, k = o.k ?? size;
      const threads = applyThreads(o.threads);
      const r = benchMatmul(m, n, k, o.transA === true, o.transB === true, o.accumulate === true, o.iters, threads);
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      const flags = [o.transA ? 'transA' : '', o.transB ? 'transB' : '', o.accumulate ? 'accumulate' : '']
        .filter(Boolean).join(' ');
      process.stdout.write(
        `bench matmul: ${m}×${n}×${k}${flags ? ` (${flags})` : ''}: ${r.gflops} GFLOP/s, ${r.ms} ms ` +
          `(median of ${o.iters}, ${threads} thread${threads > 1 ? 's' : ''}, ${r.isa})\n`,
      );
    });
}
