/** `llmforge bench ...`: the benchmarks behind the README's performance figures. */
import type { Command } from 'commander';
import { registerBenchTrain } from './bench-train.js';
import { registerBenchGenerate } from './bench-generate.js';
import { registerBenchPrepare } from './bench-prepare.js';
import { registerBenchTokenizer } from './bench-tokenizer.js';
import { registerBenchMatmul } from './bench-matmul.js';
import { registerBenchServe } from './bench-serve.js';

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('measure the speed of the engine and each stage');
  registerBenchTrain(bench);
  registerBenchGenerate(bench);
  registerBenchPrepare(bench);
  registerBenchTokenizer(bench);
  registerBenchMatmul(bench);
  registerBenchServe(bench);
}
