#!/usr/bin/env node
// Tokenizer benchmark: llmforge vs the JavaScript peers, side by side in one process.
//
//   npx tsc -p tsconfig.build.json          # once: the bench imports dist/
//   node bench/tokenizer.mjs [--input FILE...] [--runs N] [--train-input FILE] [--train-vocab N] [--json]
//
// Encoding: GPT-2 (r50k ranks shipped by the gpt-tokenizer dev dependency) on several MB of English
// (default: every ../shared/corpora/*.txt, concatenated), MB/s of UTF-8 input, best of --runs
// (first, cold-cache run also shown). Every encoder's ids are checked against tiktoken's.
// Training: llmforge vs Hugging Face tokenizers (Node binding, default BpeTrainer: vocab 30000) on
// one file with the GPT-2 byte-level pre-tokenizer. Set LLMFORGE_DIST to use another build of dist/.
import { readFileSync, readdirSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return def;
  const vals = [];
  for (let k = i + 1; k < args.length && !args[k].startsWith('--'); k++) vals.push(args[k]);
  return vals;
}
const json = args.includes('--json');
const runs = Number(opt('runs', ['3'])[0]);
const corpora = join(root, '..', 'shared', 'corpora');
const inputs = opt('input', existsSync(corpora) ? readdirSync(corpora).filter((f) => f.endsWith('.txt')).sort().map((f) => join(corpora, f)) : []);
if (inputs.length === 0) throw new Error('give --input FILE (no ../shared/corpora beside the repository)');
const trainInput = opt('train-input', [join(corpora, 'kjv.txt')])[0];
const trainVocab = Number(opt('train-vocab', ['30000'])[0]);
const skipTrain = args.includes('--no-train');
const skipEncode = args.includes('--no-encode');

const dist = process.env.LLMFORGE_DIST ?? new URL('../dist/', import.meta.url).pathname;
const tokMod = await import(pathToFileURL(join(dist, 'tokenizer', 'index.js')).href);
const native = await import(pathToFileURL(join(dist, 'tensor', 'native.js')).href);
const addon = native.nativeAddon();
const allThreads = availableParallelism();
const setThreads = (n) => (addon ? addon.setThreads(n) : 1);

const log = (s) => process.stderr.write(`${s}\n`);
const results = [];
function report(rec) {
  results.push(rec);
  if (json) process.stdout.write(`${JSON.stringify(rec)}\n`);
}

if (!skipEncode) {
  const text = inputs.map((f) => readFileSync(f, 'utf8')).join('\n');
  const mb = Buffer.byteLength(text) / 1e6;
  log(`encode: ${mb.toFixed(1)} MB from ${inputs.length} file(s), ${runs} runs each, ${allThreads} cores`);

  const r50k = require.resolve('gpt-tokenizer/data/r50k_base.tiktoken');
  const ours = await tokMod.loadTokenizer(r50k);
  const gptTok = await import('gpt-tokenizer/encoding/r50k_base');
  const { get_encoding } = await import('tiktoken');
  const tt = get_encoding('gpt2');
  const hf = (await import('tokenizers')).default;
  const hfTok = hf.Tokenizer.fromString(ours.toTokenizerJson());
  // Reference ids once (tiktoken) to check everyone.
  const ref = tt.encode_ordinary(text);
  const segments = segmentText(text, 1 << 20);

  function same(ids) {
    if (ids.length !== ref.length) return false;
    for (let i = 0; i < ref.length; i += 997) if (ids[i] !== ref[i]) return false;
    return ids[ref.length - 1] === ref[ref.length - 1];
  }
  const flat = (arrs) => {
    const n = arrs.reduce((s, a) => s + a.length, 0);
    const out = new Uint32Array(n);
    let k = 0;
    for (const a of arrs) {
      out.set(a, k);
      k += a.length;
    }
    return out;
  };
  async function time(name, threads, fn) {
    const secs = [];
    let ids;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      ids = await fn();
      secs.push((performance.now() - t0) / 1000);
    }
    const best = Math.min(...secs);
    const rec = {
      bench: 'encode',
      encoder: name,
      threads,
      mb_per_s: +(mb / best).toFixed(2),
      first_run_mb_per_s: +(mb / secs[0]).toFixed(2),
      input_mb: +mb.toFixed(2),
      same_ids_as_tiktoken: same(ids),
    };
    log(`  ${name.padEnd(34)} ${String(threads).padStart(2)} thr  ${rec.mb_per_s.toFixed(2).padStart(7)} MB/s  (first ${rec.first_run_mb_per_s.toFixed(2)})${rec.same_ids_as_tiktoken ? '' : '  IDS DIFFER'}`);
    report(rec);
    return rec;
  }

  tokMod.setNativeTokenizer(true);
  if (ours.backend === 'native') {
    setThreads(1);
    await time('llmforge (native)', 1, () => ours.encode(text));
    setThreads(allThreads);
    await time('llmforge (native) encodeBatch', allThreads, async () => flat(await ours.encodeBatch(segments)));
  } else log('  (llmforge native encoder unavailable: build the addon)');
  tokMod.setNativeTokenizer(false);
  await time('llmforge (JavaScript)', 1, () => ours.encode(text));
  tokMod.setBatchThreads(allThreads);
  await time('llmforge (JavaScript) encodeBatch', allThreads, async () => flat(await ours.encodeBatch(segments)));
  tokMod.setNativeTokenizer(true);
  await time('gpt-tokenizer', 1, () => gptTok.encode(text));
  await time('tiktoken (wasm)', 1, () => tt.encode_ordinary(text));
  await time('HF tokenizers (encode)', 1, async () => {
    const out = [];
    for (const seg of segments) out.push((await hfTok.encode(seg)).getIds());
    return flat(out);
  });
  await time('HF tokenizers (encodeBatch)', allThreads, async () => flat((await hfTok.encodeBatch(segments)).map((e) => e.getIds())));
  tt.free();
}

if (!skipTrain) {
  const tmp = mkdtempSync(join(tmpdir(), 'llmforge-bench-tok-'));
  const mb = readFileSync(trainInput).length / 1e6;
  log(`train: vocab ${trainVocab} on ${trainInput} (${mb.toFixed(1)} MB), gpt2 pattern, ${runs} runs each`);
  const hf = (await import('tokenizers')).default;
  async function timeTrain(name, fn) {
    const secs = [];
    let vocab = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      vocab = await fn();
      secs.push((performance.now() - t0) / 1000);
    }
    const best = Math.min(...secs);
    const rec = { bench: 'tokenizer-train', trainer: name, seconds: +best.toFixed(3), vocab_size: vocab, input_mb: +mb.toFixed(2) };
    log(`  ${name.padEnd(34)} ${best.toFixed(3).padStart(7)} s  (vocab ${vocab})`);
    report(rec);
  }
  setThreads(allThreads);
  tokMod.setNativeTokenizer(true);
  await timeTrain('llmforge', async () => {
    const t = await tokMod.trainTokenizer({ input: trainInput, vocabSize: trainVocab, pattern: 'gpt2', specialTokens: [], progress: false });
    return t.vocabSize;
  });
  tokMod.setNativeTokenizer(false);
  await timeTrain('llmforge (JavaScript)', async () => {
    const t = await tokMod.trainTokenizer({ input: trainInput, vocabSize: trainVocab, pattern: 'gpt2', specialTokens: [], progress: false });
    return t.vocabSize;
  });
  tokMod.setNativeTokenizer(true);
  await timeTrain('HF tokenizers', async () => {
    const t = new hf.Tokenizer(hf.BPE.empty());
    t.setPreTokenizer(hf.byteLevelPreTokenizer(false, true));
    t.train([trainInput]);
    return t.getVocabSize();
  });
  rmSync(tmp, { recursive: true, force: true });
}

/** Cuts after a lone newline between non-spaces (where gpt2/gpt4 split the same way either side). */
function segmentText(text, size) {
  const out = [];
  let start = 0;
  while (text.length - start > size * 1.5) {
    let cut = -1;
    for (let i = start + size; i > start + 1; i--) {
      if (text.charCodeAt(i - 1) === 10 && /\S/.test(text[i]) && /\S/.test(text[i - 2])) {
        cut = i;
        break;
      }
    }
    if (cut < 0) break;
    out.push(text.slice(start, cut));
    start = cut;
  }
  out.push(text.slice(start));
  return out;
}
