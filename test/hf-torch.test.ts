/**
 * Dev-only: the exported Hugging Face folder means the same model to PyTorch. bench/hf_reference.py is a GPT-2 /
 * Llama forward written from transformers' definitions (needs only Debian's python3-torch); it must greedy-decode
 * the same ids as `llmforge generate --temperature 0`. Skipped with one line when torch is not importable.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { expectClose } from './helpers.js';
import { CONFIGS, saveTestCheckpoint, testModel, testTokenizer } from './export-helpers.js';
import { exportHf } from '../src/export/hf-export.js';
import { documentStartToken, encodePrompt } from '../src/model/framing.js';
import { quantizeQ8_0, toBf16Bytes, toF16Bytes } from '../src/export/quant.js';
import { randomF32 } from './helpers.js';

const PYTHON = '/usr/bin/python3';
const torchOk = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!torchOk) console.log(`hf-torch.test.ts: skipped — ${PYTHON} -c "import torch" fails (apt-get install python3-torch to run it)`);

const root = mkdtempSync(join(tmpdir(), 'llmforge-hf-torch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(!torchOk)('HF export read by a PyTorch forward written from transformers\' definitions', () => {
  for (const [label, config] of Object.entries(CONFIGS)) {
    it(`${label}: greedy ids identical to llmforge generate, logits close`, async () => {
      const tok = await testTokenizer();
      const model = testModel(config, 3);
      const dir = join(root, label.replace(/\W+/g, '-'));
      saveTestCheckpoint(join(dir, 'run'), model, tok);
      await exportHf(model, tok, join(dir, 'hf'), 'f32');
      const prompt = 'In the beginning God created the heaven';
      const { stdout } = await runCli(['generate', '--model', join(dir, 'run'), '--prompt', prompt, '--temperature', '0',
        '--max-tokens', '32', '--ignore-eos', '--json']);
      const ours = (JSON.parse(stdout) as { tokens: number[] }).tokens;
      const ids = encodePrompt(tok, prompt, documentStartToken(tok));
      const r = spawnSync(PYTHON, [join(__dirname, '..', 'bench', 'hf_reference.py'), join(dir, 'hf'), '--prompt', ids.join(','),
        '--new-tokens', '32', '--vocab-limit', String(tok.vocabSize)], { encoding: 'utf8', timeout: 120_000 });
      if (r.status !== 0) throw new Error(`hf_reference.py failed: ${r.stderr}`);
      const ref = JSON.parse(r.stdout) as { tokens: number[]; last_logits: number[] };
      expect(ref.tokens).toEqual(ours);
      const V = config.vocabSize;
      const logits = model.logits(Int32Array.from(ids), 1, ids.length).data.subarray((ids.length - 1) * V);
      expectClose(ref.last_logits, logits, 1e-3, 1e-4);
    }, 120_000);
  }

  it('F16 and BF16 bytes equal torch\'s .half() / .bfloat16(); Q8_0 bytes equal gguf-py\'s quantize_q8_0', () => {
    const edge = [0, -0, 1, 65504, 65519, 65520, 1e-8, 2 ** -24, 3 * 2 ** -25, 1 + 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.5, 3.4e38, Infinity, -Infinity];
    const x = new Float32Array(32 * 64);
    x.set(randomF32(x.length, 5, 3));
    x.set(edge.slice(0, 13), 0); // finite edge cases in the first block; Inf would make gguf-py's scale Inf
    x.set(new Float32Array(32), 64); // an all-zero block
    for (let i = 96; i < 128; i++) x[i] = (i - 112) * 0.5; // exact ties at the scale
    const src = join(root, 'values.f32');
    writeFileSync(src, new Uint8Array(x.buffer));
    const r = spawnSync(PYTHON, [join(__dirname, '..', 'bench', 'quant_reference.py'), src, join(root, 'ref')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`quant_reference.py failed: ${r.stderr}`);
    const same = (a: Uint8Array, file: string): boolean => Buffer.from(a).equals(readFileSync(join(root, file)));
    expect(same(toF16Bytes(x), 'ref.f16')).toBe(true);
    expect(same(toBf16Bytes(x), 'ref.bf16')).toBe(true);
    expect(same(quantizeQ8_0(x), 'ref.q8_0')).toBe(true);
  });
});
