#!/usr/bin/env node
// LoRA against full fine-tuning on the same preset, batch and threads (issue #13 targets: a LoRA step ≥ 1.5× faster,
// its optimizer state ≥ 10× smaller). The speedup is taken from each step's CPU time (one thread by default), which a
// machine shared with other jobs disturbs far less than wall time; wall times are printed beside it. Both run the same objective (next-token loss) on the same random batches; the
// LoRA model has the CLI's defaults (rank 8, alpha 16, dropout 0.05, targets attn). Steps alternate in blocks so load
// on the machine hits both alike; each reports its median step.
//
//   node bench/finetune.mjs [--preset small] [--batch 4] [--rounds 3] [--threads 1] [--targets attn] [--rank 8]
//
// Prints {"bench":"finetune","full_step_ms":…,"lora_step_ms":…,"speedup":…,"full_optimizer_bytes":…,…}; peak memory is
// each method's own process (two steps of it alone, resident set size).
// Needs the built package (dist/).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({
  options: {
    preset: { type: 'string', default: 'small' }, batch: { type: 'string', default: '4' }, rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' }, targets: { type: 'string', default: 'attn' }, rank: { type: 'string', default: '8' },
    only: { type: 'string' },
  },
});
const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
const { setThreads } = await dist('tensor/registry.js');
const { GPT } = await dist('nn/gpt.js');
const { preset } = await dist('nn/config.js');
const { parseLoraTargets } = await dist('nn/lora.js');
const { AdamW, ADAMW_DEFAULTS } = await dist('optim/adamw.js');
const { TrainStep } = await dist('train/step.js');
const { Random } = await dist('tensor/random.js');

const threads = setThreads(Number(a.threads));
const config = preset(a.preset);
const B = Number(a.batch);
const T = config.contextLength;
const lora = { rank: Number(a.rank), alpha: 2 * Number(a.rank), dropout: 0.05, targets: parseLoraTargets(a.targets, config.family), seed: 1 };

function stepper(model) {
  const optimizer = new AdamW(model.params, ADAMW_DEFAULTS);
  const step = new TrainStep(model, optimizer, B, T, 1);
  const rng = new Random(2);
  const mb = { inputs: new Int32Array(B * T), targets: new Int32Array(B * T) };
  const run = () => {
    for (let j = 0; j < B * T; j++) {
      mb.inputs[j] = rng.int(config.vocabSize);
      mb.targets[j] = rng.int(config.vocabSize);
    }
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    step.run([mb], 1e-4);
    const c = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
  };
  return { run, trainable: optimizer.m.length, optimizerBytes: (optimizer.m.length + optimizer.v.length) * 4 };
}

// --only full|lora: two steps of one method alone, for its peak resident memory (the main run spawns both).
if (a.only !== undefined) {
  const s = a.only === 'full' ? stepper(new GPT(config).init(1)) : stepper(new GPT(config, { frozen: true, lora }).init(1));
  s.run();
  s.run();
  console.log(JSON.stringify({ method: a.only, max_rss_bytes: process.resourceUsage().maxRSS * 1024 }));
  process.exit(0);
}
const peakRss = (method) => {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--only', method, '--preset', a.preset, '--batch', a.batch, '--threads', a.threads, '--targets', a.targets, '--rank', a.rank], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/finetune.mjs --only ${method} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()).max_rss_bytes;
};

// Before this process grows: a child inherits its parent's peak RSS at fork.
const rss = { full: peakRss('full'), lora: peakRss('lora') };
const full = stepper(new GPT(config).init(1));
const adapted = stepper(new GPT(config, { frozen: true, lora }).init(1));
const times = { full: [], lora: [] };
full.run();
adapted.run(); // warm-up: arenas and caches
for (let r = 0; r < Number(a.rounds); r++) {
  for (let i = 0; i < 2; i++) times.full.push(full.run());
  for (let i = 0; i < 2; i++) times.lora.push(adapted.run());
}
const median = (xs) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const fullMs = median(times.full.map((t) => t.ms));
const loraMs = median(times.lora.map((t) => t.ms));
const fullCpu = median(times.full.map((t) => t.cpuMs));
const loraCpu = median(times.lora.map((t) => t.cpuMs));
console.log(JSON.stringify({
  bench: 'finetune', preset: a.preset, batch: B, context: T, threads, rank: lora.rank, targets: lora.targets.join(','),
  full_step_ms: Math.round(fullMs), lora_step_ms: Math.round(loraMs), wall_speedup: Math.round((fullMs / loraMs) * 100) / 100,
  full_step_cpu_ms: Math.round(fullCpu), lora_step_cpu_ms: Math.round(loraCpu), speedup: Math.round((fullCpu / loraCpu) * 100) / 100,
  full_trainable: full.trainable, lora_trainable: adapted.trainable,
  full_optimizer_bytes: full.optimizerBytes, lora_optimizer_bytes: adapted.optimizerBytes,
  optimizer_ratio: Math.round(full.optimizerBytes / adapted.optimizerBytes),
  full_peak_rss_bytes: rss.full, lora_peak_rss_bytes: rss.lora,
}));
