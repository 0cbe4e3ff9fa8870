#!/usr/bin/env node
// SFT throughput against pretraining's on the same preset, same batch, same threads (issue #10 target: ≥ 90%).
// Pretraining steps on (B, T) token windows; SFT steps on real conversations (examples/chat/train.jsonl.gz)
// packed into rows of T that attend only to themselves. The two alternate in blocks so load on the machine hits
// both alike; each reports its median step. SFT tokens/s counts every non-padding position (all conversation
// tokens the step computes on; the figure comparable with pretraining's); assistant tokens/s (what the loss is
// on) is printed beside it.
//
//   node bench/sft.mjs [--preset ref] [--batch 8] [--rounds 6] [--threads 2]
//
// Prints {"bench":"sft","pretrain_tokens_per_s":…,"sft_tokens_per_s":…,"ratio":…,…}. Needs the built package (dist/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({
  options: { preset: { type: 'string', default: 'ref' }, batch: { type: 'string', default: '8' }, rounds: { type: 'string', default: '6' }, threads: { type: 'string', default: '2' } },
});
const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
const { setThreads } = await dist('tensor/registry.js');
const { trainTokenizer } = await dist('tokenizer/index.js');
const { readChatExamples } = await dist('data/chat-jsonl.js');
const { renderChat } = await dist('model/chat.js');
const { rowsLoss } = await dist('model/chat-rows.js');
const { SftBatchSource } = await dist('align/sft-data.js');
const { GPT } = await dist('nn/gpt.js');
const { preset } = await dist('nn/config.js');
const { AdamW, ADAMW_DEFAULTS } = await dist('optim/adamw.js');
const { ObjectiveStep, TrainStep } = await dist('train/step.js');
const { Random } = await dist('tensor/random.js');

const threads = setThreads(Number(a.threads));
const chatFile = ['train.jsonl.gz', 'train.jsonl'].map((f) => join(root, 'examples', 'chat', f)).find(existsSync);
if (!chatFile) throw new Error('bench/sft.mjs needs examples/chat/train.jsonl(.gz)');
const cfg0 = preset(a.preset);
const B = Number(a.batch);
const T = cfg0.contextLength;
// A tokenizer of the preset's vocabulary trained on the embedded corpus and the chat data's text.
const examples = (await readChatExamples([chatFile])).slice(0, 6000);
const chatText = examples.map((e) => e.messages.map((m) => m.content).join('\n')).join('\n');
const tokenizer = await trainTokenizer({ input: join(root, 'examples', 'data'), texts: [chatText], vocabSize: cfg0.vocabSize, progress: false });
const config = { ...cfg0, vocabSize: tokenizer.vocabSize };
const convs = examples.map((e) => renderChat(tokenizer, e.messages));

const pre = (() => {
  const model = new GPT(config).init(1);
  const step = new TrainStep(model, new AdamW(model.params, ADAMW_DEFAULTS), B, T, 1);
  const rng = new Random(2);
  const mb = { inputs: new Int32Array(B * T), targets: new Int32Array(B * T) };
  return () => {
    for (let j = 0; j < B * T; j++) {
      mb.inputs[j] = rng.int(config.vocabSize);
      mb.targets[j] = rng.int(config.vocabSize);
    }
    const t0 = performance.now();
    step.run([mb], 1e-4);
    return { ms: performance.now() - t0, tokens: B * T, trained: B * T };
  };
})();

const sft = (() => {
  const model = new GPT(config).init(1);
  const objective = (m, rows) => ({ loss: rowsLoss(m, rows, 'packed'), tokens: rows.trained });
  const step = new ObjectiveStep(model, new AdamW(model.params, ADAMW_DEFAULTS), objective, 1);
  const source = new SftBatchSource(convs, B, T, 'packed', 3, 0);
  const rows = source.allocate();
  return () => {
    source.fill(rows);
    const t0 = performance.now();
    step.run([rows], 1e-4);
    return { ms: performance.now() - t0, tokens: rows.tokens, trained: rows.trained };
  };
})();

const runs = { pre: [], sft: [] };
pre();
sft(); // warm-up: arenas and caches
for (let r = 0; r < Number(a.rounds); r++) {
  for (let i = 0; i < 4; i++) runs.pre.push(pre());
  for (let i = 0; i < 4; i++) runs.sft.push(sft());
}
const median = (xs) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const rate = (rs, key) => median(rs.map((s) => (s[key] * 1000) / s.ms));
const preRate = rate(runs.pre, 'tokens');
const sftRate = rate(runs.sft, 'tokens');
const fill = runs.sft.reduce((s, x) => s + x.tokens, 0) / (runs.sft.length * B * T);
console.log(JSON.stringify({
  bench: 'sft', preset: a.preset, batch: B, context: T, threads,
  pretrain_tokens_per_s: Math.round(preRate), sft_tokens_per_s: Math.round(sftRate), sft_assistant_tokens_per_s: Math.round(rate(runs.sft, 'trained')),
  row_fill: Math.round(fill * 1000) / 1000, ratio: Math.round((sftRate / preRate) * 1000) / 1000,
}));
