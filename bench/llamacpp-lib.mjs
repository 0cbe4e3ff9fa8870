// llama.cpp through node-llama-cpp, for bench/llamacpp.mjs and test/llamacpp.test.ts. node-llama-cpp is NOT
// a dependency of llmforge: install it into a scratch prefix (its npm packages ship prebuilt llama.cpp):
//
//   npm install --prefix /tmp/nlc node-llama-cpp@3.21.1
//
// and point LLMFORGE_NODE_LLAMA_CPP at the prefix or at the package folder (default: /tmp/nlc).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const NODE_LLAMA_CPP_VERSION = '3.21.1';

/** The node-llama-cpp package folder, or null when it is not installed where we look. */
export function findNodeLlamaCpp() {
  const base = process.env.LLMFORGE_NODE_LLAMA_CPP ?? '/tmp/nlc';
  for (const dir of [base, join(base, 'node_modules', 'node-llama-cpp')]) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dist', 'index.js'))) return dir;
  }
  return null;
}

let llamaPromise = null;

/** The Llama instance on the CPU with the prebuilt binaries only (never downloads or builds). */
export async function getCpuLlama() {
  const dir = findNodeLlamaCpp();
  if (dir === null) throw new Error(`node-llama-cpp not found (set LLMFORGE_NODE_LLAMA_CPP or run: npm install --prefix /tmp/nlc node-llama-cpp@${NODE_LLAMA_CPP_VERSION})`);
  if (llamaPromise === null) {
    const mod = await import(pathToFileURL(join(dir, 'dist', 'index.js')).href);
    llamaPromise = mod.getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: 0 }).then((llama) => ({ llama, mod }));
  }
  return llamaPromise;
}

/**
 * A GGUF model loaded for exact comparison: F32 KV cache, flash attention off, one sequence.
 * Returns helpers for tokenizing, greedy decoding and timing.
 */
export async function loadGguf(path, { threads = 1, contextSize = 512 } = {}) {
  const { llama, mod } = await getCpuLlama();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const context = await model.createContext({
    contextSize, batchSize: contextSize, threads, flashAttention: false, sequences: 1,
    experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32',
  });
  const sequence = context.getSequence();

  /**
   * Greedy continuation: `n` new tokens after `prompt` (EOG tokens included, generation does not stop), or
   * fewer when `maxMs` runs out (a thread count where llama.cpp's spinning pool collapses must not take hours).
   */
  async function greedy(prompt, n, maxMs = Infinity) {
    await sequence.clearHistory();
    const out = [];
    const t0 = performance.now();
    let tFirst = 0;
    let cpuFirst = null;
    for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
      if (out.length === 0) {
        tFirst = performance.now();
        cpuFirst = process.cpuUsage();
      }
      out.push(token);
      if (out.length >= n || (out.length > 1 && performance.now() - tFirst > maxMs)) break;
    }
    const t1 = performance.now();
    const cpu = process.cpuUsage(cpuFirst ?? undefined);
    // decode: the tokens after the first (which came out of the prefill); cpuMs: this process, every thread.
    return { tokens: out, prefillMs: tFirst - t0, decodeMs: t1 - tFirst, cpuMs: (cpu.user + cpu.system) / 1000 };
  }

  return {
    mod, model, context, sequence, greedy,
    tokenize: (text, special = false) => model.tokenize(text, special),
    async dispose() {
      await context.dispose();
      await model.dispose();
    },
  };
}
