/**
 * Dev-only: the exported Hugging Face folder means the same model to PyTorch. bench/hf_reference.py is a GPT-2 /
 * Llama forward written from transformers' definitions (needs only Debian's python3-torch); it must greedy-decode
 * the same ids as `llmforge generate --temperature 0`. Skipped with one line when torch is not importable.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { expectClose } from './helpers.js';
import { CONFIGS, saveTestCheckpoint, testModel, testTokenizer } from './export-helpers.js';
import { exportHf } from '../src/export/hf-export.js';
import { documentStartToken, encodePrompt } from '../src/infer/load.js';

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
});
