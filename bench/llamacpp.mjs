#!/usr/bin/env node
// Decode speed against llama.cpp for the README: batch 1, greedy, the same weights — an llmforge model
// (random weights from a seed; speed does not depend on them) and the f32 GGUF exported from it — for the
// `ref` and `small` presets. llama.cpp runs through node-llama-cpp (the way Node users run local models;
// see bench/llamacpp-lib.mjs for installing it into a scratch prefix), F32 KV cache, flash attention off.
// Each side runs at 1 and 2 threads and is reported at its best (llama.cpp's spinning thread pool can lose
// when it has every core beside Node's own thread). Both run in this process and alternate, run by run, so a
// busy machine slows both alike; each is reported at its best run. Beside wall-clock tokens/s, tokens per
// CPU-second of this process (every thread) is reported: on a shared machine it moves much less than wall time.
//
//   node bench/llamacpp.mjs [--presets ref,small] [--threads 1,2] [--prompt-tokens 32] [--new-tokens 128] [--rounds 3]
//
// Needs the compiled code (npm run build). One JSON line per preset on stdout, progress on stderr.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNodeLlamaCpp, loadGguf, NODE_LLAMA_CPP_VERSION } from './llamacpp-lib.mjs';
import { flag } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const presets = flag('--presets', 'ref,small').split(',');
const threadCounts = flag('--threads', '1,2').split(',').map(Number);
const promptTokens = Number(flag('--prompt-tokens', '32'));
const newTokens = Number(flag('--new-tokens', '128'));
const rounds = Number(flag('--rounds', '3'));

if (findNodeLlamaCpp() === null) {
  process.stderr.write(`bench/llamacpp.mjs: node-llama-cpp not found; install it with: npm install --prefix /tmp/nlc node-llama-cpp@${NODE_LLAMA_CPP_VERSION}\n`);
  process.exit(1);
}
const { GPT } = await import('../dist/nn/gpt.js');
const { preset } = await import('../dist/nn/config.js');
const { trainTokenizer } = await import('../dist/tokenizer/index.js');
const { exportGguf } = await import('../dist/export/gguf-export.js');
const { InferenceEngine } = await import('../dist/infer/engine.js');
const { Sampler } = await import('../dist/infer/sampler.js');
const { setThreads } = await import('../dist/tensor/registry.js');

const work = mkdtempSync(join(tmpdir(), 'llmforge-bench-llamacpp-'));
const corpus = readFileSync(join(root, 'examples', 'data', 'kjv-genesis-to-judges.txt'), 'utf8');
const round = (x) => Math.round(x * 10) / 10;

function promptIds(vocab) {
  let seed = 1234;
  return Array.from({ length: promptTokens }, () => (seed = (seed * 1103515245 + 12345) % 2147483648) % vocab);
}

/** llmforge's KV-cache engine on the checkpoint: prefill, then greedy decoding one token at a time. */
function llmforgeRunner(model, threads, vocab) {
  setThreads(threads);
  const engine = new InferenceEngine(model, { maxBatch: 1 });
  const greedy = new Sampler({ temperature: 0 }, model.config.vocabSize);
  const prompt = promptIds(vocab);
  const once = () => {
    engine.reset();
    let logits = engine.feed([0], [prompt]);
    const next = new Int32Array(1);
    next[0] = greedy.sample(logits); // the first new token comes out of the prefill, as in llama.cpp's timing
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (let step = 1; step < newTokens; step++) {
      logits = engine.decode([0], next);
      next[0] = greedy.sample(logits);
    }
    const cpu = process.cpuUsage(cpu0);
    const ms = performance.now() - t0;
    return { wall: ((newTokens - 1) / ms) * 1000, cpu: ((newTokens - 1) / ((cpu.user + cpu.system) / 1000)) * 1000 };
  };
  once(); // warm-up
  return { run: once };
}

/** llama.cpp loaded once per thread count; each call times one greedy run (the first call also warms up). */
async function llamaCppRunner(gguf, threads, vocab) {
  const m = await loadGguf(gguf, { threads, contextSize: promptTokens + newTokens + 8 });
  const prompt = promptIds(vocab);
  await m.greedy(prompt, newTokens, 10_000);
  return {
    async run() {
      const r = await m.greedy(prompt, newTokens, 10_000);
      return { wall: ((r.tokens.length - 1) / r.decodeMs) * 1000, cpu: ((r.tokens.length - 1) / r.cpuMs) * 1000 };
    },
    dispose: () => m.dispose(),
  };
}

try {
  for (const name of presets) {
    const config = preset(name);
    process.stderr.write(`${name}: tokenizer (${config.vocabSize}), random weights, f32 GGUF\n`);
    const tok = await trainTokenizer({ texts: [corpus], vocabSize: config.vocabSize, progress: false });
    const model = new GPT(config).init(1);
    // The GGUF is exported from this model: both sides run the same weights.
    const gguf = join(work, `${name}.gguf`);
    exportGguf(model, tok, gguf, 'f32', { name, chatTemplate: null });
    const ours = {};
    const theirs = {};
    const oursCpu = {};
    const theirsCpu = {};
    for (const t of threadCounts) {
      const lc = await llamaCppRunner(gguf, t, tok.vocabSize);
      const lf = llmforgeRunner(model, t, tok.vocabSize);
      ours[t] = theirs[t] = oursCpu[t] = theirsCpu[t] = 0;
      for (let i = 0; i < rounds; i++) {
        const a = lf.run();
        const b = await lc.run();
        ours[t] = Math.max(ours[t], round(a.wall));
        oursCpu[t] = Math.max(oursCpu[t], round(a.cpu));
        theirs[t] = Math.max(theirs[t], round(b.wall));
        theirsCpu[t] = Math.max(theirsCpu[t], round(b.cpu));
        process.stderr.write(`${name}, ${t} thread(s), round ${i + 1}/${rounds}: llmforge ${round(a.wall)} tok/s (${round(a.cpu)} per CPU-s), ` +
          `llama.cpp ${round(b.wall)} tok/s (${round(b.cpu)} per CPU-s)\n`);
      }
      await lc.dispose();
    }
    const best = (o) => Object.entries(o).reduce((a, b) => (b[1] > a[1] ? b : a));
    const [oT, oRate] = best(ours);
    const [lT, lRate] = best(theirs);
    process.stdout.write(`${JSON.stringify({
      bench: 'llamacpp', preset: name, params: model.params.count, prompt_tokens: promptTokens, new_tokens: newTokens,
      llmforge_decode_tokens_per_s: oRate, llmforge_threads: Number(oT), llamacpp_decode_tokens_per_s: lRate, llamacpp_threads: Number(lT),
      speedup: Math.round((oRate / lRate) * 100) / 100, llmforge_by_threads: ours, llamacpp_by_threads: theirs,
      llmforge_tokens_per_cpu_s: oursCpu, llamacpp_tokens_per_cpu_s: theirsCpu,
      llamacpp: `node-llama-cpp ${NODE_LLAMA_CPP_VERSION}, f32 GGUF, F32 KV cache, flash attention off`,
    })}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
