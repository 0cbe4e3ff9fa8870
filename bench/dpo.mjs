#!/usr/bin/env node
// DPO against SFT at the same batch (B rows of the preset's context, same threads): peak memory and step time
// (issue #12 target: DPO's peak ≤ 1.3× SFT's). Each stage runs in a child process of its own, so a peak is that
// stage's alone: the model, AdamW, the step's arenas and a batch source over real chat data. SFT steps on
// conversations of examples/chat/train.jsonl.gz packed into rows; DPO on pairs made of the same conversations
// (chosen: the reference reply, rejected: another conversation's reply) packed into the same rows, with the
// reference log-probs computed first in one no-grad pass (timed apart). Peak = max resident set size
// (process.resourceUsage().maxRSS); also the largest heap + array buffers seen after a step.
//
//   node bench/dpo.mjs [--preset ref] [--batch 8] [--steps 12] [--threads 2]
//
// Prints {"bench":"dpo","sft_peak_rss_mb":…,"dpo_peak_rss_mb":…,"rss_ratio":…,"sft_step_ms":…,"dpo_step_ms":…}.
// Needs the built package (dist/).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({
  options: {
    preset: { type: 'string', default: 'ref' }, batch: { type: 'string', default: '8' }, steps: { type: 'string', default: '12' },
    threads: { type: 'string', default: '2' }, child: { type: 'string' },
  },
});

if (a.child === undefined) {
  const run = (stage) => {
    const args = [fileURLToPath(import.meta.url), '--child', stage, '--preset', a.preset, '--batch', a.batch, '--steps', a.steps, '--threads', a.threads];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`bench/dpo.mjs: the ${stage} child failed (exit ${r.status})`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1));
  };
  const sft = run('sft');
  const dpo = run('dpo');
  console.log(JSON.stringify({
    bench: 'dpo', preset: a.preset, batch: Number(a.batch), context: sft.context, threads: sft.threads, steps: Number(a.steps),
    sft_peak_rss_mb: sft.peak_rss_mb, dpo_peak_rss_mb: dpo.peak_rss_mb, rss_ratio: Math.round((dpo.peak_rss_mb / sft.peak_rss_mb) * 1000) / 1000,
    sft_peak_js_mb: sft.peak_js_mb, dpo_peak_js_mb: dpo.peak_js_mb,
    sft_step_ms: sft.step_ms, dpo_step_ms: dpo.step_ms, dpo_pairs_per_step: dpo.pairs_per_step, dpo_reference_s: dpo.reference_s,
  }));
  process.exit(0);
}

const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
const { setThreads } = await dist('tensor/registry.js');
const { trainTokenizer } = await dist('tokenizer/index.js');
const { readChatExamples } = await dist('data/chat-jsonl.js');
const { renderChat } = await dist('model/chat.js');
const { rowsLoss } = await dist('model/chat-rows.js');
const { SftBatchSource } = await dist('align/sft-data.js');
const { PairBatchSource } = await dist('align/pair-rows.js');
const { renderReply } = await dist('align/pair-setup.js');
const { dpoObjective, sequenceLogProbs } = await dist('align/dpo.js');
const { GPT } = await dist('nn/gpt.js');
const { preset } = await dist('nn/config.js');
const { AdamW, ADAMW_DEFAULTS } = await dist('optim/adamw.js');
const { ObjectiveStep } = await dist('train/step.js');

const threads = setThreads(Number(a.threads));
const chatFile = ['train.jsonl.gz', 'train.jsonl'].map((f) => join(root, 'examples', 'chat', f)).find(existsSync);
if (!chatFile) throw new Error('bench/dpo.mjs needs examples/chat/train.jsonl(.gz)');
const cfg0 = preset(a.preset);
const B = Number(a.batch);
const T = cfg0.contextLength;
const examples = (await readChatExamples([chatFile])).slice(0, 3000);
const chatText = examples.map((e) => e.messages.map((m) => m.content).join('\n')).join('\n');
const tokenizer = await trainTokenizer({ input: join(root, 'examples', 'data'), texts: [chatText], vocabSize: cfg0.vocabSize, progress: false });
const config = { ...cfg0, vocabSize: tokenizer.vocabSize };
const model = new GPT(config).init(1);

let make;
let referenceSeconds = 0;
if (a.child === 'sft') {
  const convs = examples.map((e) => renderChat(tokenizer, e.messages));
  const source = new SftBatchSource(convs, B, T, 'packed', 3, 0);
  const objective = (m, rows) => ({ loss: rowsLoss(m, rows, 'packed'), tokens: rows.trained });
  make = { source, objective };
} else {
  // Pairs: each conversation's prompt with its own reply (chosen) and the next conversation's reply (rejected).
  const split = (msgs) => {
    const last = msgs.map((m) => m.role).lastIndexOf('assistant');
    return { prompt: msgs.slice(0, last), reply: msgs[last].content };
  };
  const parts = examples.map((e) => split(e.messages)).filter((p) => p.prompt.length > 0 && p.prompt.at(-1).role === 'user');
  const seqs = parts.flatMap((p, i) => {
    const other = parts[(i + 1) % parts.length].reply;
    return [renderReply(tokenizer, p.prompt, p.reply), renderReply(tokenizer, p.prompt, other === p.reply ? `${other}.` : other)];
  });
  const t0 = performance.now();
  const ref = sequenceLogProbs(model, seqs.slice(0, 2 * 200), B, 0); // the reference pass, timed on 200 pairs
  referenceSeconds = (performance.now() - t0) / 1000;
  const fullRef = new Float64Array(seqs.length);
  fullRef.set(ref);
  make = { source: new PairBatchSource(seqs, fullRef, B, T, 3, 0), objective: dpoObjective(0.1, 'sigmoid') };
}
const step = new ObjectiveStep(model, new AdamW(model.params, ADAMW_DEFAULTS), make.objective, 1);
const batch = make.source.allocate();
const times = [];
let peakJs = 0;
let pairs = 0;
for (let i = 0; i <= Number(a.steps); i++) {
  make.source.fill(batch);
  const t0 = performance.now();
  step.run([batch], 1e-5);
  if (i > 0) times.push(performance.now() - t0); // the first step sizes the arenas
  if (batch.pairs !== undefined) pairs += batch.pairs;
  const m = process.memoryUsage();
  peakJs = Math.max(peakJs, m.heapUsed + m.arrayBuffers);
}
const median = times.slice().sort((x, y) => x - y)[Math.floor(times.length / 2)];
console.log(JSON.stringify({
  stage: a.child, context: T, threads, step_ms: Math.round(median * 10) / 10,
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10, peak_js_mb: Math.round(peakJs / 1e5) / 10,
  pairs_per_step: a.child === 'dpo' ? Math.round((pairs / (Number(a.steps) + 1)) * 10) / 10 : undefined,
  reference_s: a.child === 'dpo' ? Math.round(referenceSeconds * 100) / 100 : undefined,
}));
