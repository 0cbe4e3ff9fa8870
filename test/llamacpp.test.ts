/**
 * Dev-only: the exported GGUF files run through llama.cpp itself (node-llama-cpp@3.21.1, not a dependency:
 * `npm install --prefix /tmp/nlc node-llama-cpp@3.21.1`, or LLMFORGE_NODE_LLAMA_CPP=prefix-or-package-dir).
 * Skipped with one line when it is absent. bench/llamacpp-check.mjs runs llama.cpp in a child process.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { CONFIGS, BIBLE, saveTestCheckpoint, testModel, testTokenizer } from './export-helpers.js';
import { exportGguf } from '../src/export/gguf-export.js';
import { documentStartToken, encodePrompt } from '../src/infer/load.js';

function nodeLlamaCpp(): string | null {
  const base = process.env.LLMFORGE_NODE_LLAMA_CPP ?? '/tmp/nlc';
  return [base, join(base, 'node_modules', 'node-llama-cpp')].find((d) => existsSync(join(d, 'dist', 'index.js'))) ?? null;
}

const found = nodeLlamaCpp();
if (found === null) console.log('llamacpp.test.ts: skipped — node-llama-cpp not found (npm install --prefix /tmp/nlc node-llama-cpp@3.21.1, or set LLMFORGE_NODE_LLAMA_CPP)');

const root = mkdtempSync(join(tmpdir(), 'llmforge-llamacpp-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Text with the cases pre-tokenizers disagree on: contractions, digits, runs of spaces and newlines, non-ASCII. */
const TRICKY = `${BIBLE.slice(0, 600)}\n\nIt's 1234567 o'clock  —  they'll   say "naïve café"\t\tand 日本語!\n \n  end  `;

interface CheckRun { text_ids: number[]; greedy: number[]; chat_ids?: number[]; chat_reply?: number[]; template: string | null }

function llamaCpp(runs: unknown[]): CheckRun[] {
  const req = join(root, `req-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(req, JSON.stringify({ threads: 1, runs }));
  const r = spawnSync(process.execPath, [join(__dirname, '..', 'bench', 'llamacpp-check.mjs'), req],
    { encoding: 'utf8', env: { ...process.env, LLMFORGE_NODE_LLAMA_CPP: found! }, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`llamacpp-check failed (${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { runs: CheckRun[] }).runs;
}

describe.skipIf(found === null)('GGUF export runs token-identically in llama.cpp', () => {
  const cases = [
    { label: 'gpt2 (GPT-2 pattern, "gpt-2" pre-tokenizer)', config: CONFIGS['gpt2 untied, biases'], pattern: 'gpt2' as const, padded: false },
    { label: 'gpt2 bias-free tied', config: CONFIGS['gpt2 tied, no biases'], pattern: 'gpt4' as const, padded: false },
    { label: 'llama GQA (cl100k pattern, "dbrx" pre-tokenizer), padded vocabulary', config: CONFIGS['llama tied, GQA'], pattern: 'gpt4' as const, padded: true },
    { label: 'llama untied', config: CONFIGS['llama untied, MHA'], pattern: 'gpt2' as const, padded: false },
  ];
  // llmforge never samples ids past the tokenizer (padding rows of the embedding) while llama.cpp may, so
  // most cases size the model's vocabulary to the tokenizer; the padded one (exported as [PAD<id>]
  // tokens) is a model whose greedy path never reaches a padding id.
  for (const { label, config: base, pattern, padded } of cases) {
    it(`${label}: same ids for text, same 64 greedy tokens (f32); f16 and q8_0 load and decode`, async () => {
      const tok = await testTokenizer(pattern, 1024);
      const config = { ...base, contextLength: 128, vocabSize: tok.vocabSize + (padded ? 20 : 0) };
      const model = testModel(config, 11);
      const dir = join(root, label.replace(/\W+/g, '-'));
      saveTestCheckpoint(join(dir, 'run'), model, tok);
      const prompt = 'And God said, Let there be light';
      const { stdout } = await runCli(['generate', '--model', join(dir, 'run'), '--prompt', prompt, '--temperature', '0',
        '--max-tokens', '64', '--ignore-eos', '--json']);
      const ours = (JSON.parse(stdout) as { tokens: number[] }).tokens;
      expect(ours).toHaveLength(64);
      const promptIds = encodePrompt(tok, prompt, documentStartToken(tok));
      const files = (['f32', 'f16', 'q8_0'] as const).map((dtype) => {
        const path = join(dir, `model-${dtype}.gguf`);
        exportGguf(model, tok, path, dtype, { name: label, chatTemplate: null });
        return path;
      });
      const [f32, f16, q8] = llamaCpp(files.map((gguf) => ({ gguf, text: TRICKY, prompt: promptIds, n: 64 })));
      expect(f32.text_ids).toEqual(Array.from(tok.encode(TRICKY)));
      expect(f32.greedy).toEqual(ours);
      for (const r of [f16, q8]) {
        expect(r.greedy).toHaveLength(64);
        expect(r.greedy.every((id) => id >= 0 && id < config.vocabSize)).toBe(true);
      }
    }, 300_000);
  }
});
