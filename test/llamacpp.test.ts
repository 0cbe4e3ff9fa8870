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
import { documentStartToken, encodePrompt } from '../src/model/framing.js';
import { InferenceEngine } from '../src/infer/engine.js';
import { Generation, GENERATE_DEFAULTS } from '../src/infer/generate.js';
import { CHAT_TEMPLATE, renderChat, type ChatMessage } from '../src/model/chat.js';
import type { GPT } from '../src/nn/gpt.js';
import type { BpeTokenizer } from '../src/tokenizer/index.js';

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

const CHAT: ChatMessage[] = [
  { role: 'system', content: 'You answer in the words of the King James Bible.' },
  { role: 'user', content: "Who's the first man?" },
  { role: 'assistant', content: 'Adam, the man whom God formed.' },
  { role: 'user', content: 'And his wife?' },
];

/** Our reply to CHAT: renderChat, then greedy decoding up to llama.cpp's end-of-generation tokens (included). */
function ourChatReply(model: GPT, tok: BpeTokenizer, n: number): { ids: number[]; reply: number[] } {
  const ids = renderChat(tok, CHAT, { addGenerationPrompt: true }).ids;
  const stops = ['<|end|>', '<|eos|>'].map((s) => tok.specialTokens.get(s)!);
  const r = new Generation(new InferenceEngine(model), [ids], { ...GENERATE_DEFAULTS, maxNewTokens: n, temperature: 0, stopTokens: stops }, { tokenizer: tok }).run()[0];
  return { ids, reply: r.finishReason === 'stop' && r.tokens.length < n ? [...r.tokens, findStop(model, tok, ids, r.tokens, stops)] : r.tokens };
}

/** The stop token that ended a reply (Generation leaves it out): the argmax after the reply. */
function findStop(model: GPT, tok: BpeTokenizer, ids: number[], reply: number[], stops: number[]): number {
  const all = Int32Array.from([...ids, ...reply]);
  const V = model.config.vocabSize;
  const logits = model.logits(all, 1, all.length).data.subarray((all.length - 1) * V);
  let best = 0;
  for (let i = 1; i < tok.vocabSize; i++) if (logits[i] > logits[best]) best = i;
  expect(stops).toContain(best);
  return best;
}

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
    it(`${label}: same ids for text, same 64 greedy tokens and chat reply (f32); f16 and q8_0 load and decode`, async () => {
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
        exportGguf(model, tok, path, dtype, { name: label, chatTemplate: CHAT_TEMPLATE });
        return path;
      });
      const [f32, f16, q8] = llamaCpp(files.map((gguf, i) => ({ gguf, text: TRICKY, prompt: promptIds, n: 64, ...(i === 0 ? { chat: CHAT } : {}) })));
      expect(f32.text_ids).toEqual(Array.from(tok.encode(TRICKY)));
      expect(f32.greedy).toEqual(ours);
      // A chat turn through the GGUF's own tokenizer.chat_template (node-llama-cpp's Jinja wrapper).
      const chat = ourChatReply(model, tok, 64);
      expect(f32.template).toBe(CHAT_TEMPLATE);
      expect(f32.chat_ids).toEqual(chat.ids);
      expect(f32.chat_reply).toEqual(chat.reply);
      for (const r of [f16, q8]) {
        expect(r.greedy).toHaveLength(64);
        expect(r.greedy.every((id) => id >= 0 && id < config.vocabSize)).toBe(true);
      }
    }, 300_000);
  }
});
