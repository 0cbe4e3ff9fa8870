#!/usr/bin/env node
// How long the feedback page waits for its next pair, with and without generating ahead.
// A simulated annotator asks for a pair, "reads" for --think ms, votes, and asks again; the
// figure is the wait for /api/next after each vote (the first load is left out). Random
// weights of the `ref` preset (speed does not depend on them) and a tokenizer trained on
// the test fixture, replies of up to --new-tokens tokens. One JSON line per setting.
//
//   node bench/feedback.mjs [--prompts 12] [--think 400] [--new-tokens 96] [--threads 1]
//
// Needs the compiled code (npm run build).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { startFeedbackServer } = await import(join(root, 'dist/align/feedback/server.js'));
const { GPT } = await import(join(root, 'dist/nn/gpt.js'));
const { preset } = await import(join(root, 'dist/nn/config.js'));
const { saveCheckpoint } = await import(join(root, 'dist/model/checkpoint.js'));
const { trainTokenizer } = await import(join(root, 'dist/tokenizer/index.js'));

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const count = flag('--prompts', 12);
const think = flag('--think', 400);
const newTokens = flag('--new-tokens', 96);
const threads = flag('--threads', 1);

const dir = mkdtempSync(join(tmpdir(), 'llmforge-bench-feedback-'));
try {
  const text = readFileSync(join(root, 'test/fixtures/public-domain-bible.txt'), 'utf8');
  const tok = await trainTokenizer({ texts: [text], vocabSize: 1024, progress: false });
  const model = new GPT({ ...preset('ref'), vocabSize: 1024 }).init(1);
  saveCheckpoint(join(dir, 'run'), 'step-000001', { model, tokenizerJson: tok.toTokenizerJson() });
  const prompts = join(dir, 'prompts.jsonl');
  writeFileSync(prompts, Array.from({ length: count }, (_, i) => JSON.stringify({ prompt: `And the LORD said unto Moses ${i}` })).join('\n'));
  for (const ahead of [0, 2]) {
    const server = await startFeedbackServer({
      models: [join(dir, 'run')], prompts, db: join(dir, `f-${ahead}.sqlite`), host: '127.0.0.1', port: 0, seed: 1, threads, ahead,
      sampling: { maxNewTokens: newTokens, temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 },
    });
    const waits = [];
    try {
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        const item = await (await fetch(`${server.url}api/next?annotator=bench`)).json();
        if (i > 0) waits.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, think));
        await fetch(`${server.url}api/vote`, {
          method: 'POST', headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ annotator: 'bench', pair_id: item.pair_id, choice: 'A' }),
        });
      }
    } finally {
      await server.close();
    }
    waits.sort((a, b) => a - b);
    const r = (x) => Math.round(x * 10) / 10;
    console.log(JSON.stringify({
      bench: 'feedback', ahead, think_ms: think, new_tokens: newTokens, threads,
      next_wait_ms_median: r(waits[waits.length >> 1]), next_wait_ms_max: r(waits[waits.length - 1]),
    }));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
