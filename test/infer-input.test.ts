/**
 * What generate and chat are given: a --tokenizer must fit the model (its vocabulary size is
 * the one the model was trained with), a different tokenizer of the same size warns once, and
 * invalid UTF-8 on stdin warns once instead of being replaced silently.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { runChatRepl } from '../src/cli/chat.js';
import { ChatSession } from '../src/infer/chat.js';
import { InferenceEngine } from '../src/infer/engine.js';
import { loadForGeneration } from '../src/infer/load.js';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { trainTokenizer } from '../src/tokenizer/index.js';

const CLI = join(__dirname, '..', 'bin', 'llmforge.js');
const root = mkdtempSync(join(tmpdir(), 'llmforge-infer-input-'));
const tokPath = (n: string): string => join(root, n);
let run = '';
let padded = '';
let bare = '';
afterAll(() => rmSync(root, { recursive: true, force: true }));

const tinyModel = (vocabSize: number): GPT =>
  new GPT({ ...preset('tiny'), vocabSize, contextLength: 32, nEmbd: 16, nHead: 2, nKvHead: 2, nLayer: 1 }).init(2);

beforeAll(async () => {
  const text = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');
  const own = await trainTokenizer({ texts: [text], vocabSize: 300, progress: false });
  const other = await trainTokenizer({ texts: [text.toUpperCase()], vocabSize: 300, progress: false });
  const bigger = await trainTokenizer({ texts: [text], vocabSize: 320, progress: false });
  const smaller = await trainTokenizer({ texts: [text], vocabSize: 290, progress: false });
  writeFileSync(tokPath('own.json'), own.toTokenizerJson());
  writeFileSync(tokPath('other.json'), other.toTokenizerJson());
  writeFileSync(tokPath('bigger.json'), bigger.toTokenizerJson());
  writeFileSync(tokPath('smaller.json'), smaller.toTokenizerJson());
  run = join(root, 'run');
  saveCheckpoint(run, 'step-000001', { model: tinyModel(300), tokenizerJson: own.toTokenizerJson() });
  // A model padded past its tokenizer (imports do this): its own tokenizer sets the size.
  padded = saveCheckpoint(join(root, 'padded'), 'step-000001', { model: tinyModel(320), tokenizerJson: own.toTokenizerJson() });
  bare = saveCheckpoint(join(root, 'bare'), 'step-000001', { model: tinyModel(300), tokenizerJson: own.toTokenizerJson() });
  unlinkSync(join(bare, 'tokenizer.json'));
});

const gen = ['--prompt', 'In the', '--max-tokens', '3', '--seed', '1', '--json'];

describe('--tokenizer for generate and chat', () => {
  it('refuses a tokenizer whose vocabulary size is not the model\'s', async () => {
    await expect(runCli(['generate', '--model', run, '--tokenizer', tokPath('bigger.json'), ...gen])).rejects.toThrow(
      /--tokenizer .*bigger\.json: 320 tokens, but the model in .* was trained with 300 \(its tokenizer\.json\)/,
    );
    await expect(runCli(['generate', '--model', run, '--tokenizer', tokPath('smaller.json'), ...gen])).rejects.toThrow(
      /--tokenizer .*smaller\.json: 290 tokens, but the model in .* was trained with 300/,
    );
    // Padded model: its own tokenizer (300) is what counts, not the 320 rows.
    await expect(loadForGeneration(padded, tokPath('bigger.json'), () => {})).rejects.toThrow(/320 tokens, but .* trained with 300 \(its tokenizer/);
    await expect(loadForGeneration(bare, tokPath('bigger.json'), () => {})).rejects.toThrow(/320 tokens, but .* trained with 300 \(its embedding rows/);
    await expect(loadForGeneration(bare, tokPath('smaller.json'), () => {})).rejects.toThrow(/290 tokens, but .* trained with 300 \(its embedding rows/);
  });

  it('warns once when the tokenizer has the right size but is not the checkpoint\'s own', async () => {
    const { stdout, stderr } = await runCli(['generate', '--model', run, '--tokenizer', tokPath('other.json'), ...gen]);
    expect(JSON.parse(stdout) as object).toHaveProperty('tokens');
    expect(stderr.match(/other\.json is not the tokenizer the model .* was trained with/g)).toHaveLength(1);
    const warnings: string[] = [];
    await loadForGeneration(run, tokPath('other.json'), (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
    // The same tokenizer from another file: no warning.
    cpSync(tokPath('own.json'), tokPath('copy.json'));
    const none: string[] = [];
    await loadForGeneration(run, tokPath('copy.json'), (m) => none.push(m));
    await loadForGeneration(padded, tokPath('copy.json'), (m) => none.push(m));
    expect(none).toEqual([]);
  });
});

describe('invalid UTF-8 on stdin', () => {
  it('generate --prompt - warns once', () => {
    const input = Buffer.from([0x49, 0x6e, 0xff, 0x20, 0x74, 0x68, 0xc3, 0x28, 0x65]);
    const r = spawnSync(process.execPath, [CLI, 'generate', '--model', run, '--prompt', '-', '--max-tokens', '2', '--seed', '1'], {
      input, encoding: 'utf8', env: { ...process.env, LLMFORGE_THREADS: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.match(/stdin is not valid UTF-8/g)).toHaveLength(1);
    const ok = spawnSync(process.execPath, [CLI, 'generate', '--model', run, '--prompt', '-', '--max-tokens', '2', '--seed', '1'], {
      input: 'In thé', encoding: 'utf8', env: { ...process.env, LLMFORGE_THREADS: '1' },
    });
    expect(ok.stderr).not.toMatch(/UTF-8/);
  });

  it('chat warns once however many lines are bad (a character cut across chunks is fine)', async () => {
    const loaded = await loadForGeneration(run);
    const session = new ChatSession(new InferenceEngine(loaded.model), loaded.tokenizer, { temperature: 0, maxNewTokens: 2, stopTokens: [] });
    const sink = (): { stream: Writable; text: () => string } => {
      let s = '';
      return { stream: new Writable({ write: (c, _e, cb) => ((s += String(c)), cb()) }), text: () => s };
    };
    const talk = async (chunks: Buffer[]): Promise<string> => {
      const out = sink();
      const err = sink();
      await runChatRepl(session, { input: Readable.from(chunks), output: out.stream, errors: err.stream, tty: false });
      return err.text();
    };
    const e = Buffer.from('é');
    // The chat also reports cut replies and dropped turns on stderr; only the UTF-8 warning is counted here.
    expect((await talk([Buffer.from('hello \xff\n', 'latin1'), Buffer.from('again \xfe\n', 'latin1')])).match(/stdin is not valid UTF-8/g)).toHaveLength(1);
    expect(await talk([Buffer.concat([Buffer.from('caf'), e.subarray(0, 1)]), Buffer.concat([e.subarray(1), Buffer.from('\n')])])).not.toMatch(/UTF-8/);
  });
});
