import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readChatExamples } from '../src/data/chat-jsonl.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-chat-jsonl-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function file(lines: unknown[], name = `f${n++}.jsonl`, gzip = false): string {
  const p = join(root, name);
  const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
  writeFileSync(p, gzip ? gzipSync(text) : text);
  return p;
}

const conv = { messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello!' }], task: 'greet' };

describe('readChatExamples', () => {
  it('reads messages and prompt/completion records, keeping task and label', async () => {
    const p = file([
      conv,
      '',
      { prompt: 'What is 2+2?', completion: '4', task: 'arithmetic', label: 'x', extra: 5 },
      { messages: [{ role: 'system', content: 'One word.' }, { role: 'user', content: [{ type: 'text', text: 'Capital of ' }, { type: 'text', text: 'France?' }] }, { role: 'assistant', content: 'Paris' }], task: 7 },
    ]);
    const ex = await readChatExamples([p]);
    expect(ex).toEqual([
      { ...conv, source: `${p}:1` },
      {
        messages: [{ role: 'user', content: 'What is 2+2?' }, { role: 'assistant', content: '4' }],
        task: 'arithmetic',
        label: 'x',
        source: `${p}:3`,
      },
      {
        messages: [{ role: 'system', content: 'One word.' }, { role: 'user', content: 'Capital of France?' }, { role: 'assistant', content: 'Paris' }],
        source: `${p}:4`,
      },
    ]);
  });

  it('reads folders (only .jsonl and .jsonl.gz inside), globs and gzip', async () => {
    const dir = join(root, 'folder');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    file([conv], 'folder/a.jsonl');
    file([conv, conv], 'folder/sub/b.jsonl.gz', true);
    writeFileSync(join(dir, 'README.md'), '# not data\n');
    const fromDir = await readChatExamples([dir]);
    expect(fromDir.map((e) => e.source)).toEqual([`${dir}/a.jsonl:1`, `${dir}/sub/b.jsonl.gz:1`, `${dir}/sub/b.jsonl.gz:2`]);
    const fromGlob = await readChatExamples([join(dir, '**/*.gz')]);
    expect(fromGlob).toHaveLength(2);
    await expect(readChatExamples([join(root, 'nothing-*.jsonl')])).rejects.toThrow(/matched no files/);
    await expect(readChatExamples([join(root, 'missing.jsonl')])).rejects.toThrow(/does not exist/);
  });

  const cases: Array<[string, unknown, RegExp]> = [
    ['invalid JSON', '{"messages": [', /:1: invalid JSON/],
    ['not an object', '[1,2]', /:1: expected a JSON object, got an array/],
    ['neither form', { text: 'hi' }, /:1: expected a 'messages' array or 'prompt' and 'completion' strings/],
    ['messages not an array', { messages: 'hi' }, /:1: 'messages': expected an array, got string/],
    ['empty messages', { messages: [] }, /:1: 'messages' is empty/],
    ['bad role', { messages: [{ role: 'user', content: 'a' }, { role: 'bot', content: 'b' }] }, /:1: messages\[1\]\.role: expected "system", "user" or "assistant", got "bot"/],
    ['missing role', { messages: [{ content: 'a' }] }, /:1: messages\[0\]\.role is missing/],
    ['missing content', { messages: [{ role: 'user' }] }, /:1: messages\[0\]\.content is missing/],
    ['content not a string', { messages: [{ role: 'assistant', content: 5 }] }, /:1: messages\[0\]\.content: expected a string, got number/],
    ['image part', { messages: [{ role: 'user', content: [{ type: 'image_url' }] }, { role: 'assistant', content: 'x' }] }, /messages\[0\]\.content\[0\]: only text parts/],
    ['no assistant', { messages: [{ role: 'user', content: 'a' }] }, /:1: 'messages' has no assistant message/],
    ['prompt only', { prompt: 'a' }, /:1: 'completion' is missing/],
    ['completion not a string', { prompt: 'a', completion: null }, /:1: 'completion': expected a string, got null/],
    ['both forms', { ...conv, prompt: 'a', completion: 'b' }, /:1: has both 'messages' and 'prompt'\/'completion'/],
  ];
  for (const [what, line, re] of cases) {
    it(`stops at a malformed line with file:line and the field: ${what}`, async () => {
      const p = file([line, conv]);
      const err = await readChatExamples([p]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message.startsWith(`${p}:1: `)).toBe(true);
      expect((err as Error).message).toMatch(re);
    });
  }

  it('counts and skips malformed lines with skipBadLines', async () => {
    const p = file([conv, '{oops', { messages: [{ role: 'x', content: '' }] }, conv]);
    const skipped: string[] = [];
    const ex = await readChatExamples([p], { skipBadLines: true, onSkip: (where, why) => skipped.push(`${where} ${why}`) });
    expect(ex.map((e) => e.source)).toEqual([`${p}:1`, `${p}:4`]);
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toMatch(new RegExp(`^${p}:2 invalid JSON`));
    expect(skipped[1]).toMatch(new RegExp(`^${p}:3 messages\\[0\\]\\.role`));
  });

  it('reports the line of an error in a gzip file and a corrupt gzip', async () => {
    const p = file([conv, conv, { prompt: 1, completion: 'x' }], 'bad.jsonl.gz', true);
    await expect(readChatExamples([p])).rejects.toThrow(`${p}:3: 'prompt': expected a string, got number`);
    const broken = join(root, 'broken.jsonl.gz');
    writeFileSync(broken, gzipSync(JSON.stringify(conv) + '\n').subarray(0, 20));
    await expect(readChatExamples([broken])).rejects.toThrow(/broken\.jsonl\.gz: corrupt gzip/);
  });

  it('refuses an input with no examples', async () => {
    const dir = join(root, 'empty');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'x');
    await expect(readChatExamples([dir])).rejects.toThrow(/no \.jsonl or \.jsonl\.gz files/);
    await expect(readChatExamples([file([''])])).rejects.toThrow(/no valid chat examples/);
  });
});
