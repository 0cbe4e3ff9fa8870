#!/usr/bin/env node
// Serving figures for the README: `llmforge bench serve` on a `ref`-preset checkpoint (random weights, a
// 4096-token BPE tokenizer trained on examples/data) with 1 and 16 concurrent clients, next to
// `llmforge bench generate` on the same checkpoint. Checks the targets: 16 clients reach ≥ 3× the
// aggregate tokens/s of one client, and one client's decode speed through HTTP is within 10% of
// `bench generate`'s (batch 1). Prints one JSON line per run, then a summary line; exits 1 if a target fails.
//
//   node bench/serve.mjs [--clients 16] [--new-tokens 96] [--threads N]
//
// Needs the compiled CLI (npm run build).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  // Both report each figure's best of the same number of timed runs.
  const repeats = ['--repeats', '10'];
  const gen = run(['bench', 'generate', '--model', ckpt, '--prompt-tokens', '32', '--new-tokens', newTokens, ...repeats]);
  const one = run(['bench', 'serve', '--model', ckpt, '--clients', '1', '--new-tokens', newTokens, ...repeats]);
  const many = run(['bench', 'serve', '--model', ckpt, '--clients', clients, '--new-tokens', newTokens, ...repeats]);
  const scale = many.tokens_per_s / one.tokens_per_s;
  const http = one.decode_tokens_per_s / gen.decode_tokens_per_s;
  const ok = scale >= 3 && http >= 0.9;
  process.stdout.write(`${JSON.stringify({
    bench: 'serve-summary', clients: Number(clients), scaling: Math.round(scale * 100) / 100, scaling_ok: scale >= 3,
    http_vs_generate: Math.round(http * 1000) / 1000, http_ok: http >= 0.9,
  })}\n`);
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
