/**
 * The main job (`npm start`): the whole flow on the embedded corpus, in a few minutes
 * on two cores — train a tokenizer, prepare token shards, pretrain a small GPT, and
 * print samples. Everything lands in one folder: tokenizer.json, data/, run/ (with
 * checkpoints, metrics.jsonl, loss.svg and lr.svg).
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainTokenizer } from '../tokenizer/index.js';
import { prepare } from '../data/index.js';
import { parseTrainConfig } from '../train/config.js';
import { train } from '../train/trainer.js';
import { loadModel } from '../model/checkpoint.js';
import { sampleTexts } from '../infer/index.js';

const EXAMPLES_DATA = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'data');
/** KJV Genesis–Judges (public domain), see examples/data/README.md. */
export const EMBEDDED_CORPUS = join(EXAMPLES_DATA, 'kjv-genesis-to-judges.txt');
/**
 * The embedded pretraining corpus: the KJV slice plus modern English for a chat model (a Brown
 * corpus sample, WordNet definitions as sentences, and the facts the chat eval asks about).
 */
export const EMBEDDED_CORPORA: readonly string[] = [
  EMBEDDED_CORPUS,
  join(EXAMPLES_DATA, 'brown-sample.txt.gz'),
  join(EXAMPLES_DATA, 'wordnet-glosses.txt.gz'),
  join(EXAMPLES_DATA, 'reference-facts.txt.gz'),
];

export interface QuickstartOptions {
  out: string;
  steps: number;
  /** Replace an earlier quickstart in `out`. */
  fresh: boolean;
  seed: number;
  log?: (line: string) => void;
}

export const QUICKSTART_VOCAB = 2048;

export async function quickstart(o: QuickstartOptions): Promise<void> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const runDir = join(o.out, 'run');
  if (existsSync(join(runDir, 'latest'))) {
    if (!o.fresh) throw new Error(`${o.out}: already holds a quickstart run; pass --fresh to replace it, or --out elsewhere`);
    rmSync(runDir, { recursive: true, force: true });
  }
  mkdirSync(o.out, { recursive: true });
  const t0 = performance.now();
  const tokenizerPath = join(o.out, 'tokenizer.json');
  log(`[1/4] tokenizer: byte-level BPE, ${QUICKSTART_VOCAB} tokens, trained on the embedded corpus in ${EXAMPLES_DATA}`);
  const tokenizer = await trainTokenizer({ input: EMBEDDED_CORPORA, vocabSize: QUICKSTART_VOCAB, out: tokenizerPath });

  const dataDir = join(o.out, 'data');
  log(`[2/4] data: cleaning, dedup and token shards → ${dataDir}`);
  const prepared = await prepare({
    inputs: [...EMBEDDED_CORPORA], out: dataDir, tokenizer, tokenizerSource: { path: tokenizerPath }, dedup: 'exact', seed: o.seed,
    overwrite: true, valFraction: 0.05, onWarning: (m) => log(`warning: ${m}`),
  });
  log(`      ${prepared.manifest.train_tokens} train / ${prepared.manifest.val_tokens} val tokens`);

  log(`[3/4] pretraining a GPT for ${o.steps} steps → ${runDir}`);
  const config = parseTrainConfig({
    model: { preset: 'nanogpt-cpu', overrides: { contextLength: 128 } },
    optimizer: { lr: 2e-3, beta2: 0.99 },
    schedule: { kind: 'cosine', warmupSteps: 50 },
    batch: { microBatch: 16 },
    limits: { maxSteps: o.steps },
    eval: { every: Math.max(50, Math.floor(o.steps / 4)), batches: 10, samplePrompts: ['And God said', 'In the beginning'], sampleTokens: 40 },
    checkpoint: { every: 0, keep: 1 },
    seed: o.seed,
  }, 'quickstart config');
  const result = await train({ dataDir, outDir: runDir, config, tokenizerPath, log });

  log('[4/4] samples from the final checkpoint:');
  const { model } = loadModel(runDir);
  const prompts = ['And the LORD said unto Moses,', 'In the beginning', 'And it came to pass'];
  sampleTexts(model, tokenizer, prompts, 60, o.seed).forEach((text, i) => process.stdout.write(`\n> ${prompts[i]}${text}\n`));
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(`\nDone in ${secs.toFixed(0)} s: train loss ${result.finalTrainLoss.toFixed(3)}` +
    `${result.finalValLoss !== null ? `, val loss ${result.finalValLoss.toFixed(3)}` : ''}.\n` +
    `Plots: ${join(runDir, 'loss.svg')}, ${join(runDir, 'lr.svg')}; metrics: ${join(runDir, 'metrics.jsonl')}\n` +
    `Try:   npx llmforge generate --model ${runDir} --prompt "And Moses said"\n`);
}
