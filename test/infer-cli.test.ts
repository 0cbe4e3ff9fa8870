import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync, cpSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { runChatRepl } from '../src/cli/chat.js';
import { unescapeStop } from '../src/cli/generate.js';
import { ChatSession } from '../src/infer/chat.js';
import { renderChat } from '../src/model/chat.js';
import { InferenceEngine } from '../src/infer/engine.js';
import { loadForGeneration } from '../src/infer/load.js';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { trainTokenizer, type Tokenizer } from '../src/tokenizer/index.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-infer-cli-'));
const run = join(root, 'run');
let ckpt = '';
let tok: Tokenizer;
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  const text = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');
  tok = await trainTokenizer({ texts: [text], vocabSize: 300, progress: false });
  // The model's vocabulary is padded past the tokenizer's (as presets do); a short context.
  const model = new GPT({ ...preset('tiny'), vocabSize: 320, contextLength: 32, nEmbd: 32, nHead: 2, nKvHead: 2 }).init(4);
  for (const [name, t] of model.params.named()) if (!name.includes('ln_')) t.data.forEach((v, i) => (t.data[i] = v * 6));
  ckpt = saveCheckpoint(run, 'step-000010', { model, tokenizerJson: tok.toTokenizerJson() });
});

const cli = runCli;

interface Record {
  text: string;
  tokens: number[];
  finish_reason: string;
  prompt_tokens: number;
  completion_tokens: number;
  seed: number;
  slides: number;
  prompt: string;
}

async function gen(args: string[]): Promise<Record[]> {
  const { stdout } = await cli(['generate', '--model', run, '--json', ...args]);
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as Record);
}

describe('llmforge generate', () => {
  it('greedy with the cache equals --no-cache; text decodes the tokens; run and checkpoint folders both work', async () => {
    const args = ['--prompt', 'In the beginning God', '--temperature', '0', '--max-tokens', '12', '--ignore-eos'];
    const [a] = await gen(args);
    const [b] = await gen([...args, '--no-cache']);
    const { stdout } = await cli(['generate', '--model', ckpt, '--json', ...args]);
    expect(a.tokens).toHaveLength(12);
    expect(b.tokens).toEqual(a.tokens);
    expect((JSON.parse(stdout) as Record).tokens).toEqual(a.tokens);
    expect(a.text).toBe(tok.decode(a.tokens));
    expect(a.finish_reason).toBe('length');
    // <|bos|> + the prompt's tokens.
    expect(a.prompt_tokens).toBe(tok.encode('In the beginning God').length + 1);
    const noBos = await gen([...args, '--no-bos']);
    expect(noBos[0].prompt_tokens).toBe(a.prompt_tokens - 1);
  });

  it('streams the same text it would print as JSON, and the same seed gives the same text', async () => {
    const args = ['--prompt', 'And the earth', '--temperature', '1.2', '--top-k', '50', '--max-tokens', '15', '--seed', '77', '--ignore-eos'];
    const [j] = await gen(args);
    const [k] = await gen(args);
    expect(k.text).toBe(j.text);
    expect(j.seed).toBe(77);
    const { stdout, stderr } = await cli(['generate', '--model', run, ...args]);
    expect(stdout).toBe(`${j.text}\n`);
    expect(stderr).toMatch(/15 tokens; prefill .* tok\/s, decode .* tok\/s; KV cache/);
    const echo = await cli(['generate', '--model', run, '--echo', ...args]);
    expect(echo.stdout).toBe(`And the earth${j.text}\n`);
  });

  it('several prompts × samples run as one batch, one JSON line each', async () => {
    const recs = await gen(['--prompt', 'light', 'darkness', '--samples', '2', '--max-tokens', '5', '--seed', '1', '--ignore-eos']);
    expect(recs.map((r) => r.prompt)).toEqual(['light', 'light', 'darkness', 'darkness']);
    expect(recs[0].tokens).not.toEqual(recs[1].tokens);
    const [alone] = await gen(['--prompt', 'light', '--max-tokens', '5', '--seed', '1', '--ignore-eos']);
    expect(alone.tokens).toEqual(recs[0].tokens);
  });

  it('at the context limit stops with a message, or slides on', async () => {
    const args = ['--prompt', 'In the beginning', '--temperature', '0', '--max-tokens', '60', '--ignore-eos'];
    const { stdout, stderr } = await cli(['generate', '--model', run, '--json', ...args]);
    const r = JSON.parse(stdout) as Record;
    expect(r.finish_reason).toBe('context');
    expect(r.prompt_tokens + r.completion_tokens).toBe(33);
    expect(stderr).toMatch(/stopped at the context limit \(32 tokens\); --context-overflow slide keeps going/);
    const [s] = await gen([...args, '--context-overflow', 'slide']);
    const [sNoCache] = await gen([...args, '--context-overflow', 'slide', '--no-cache']);
    expect(s.completion_tokens).toBe(60);
    expect(s.slides).toBeGreaterThan(0);
    expect(sNoCache.tokens).toEqual(s.tokens);
  });

  it('stop strings cut the text; stop tokens end it', async () => {
    const base = ['--prompt', 'In the beginning', '--temperature', '1', '--max-tokens', '20', '--seed', '5', '--ignore-eos'];
    const [free] = await gen(base);
    const stop = free.text.slice(4, 7);
    const [cut] = await gen([...base, '--stop', stop]);
    expect(cut.finish_reason).toBe('stop');
    expect(cut.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
    const [byTok] = await gen([...base, '--stop-token', String(free.tokens[3])]);
    expect(byTok.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(free.tokens[3])));
    const [byName] = await gen([...base.slice(0, -1), '--stop-token', '<|pad|>', '--max-tokens', '3']);
    expect(byName.completion_tokens).toBeLessThanOrEqual(3);
    expect(unescapeStop('a\\nb\\t\\\\')).toBe('a\nb\t\\');
  });

  it('reads options from --config, flags overriding', async () => {
    const cfg = join(root, 'gen.json');
    writeFileSync(cfg, JSON.stringify({ model: run, maxTokens: 4, temperature: 0, 'ignore-eos': true }));
    const { stdout } = await cli(['generate', '--config', cfg, '--prompt', 'light', '--json', '--max-tokens', '3']);
    expect((JSON.parse(stdout) as Record).completion_tokens).toBe(3);
  });

  it('bad input: one clear error naming the problem', async () => {
    const p = ['--prompt', 'x'];
    const fails = async (args: string[], msg: RegExp) => {
      await expect(cli(args)).rejects.toThrow(msg);
    };
    await fails(['generate', '--model', join(root, 'nope'), ...p], /nope: no such directory/);
    await fails(['generate', '--model', root, ...p], /neither a checkpoint .* nor a run directory/);
    await fails(['generate', '--model', run, '--prompt', ''], /--prompt: the prompt is empty/);
    await fails(['generate', '--model', run, '--prompt', 'the '.repeat(40)], /--prompt: \d+ tokens, more than the model's context length 32/);
    await fails(['generate', '--model', run, ...p, '--temperature', '-1'], /--temperature.*must be between 0/);
    await fails(['generate', '--model', run, ...p, '--top-p', '0'], /--top-p.*must be in \(0, 1\], got 0/);
    await fails(['generate', '--model', run, ...p, '--top-p', '1.5'], /--top-p.*must be in \(0, 1\], got 1.5/);
    await fails(['generate', '--model', run, ...p, '--min-p', '2'], /--min-p.*must be between 0 and 1/);
    await fails(['generate', '--model', run, ...p, '--top-k', '-3'], /--top-k.*must be >= 0/);
    await fails(['generate', '--model', run, ...p, '--repetition-penalty', '0'], /--repetition-penalty/);
    await fails(['generate', '--model', run, ...p, '--max-tokens', '0'], /--max-tokens.*must be >= 1/);
    await fails(['generate', '--model', run, ...p, '--context-overflow', 'wrap'], /expected stop or slide/);
    await fails(['generate', '--model', run, ...p, '--stop-token', '<|nope|>'], /--stop-token '<\|nope\|>': not an id nor a special token/);
    await fails(['generate', '--model', run, ...p, '--stop-token', '999'], /--stop-token 999: outside the model's vocabulary/);
    await fails(['generate', ...p], /--model is required/);
    await fails(['generate', '--model', run], /--prompt is required/);

    // Damaged checkpoints.
    const bad = join(root, 'bad');
    cpSync(ckpt, bad, { recursive: true });
    unlinkSync(join(bad, 'tokenizer.json'));
    await fails(['generate', '--model', bad, ...p], /has no tokenizer.json \(pass --tokenizer PATH\)/);
    writeFileSync(join(bad, 'tokenizer.json'), '{"model": 3');
    await fails(['generate', '--model', bad, ...p], /tokenizer.json/);
    cpSync(join(ckpt, 'tokenizer.json'), join(bad, 'tokenizer.json'));
    truncateSync(join(bad, 'model.safetensors'), 2000);
    await fails(['generate', '--model', bad, ...p], /model.safetensors: not a valid safetensors file/);
    cpSync(join(ckpt, 'model.safetensors'), join(bad, 'model.safetensors'));
    const cfg = JSON.parse(readFileSync(join(bad, 'config.json'), 'utf8')) as { llmforge: { nLayer: number } };
    cfg.llmforge.nLayer = 3;
    writeFileSync(join(bad, 'config.json'), JSON.stringify(cfg));
    await fails(['generate', '--model', bad, ...p], /model.safetensors: does not match the model \(missing 6 tensor\(s\) the model config needs: transformer.h.2/);
  });
});

describe('llmforge generate --chat', () => {
  /** A copy of the test model that always closes its turn: the final norm reads one channel that every embedding holds large, and <|end|>'s most. */
  async function enderModel(): Promise<string> {
    const { loadModel } = await import('../src/model/checkpoint.js');
    const { model } = loadModel(run);
    const C = model.config.nEmbd;
    const end = tok.specialTokens.get('<|end|>') as number;
    const w = model.tokenEmbedding.weight.data;
    for (let v = 0; v < model.config.vocabSize; v++) w[v * C] = v === end ? 200 : 100;
    model.finalNorm.weight.data.fill(0);
    model.finalNorm.weight.data[0] = 1;
    const dir = join(root, 'ender');
    saveCheckpoint(dir, 'step-000001', { model, tokenizerJson: tok.toTokenizerJson() });
    return dir;
  }

  it('renders the template around the prompt and stops at <|end|> with finish_reason "stop"', async () => {
    const ender = await enderModel();
    const { stdout } = await cli(['generate', '--model', ender, '--chat', '--prompt', 'Hi', '--temperature', '0', '--json']);
    const r = JSON.parse(stdout) as Record;
    expect(r.finish_reason).toBe('stop');
    expect(r.tokens).toEqual([]);
    expect(r.prompt_tokens).toBe(renderChat(tok, [{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }).ids.length);
    const sys = JSON.parse((await cli(['generate', '--model', ender, '--chat', '--system', 'Be brief.', '--prompt', 'Hi', '--temperature', '0', '--json'])).stdout) as Record;
    expect(sys.prompt_tokens).toBe(renderChat(tok, [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], { addGenerationPrompt: true }).ids.length);
    // The random model runs out of tokens instead: 'length', and the template's prompt is what it continued.
    const [len] = await gen(['--chat', '--prompt', 'Hi', '--temperature', '0', '--max-tokens', '3', '--stop-token', '<|end|>']);
    const [raw] = await gen(['--prompt', 'Hi', '--temperature', '0', '--max-tokens', '3']);
    expect(len.finish_reason).toBe('length');
    expect(len.tokens).toHaveLength(3);
    expect(len.tokens).not.toEqual(raw.tokens);
    await expect(cli(['generate', '--model', run, '--system', 'x', '--prompt', 'Hi'])).rejects.toThrow(/--system needs --chat/);
    await expect(cli(['generate', '--model', run, '--chat', '--no-bos', '--prompt', 'Hi'])).rejects.toThrow(/--no-bos cannot be combined with --chat/);
  });

  it('chat on a tokenizer without the chat tokens: one error naming the token', async () => {
    const plain = await trainTokenizer({ texts: ['In the beginning God created'], vocabSize: 270, specialTokens: ['<|bos|>'], progress: false });
    const model = new GPT({ ...preset('tiny'), vocabSize: 272, contextLength: 32, nEmbd: 32, nHead: 2, nKvHead: 2 }).init(1);
    const dir = join(root, 'plain');
    saveCheckpoint(dir, 'step-000001', { model, tokenizerJson: plain.toTokenizerJson() });
    await expect(cli(['generate', '--model', dir, '--chat', '--prompt', 'Hi'])).rejects.toThrow(/--chat: .*no '<\|system\|>' special token/);
  });
});

describe('llmforge bench generate', () => {
  it('prints prefill and decode tokens/s, and compares with recomputation', async () => {
    const { stdout } = await cli(['bench', 'generate', '--preset', 'tiny', '--prompt-tokens', '8', '--new-tokens', '8', '--repeats', '1', '--json']);
    const r = JSON.parse(stdout) as { bench: string; prefill_tokens_per_s: number; decode_tokens_per_s: number; cache: boolean };
    expect(r.bench).toBe('generate');
    expect(r.cache).toBe(true);
    expect(r.prefill_tokens_per_s).toBeGreaterThan(0);
    expect(r.decode_tokens_per_s).toBeGreaterThan(0);
    const c = await cli(['bench', 'generate', '--model', run, '--prompt-tokens', '4', '--new-tokens', '20', '--batch', '2', '--repeats', '1', '--compare', '--json']);
    const rc = JSON.parse(c.stdout) as { no_cache_decode_tokens_per_s: number; cache_speedup: number; batch: number };
    expect(rc.batch).toBe(2);
    expect(rc.no_cache_decode_tokens_per_s).toBeGreaterThan(0);
    expect(rc.cache_speedup).toBeGreaterThan(0);
    await expect(cli(['bench', 'generate', '--preset', 'tiny', '--prompt-tokens', '100', '--new-tokens', '100'])).rejects.toThrow(/exceed the context length 128/);
    await expect(cli(['bench', 'generate'])).rejects.toThrow(/give --model DIR or --preset NAME/);
  });
});

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += String(chunk);
    cb();
  }
}

describe('llmforge chat', () => {
  it('replies to each line, keeps history in the cache, /reset forgets it, ends at end of input', async () => {
    const loaded = await loadForGeneration(run);
    const engine = new InferenceEngine(loaded.model);
    const session = new ChatSession(engine, loaded.tokenizer, { temperature: 0, maxNewTokens: 6, stopTokens: [] });
    const out = new Sink();
    const err = new Sink();
    const input = Readable.from(['In the beginning\nAnd God said\n', '/reset\n', '\n', '/bogus\n', 'In the beginning\n',
      '/system Be brief.\n', 'In the beginning\n', '/system\n']);
    await runChatRepl(session, { input, output: out, errors: err, tty: false });
    const lines = out.text.split('\n');
    expect(lines).toHaveLength(5); // four replies, each ending in a newline
    expect(lines[0]).toBe(lines[2]); // after /reset the same prompt gives the same greedy reply
    expect(err.text).toContain('(conversation cleared)');
    expect(err.text).toContain('unknown command /bogus');
    expect(err.text).toContain('(system prompt set)');
    expect(err.text).toContain('(system prompt removed)');
    expect(err.text).toContain('(reply cut at --max-tokens 6)');
    expect(session.system).toBeNull();
  });

  it('renders the template: history, system prompt, and the reply in the next prompt', async () => {
    const loaded = await loadForGeneration(run);
    const engine = new InferenceEngine(loaded.model);
    const session = new ChatSession(engine, loaded.tokenizer, { temperature: 0, maxNewTokens: 3, stopTokens: [] }, { system: 'Be brief.' });
    const r = await session.reply('Hi');
    expect(session.messages).toEqual([
      { role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: r.text },
    ]);
    const rendered = renderChat(loaded.tokenizer, session.messages).ids;
    expect(session.historyTokens).toBe(rendered.length);
    expect(rendered.slice(0, 3)).toEqual([tok.specialTokens.get('<|bos|>'), tok.specialTokens.get('<|system|>'), tok.encode('Be brief.')[0]]);
  });

  it('drops the oldest turns to stay within the context', async () => {
    const loaded = await loadForGeneration(run);
    const engine = new InferenceEngine(loaded.model);
    const session = new ChatSession(engine, loaded.tokenizer, { temperature: 0, maxNewTokens: 8, stopTokens: [] });
    let dropped = 0;
    for (let i = 0; i < 6; i++) {
      const r = await session.reply('the children of Israel');
      dropped += r.droppedTurns;
      expect(r.promptTokens + r.tokens.length).toBeLessThanOrEqual(32);
      expect(session.messages[0].role).toBe('user'); // whole exchanges are dropped
    }
    expect(dropped).toBeGreaterThan(0);
    session.reset();
    expect(session.turnCount).toBe(0);
    await expect(session.reply('   ')).rejects.toThrow(/empty message/);
    await expect(session.reply('the '.repeat(40))).rejects.toThrow(/the message is too long: \d+ tokens/);
    expect(session.turnCount).toBe(0);
    // The REPL says so and goes on.
    const err = new Sink();
    await runChatRepl(session, { input: Readable.from(['the children of Israel\n'.repeat(6)]), output: new Sink(), errors: err, tty: false });
    expect(err.text).toMatch(/oldest message\(s\) were dropped to fit the context of 32 tokens/);
  });

  const bin = join(__dirname, '..', 'bin', 'llmforge.js');
  const built = existsSync(join(__dirname, '..', 'dist', 'cli', 'chat.js'));
  it.skipIf(!built)('works on piped stdin as a process and exits 0; bad flags exit non-zero', () => {
    const r = spawnSync(process.execPath, [bin, 'chat', '--model', run, '--temperature', '0', '--max-tokens', '5', '--ignore-eos'], {
      input: 'In the beginning\n/exit\nnever read\n', encoding: 'utf8', timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')).toHaveLength(2);
    const bad = spawnSync(process.execPath, [bin, 'generate', '--model', run, '--prompt', 'x', '--top-p', '1.5'], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--top-p/);
  });
});
