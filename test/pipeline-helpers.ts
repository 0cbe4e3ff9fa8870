/** A tiny pipeline (seconds on 2 cores) over the embedded data, for the `llmforge run` tests. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EX = join(__dirname, '..', 'examples');

/** Preference pairs a barely trained model can learn from (its own samples all tie, so prefs yields none). */
function pairs(): string {
  const qa: Array<[string, string, string]> = [
    ['What is the capital of France?', 'Paris.', 'I cannot help with that.'], ['What is 2 plus 2?', '4.', '5.'],
    ['Name a colour.', 'Blue.', 'No.'], ['What is the capital of Italy?', 'Rome.', 'Paris.'],
  ];
  const lines: string[] = [];
  for (let rep = 0; rep < 6; rep++) {
    for (const [q, c, r] of qa) lines.push(JSON.stringify({ prompt: [{ role: 'user', content: q + ' '.repeat(rep) }], chosen: c, rejected: r, source: 'rules' }));
  }
  return `${lines.join('\n')}\n`;
}

/** Held-out conversations whose text must come out escaped in the report. */
function evalData(): string {
  const conv = (q: string, a: string, task: string): string =>
    JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: a }], task });
  return [
    conv('What is <b>2</b> & "3" | plus?', '5', 'arithmetic'),
    conv('What is the capital of France?', 'Paris', 'capital'),
    conv('What is 4 plus 4?', '8', 'arithmetic'),
  ].join('\n') + '\n';
}

export interface TinyPipeline {
  dir: string;
  file: string;
  config: Record<string, Record<string, unknown>>;
  write: () => void;
}

/** A pipeline file in a fresh folder; tweak `config` and call write() again. */
export function tinyPipeline(pretrainSteps = 6): TinyPipeline {
  const dir = mkdtempSync(join(tmpdir(), 'llmf-pipe-'));
  writeFileSync(join(dir, 'pairs.jsonl'), pairs());
  writeFileSync(join(dir, 'heldout.jsonl'), evalData());
  const facts = join(EX, 'data', 'reference-facts.txt.gz');
  const chat = join(EX, 'chat', 'heldout.jsonl.gz');
  const config: TinyPipeline['config'] = {
    tokenizer: { input: [facts], chatData: [chat], vocabSize: 400 },
    data: { input: [facts], valFraction: 0.1 },
    pretrain: {
      config: { model: { preset: 'nanogpt-cpu', overrides: { contextLength: 64, nLayer: 1, nEmbd: 32, nHead: 2, nKvHead: 2 } }, checkpoint: { every: 50, keep: 1 } },
      maxSteps: pretrainSteps, batch: 4, seed: 7,
    },
    sft: { data: [chat], maxSteps: 3, batch: 4 },
    prefs: { prompts: [chat], samples: 2, maxPrompts: 8, maxTokens: 8 },
    dpo: { data: ['pairs.jsonl'], maxSteps: 2, batch: 4 },
    reward: { data: ['pairs.jsonl'], maxSteps: 2, batch: 4 },
    eval: { data: ['heldout.jsonl'], maxTokens: 8 },
  };
  const file = join(dir, 'pipeline.json');
  const t: TinyPipeline = { dir, file, config, write: () => writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`) };
  t.write();
  return t;
}
