/** The base model the alignment tests (sft, dpo, reward) start from. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { trainTokenizer, type Tokenizer } from '../src/tokenizer/index.js';

export const BIBLE = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');

/** A random tiny GPT (context 64) with a 320-token tokenizer of the chat tokens and Genesis, saved as `root/base`. */
export async function tinyBase(root: string): Promise<{ tok: Tokenizer; base: string }> {
  const tok = await trainTokenizer({ texts: [BIBLE], vocabSize: 320, progress: false });
  const model = new GPT({ ...preset('tiny'), vocabSize: 320, contextLength: 64, nEmbd: 48, nHead: 2, nKvHead: 2 }).init(5);
  const base = join(root, 'base');
  saveCheckpoint(base, 'step-000001', { model, tokenizerJson: tok.toTokenizerJson() });
  return { tok, base };
}
