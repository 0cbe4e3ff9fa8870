/** A tiny chat-capable checkpoint and a prompts file for the feedback tests. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { trainTokenizer } from '../src/tokenizer/index.js';

/**
 * A random tiny model (its tokenizer reserves the chat tokens by default) saved as a run
 * folder. Weights are scaled up so samples vary and rarely end at once.
 */
export async function tinyChatRun(dir: string, seed = 4, contextLength = 64): Promise<string> {
  const text = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');
  const tok = await trainTokenizer({ texts: [text], vocabSize: 300, progress: false });
  const model = new GPT({ ...preset('tiny'), vocabSize: 320, contextLength, nEmbd: 32, nHead: 2, nKvHead: 2 }).init(seed);
  for (const [name, t] of model.params.named()) if (!name.includes('ln_')) t.data.forEach((v, i) => (t.data[i] = v * 6));
  saveCheckpoint(dir, 'step-000001', { model, tokenizerJson: tok.toTokenizerJson() });
  return dir;
}

export function writePrompts(path: string, count: number): string {
  const lines = Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? JSON.stringify({ prompt: `Who begat the son ${i}?` })
      : JSON.stringify({ messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: `And the earth ${i}` }] }));
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
