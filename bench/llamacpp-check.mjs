#!/usr/bin/env node
// Runs GGUF files through llama.cpp (node-llama-cpp, see llamacpp-lib.mjs) and prints what it produced, so a
// test can compare it with llmforge: `node bench/llamacpp-check.mjs request.json` → one JSON object on stdout.
//
// request: { "threads": 1, "runs": [{ "gguf": PATH, "text": STR, "prompt": [ids], "n": 64,
//            "chat"?: [{ "role", "content" }] }] }
// result:  { "runs": [{ "gguf", "text_ids": [...], "greedy": [...], "chat_ids"?: [...], "chat_reply"?: [...],
//            "template": STR | null }] }
//   text_ids   llama.cpp's tokenization of `text` (no BOS, special tokens as plain text)
//   greedy     `n` greedy tokens after `prompt`, F32 KV cache, flash attention off
//   chat_ids   the chat rendered with the GGUF's own tokenizer.chat_template (node-llama-cpp's Jinja
//              wrapper, generation prompt added) and tokenized with special tokens
//   chat_reply greedy tokens after chat_ids up to and including the first end-of-generation token
import { readFileSync } from 'node:fs';
import { loadGguf } from './llamacpp-lib.mjs';

const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const runs = [];
for (const r of request.runs) {
  const m = await loadGguf(r.gguf, { threads: request.threads ?? 1, contextSize: r.contextSize ?? 256 });
  const out = { gguf: r.gguf, text_ids: m.tokenize(r.text, false), greedy: (await m.greedy(r.prompt, r.n)).tokens };
  const template = m.model.fileInfo.metadata.tokenizer?.chat_template ?? null;
  out.template = template;
  if (r.chat && template !== null) {
    const wrapper = new m.mod.JinjaTemplateChatWrapper({ template, tokenizer: m.model.tokenizer });
    const history = r.chat.map((msg) => (msg.role === 'assistant'
      ? { type: 'model', response: [msg.content] }
      : { type: msg.role, text: msg.content }));
    history.push({ type: 'model', response: [] });
    const { contextText } = wrapper.generateContextState({ chatHistory: history });
    const ids = contextText.tokenize(m.model.tokenizer);
    out.chat_ids = ids;
    const reply = [];
    await m.sequence.clearHistory();
    for await (const token of m.sequence.evaluate(ids, { temperature: 0, yieldEogToken: true })) {
      reply.push(token);
      if (m.model.isEogToken(token) || reply.length >= r.n) break;
    }
    out.chat_reply = reply;
  }
  runs.push(out);
  await m.dispose();
}
process.stdout.write(`${JSON.stringify({ runs })}\n`);
process.exit(0);
