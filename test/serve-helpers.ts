/** A small chat-capable checkpoint for the server tests, and a server started on a random port. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { trainTokenizer } from '../src/tokenizer/index.js';
import { startServer, type RunningServer, type ServeOptions } from '../src/serve/server.js';

/**
 * A run folder `dir` with one checkpoint: a BPE tokenizer (300 ids; the chat tokens are
 * reserved by default) and a tiny gpt2-style model with random weights scaled up so its
 * distributions are not flat. Returns the run folder.
 */
export async function makeChatModel(dir: string, contextLength: number, size: { nEmbd: number; nLayer: number } = { nEmbd: 64, nLayer: 2 }): Promise<string> {
  const text = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');
  const tok = await trainTokenizer({ texts: [text], vocabSize: 300, progress: false });
  const model = new GPT({ ...preset('tiny'), vocabSize: 320, contextLength, nHead: 4, nKvHead: 4, ...size }).init(4);
  for (const [name, t] of model.params.named()) if (!name.includes('ln_')) t.data.forEach((v, i) => (t.data[i] = v * 6));
  saveCheckpoint(dir, 'step-000001', { model, tokenizerJson: tok.toTokenizerJson() });
  return dir;
}

export function serve(model: string, o: Partial<ServeOptions> = {}): Promise<RunningServer> {
  return startServer({ model, host: '127.0.0.1', port: 0, parallel: 4, queue: 16, timeoutS: 60, bodyLimit: 1 << 20, threads: 1, ...o });
}
