#!/usr/bin/env node
// Serving figures for the README: `llmforge bench serve` on a `ref`-preset checkpoint (random weights, a
// 4096-token BPE tokenizer trained on examples/data) with 1 and 16 concurrent clients, next to
// `llmforge bench generate` on the same checkpoint, three alternating rounds. Checks the targets on the
// medians: 16 clients reach ≥ 3× the aggregate tokens/s of one client, and one client's decode speed
// through HTTP is within 10% of `bench generate`'s (batch 1). Prints one JSON line per run, then a summary
// line; exits 1 if a target fails.
//
//   node bench/serve.mjs [--clients 16] [--new-tokens 96] [--threads N]
//
// Needs the compiled CLI (npm run build).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag } from './args.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'llmforge.js');
const clients = flag('--clients', '16');
const newTokens = flag('--new-tokens', '96');
const threads = flag('--threads', undefined);

const { GPT } = await import(join(root, 'dist', 'nn', 'gpt.js'));
const { preset } = await import(join(root, 'dist', 'nn', 'config.js'));
const { saveCheckpoint } = await import(join(root, 'dist', 'train', 'checkpoint.js'));
const { trainTokenizer } = await import(join(root, 'dist', 'tokenizer', 'index.js'));

const dir = mkdtempSync(join(tmpdir(), 'llmforge-bench-serve-'));
try {
  const text = readFileSync(join(root, 'examples', 'data', 'kjv-genesis-to-judges.txt'), 'utf8');
  const tok = await trainTokenizer({ texts: [text], vocabSize: 4096, progress: false });
  const model = new GPT(preset('ref')).init(1);
  const ckpt = saveCheckpoint(join(dir, 'ref'), 'step-000000', { model, tokenizerJson: tok.toTokenizerJson() });
  const run = (cmd) => {
    const full = [...cmd, '--json', ...(threads ? ['--threads', threads] : [])];
    process.stderr.write(`llmforge ${full.join(' ')}\n`);
    const r = spawnSync(process.execPath, [bin, ...full], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`llmforge ${full.join(' ')} failed (exit ${r.status})`);
    process.stdout.write(r.stdout);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  // Both report each figure's best of the same number of timed runs. A process's speed varies by a few
  // percent from one start to the next on a small machine, so three rounds of the three runs alternate
  // and the medians are compared.
  const repeats = ['--repeats', '10'];
  const rounds = [];
  for (let k = 0; k < 3; k++) {
    rounds.push({
      gen: run(['bench', 'generate', '--model', ckpt, '--prompt-tokens', '32', '--new-tokens', newTokens, ...repeats]),
      one: run(['bench', 'serve', '--model', ckpt, '--clients', '1', '--new-tokens', newTokens, ...repeats]),
      many: run(['bench', 'serve', '--model', ckpt, '--clients', clients, '--new-tokens', newTokens, ...repeats]),
    });
  }
  const median = (f) => rounds.map(f).sort((a, b) => a - b)[1];
  const scale = median((r) => r.many.tokens_per_s) / median((r) => r.one.tokens_per_s);
  const http = median((r) => r.one.decode_tokens_per_s) / median((r) => r.gen.decode_tokens_per_s);
  const ok = scale >= 3 && http >= 0.9;
  process.stdout.write(`${JSON.stringify({
    bench: 'serve-summary', clients: Number(clients), rounds: rounds.length,
    tokens_per_s_1: median((r) => r.one.tokens_per_s), tokens_per_s_n: median((r) => r.many.tokens_per_s),
    decode_http: median((r) => r.one.decode_tokens_per_s), decode_generate: median((r) => r.gen.decode_tokens_per_s),
    scaling: Math.round(scale * 100) / 100, scaling_ok: scale >= 3,
    http_vs_generate: Math.round(http * 1000) / 1000, http_ok: http >= 0.9,
  })}\n`);
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
