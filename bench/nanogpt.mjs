// nanoGPT's laptop-CPU recipe, llmforge vs a PyTorch reimplementation, on the same byte-level shards of
// the embedded corpus. Target: llmforge reaches the validation loss PyTorch reaches after 2000 iterations
// in at most half of PyTorch's training wall time.
//
//   npm run build && node bench/nanogpt.mjs [--iters 2000] [--threads 2] [--out /tmp/llmforge-nanogpt]
//
// Needs /usr/bin/python3 with torch (Debian: apt-get install python3-torch libopenblas0-pthread).
// Prints one JSON line: {"bench":"nanogpt", ...}.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: a } = parseArgs({ options: { iters: { type: 'string', default: '2000' }, threads: { type: 'string', default: '2' }, out: { type: 'string', default: '/tmp/llmforge-nanogpt' }, 'eval-batches': { type: 'string', default: '50' } } });
const iters = Number(a.iters);
const evalBatches = Number(a['eval-batches']);
const cli = join(root, 'bin', 'llmforge.js');
const corpus = join(root, 'examples', 'data', 'kjv-genesis-to-judges.txt');
const env = { ...process.env, LLMFORGE_THREADS: a.threads };

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 28, ...opts });
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? '');
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})`);
  }
  return r.stdout;
}

mkdirSync(a.out, { recursive: true });
const tok = join(a.out, 'bytes.json');
const data = join(a.out, 'data');
// Byte-level: 256 byte tokens + the default special tokens, no merges.
run(process.execPath, [cli, 'tokenizer', 'train', '--input', corpus, '--vocab-size', '263', '--out', tok]);
run(process.execPath, [cli, 'data', 'prepare', '--input', corpus, '--tokenizer', tok, '--out', data, '--overwrite', '--val-fraction', '0.1']);
writeFileSync(join(data, 'tokenizer.json'), readFileSync(tok));

let torch = null;
if (existsSync('/usr/bin/python3')) {
  process.stderr.write(`PyTorch: ${iters} iterations…\n`);
  // OpenBLAS picks its own kernels for this CPU (the machine-wide OPENBLAS_CORETYPE may pin older ones).
  const torchEnv = { ...env };
  delete torchEnv.OPENBLAS_CORETYPE;
  delete torchEnv.OPENBLAS_L2_SIZE;
  const out = run('/usr/bin/python3', [join(root, 'bench', 'nanogpt_torch.py'), '--data', data, '--threads', a.threads, '--iters', String(iters), '--eval-batches', String(evalBatches)], { stdio: ['ignore', 'pipe', 'inherit'], env: torchEnv });
  torch = JSON.parse(out.trim().split('\n').pop());
}

process.stderr.write(`llmforge: ${iters} iterations…\n`);
const config = join(a.out, 'nanogpt-cpu.json');
writeFileSync(config, JSON.stringify({
  model: { preset: 'nanogpt-cpu' },
  optimizer: { lr: 1e-3, beta1: 0.9, beta2: 0.99, weightDecay: 0.1, gradClip: 1.0 },
  schedule: { kind: 'cosine', warmupSteps: 100, minLr: 1e-4 },
  batch: { microBatch: 12 },
  limits: { maxSteps: iters },
  eval: { every: 100, batches: evalBatches, sampleTokens: 0 },
  checkpoint: { every: 0, keep: 1 },
  seed: 1337,
}));
const runDir = join(a.out, 'run');
rmSync(runDir, { recursive: true, force: true });
run(process.execPath, [cli, 'train', '--data', data, '--out', runDir, '--config', config], { stdio: ['ignore', 'ignore', 'inherit'] });
const records = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const elapsedAt = new Map(records.filter((r) => 'elapsed_s' in r).map((r) => [r.step, r.elapsed_s]));
const curve = records.filter((r) => 'val_loss' in r).map((r) => [r.step, r.val_loss, elapsedAt.get(r.step)]);
const ours = { train_seconds: curve.at(-1)[2], val_loss: curve.at(-1)[1] };

const result = { bench: 'nanogpt', iters, threads: Number(a.threads), llmforge_seconds: ours.train_seconds, llmforge_val_loss: ours.val_loss };
if (torch) {
  const match = curve.find(([, v]) => v <= torch.val_loss);
  Object.assign(result, {
    torch_seconds: torch.train_seconds, torch_val_loss: torch.val_loss,
    llmforge_seconds_to_torch_loss: match ? match[2] : null, llmforge_step_to_torch_loss: match ? match[0] : null,
    ratio: match ? Math.round((match[2] / torch.train_seconds) * 1000) / 1000 : null,
  });
}
process.stdout.write(`${JSON.stringify(result)}\n`);
