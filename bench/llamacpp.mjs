#!/usr/bin/env node
// Decode speed against llama.cpp for the README: batch 1, greedy, the same weights — an llmforge checkpoint
// (random weights from a seed; speed does not depend on them) and the f32 GGUF exported from it — for the
// `ref` and `small` presets. llama.cpp runs through node-llama-cpp (the way Node users run local models;
// see bench/llamacpp-lib.mjs for installing it into a scratch prefix), F32 KV cache, flash attention off.
// Each side runs at 1 and 2 threads and is reported at its best (llama.cpp's spinning thread pool can lose
// when it has every core beside Node's own thread). The two sides alternate, run by run, so a busy machine
// slows both alike; each is reported at its best run.
//
//   node bench/llamacpp.mjs [--presets ref,small] [--threads 1,2] [--prompt-tokens 32] [--new-tokens 128] [--rounds 3]
//
// Needs the compiled CLI (npm run build). One JSON line per preset on stdout, progress on stderr.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNodeLlamaCpp, loadGguf, NODE_LLAMA_CPP_VERSION } from './llamacpp-lib.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'llmforge.js');
const args = process.argv.slice(2);
function flag(name, fallback) {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}
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
const { saveCheckpoint } = await import('../dist/train/checkpoint.js');
const { trainTokenizer } = await import('../dist/tokenizer/index.js');
const { exportGguf } = await import('../dist/export/gguf-export.js');

const work = mkdtempSync(join(tmpdir(), 'llmforge-bench-llamacpp-'));
const corpus = readFileSync(join(root, 'examples', 'data', 'kjv-genesis-to-judges.txt'), 'utf8');
const round = (x) => Math.round(x * 10) / 10;

function llmforgeRate(ckpt, threads) {
  const cmd = ['bench', 'generate', '--model', ckpt, '--prompt-tokens', String(promptTokens), '--new-tokens', String(newTokens),
    '--repeats', '1', '--threads', String(threads), '--json'];
  const r = spawnSync(process.execPath, [bin, ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`llmforge ${cmd.join(' ')} failed (${r.status})`);
  return JSON.parse(r.stdout).decode_tokens_per_s;
}

/** llama.cpp loaded once per thread count; each call times one greedy run (the first call also warms up). */
async function llamaCppRunner(gguf, threads, vocab) {
  const m = await loadGguf(gguf, { threads, contextSize: promptTokens + newTokens + 8 });
  let seed = 1234;
  const prompt = Array.from({ length: promptTokens }, () => (seed = (seed * 1103515245 + 12345) % 2147483648) % vocab);
  await m.greedy(prompt, newTokens);
  return {
    async run() {
      const r = await m.greedy(prompt, newTokens);
      return ((r.tokens.length - 1) / r.decodeMs) * 1000;
    },
    dispose: () => m.dispose(),
  };
}

try {
  for (const name of presets) {
    const config = preset(name);
    process.stderr.write(`${name}: tokenizer (${config.vocabSize}), checkpoint, f32 GGUF\n`);
    const tok = await trainTokenizer({ texts: [corpus], vocabSize: config.vocabSize, progress: false });
    const model = new GPT(config).init(1);
    const ckpt = saveCheckpoint(join(work, name), 'step-000000', { model, tokenizerJson: tok.toTokenizerJson() });
    const gguf = join(work, `${name}.gguf`);
    exportGguf(model, tok, gguf, 'f32', { name, chatTemplate: null });
    const ours = {};
    const theirs = {};
    for (const t of threadCounts) {
      const lc = await llamaCppRunner(gguf, t, tok.vocabSize);
      ours[t] = 0;
      theirs[t] = 0;
      for (let i = 0; i < rounds; i++) {
        ours[t] = Math.max(ours[t], round(llmforgeRate(ckpt, t)));
        theirs[t] = Math.max(theirs[t], round(await lc.run()));
        process.stderr.write(`${name}, ${t} thread(s), round ${i + 1}/${rounds}: llmforge ${ours[t]} tok/s, llama.cpp ${theirs[t]} tok/s (best so far)\n`);
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
      llamacpp: `node-llama-cpp ${NODE_LLAMA_CPP_VERSION}, f32 GGUF, F32 KV cache, flash attention off`,
    })}\n`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
