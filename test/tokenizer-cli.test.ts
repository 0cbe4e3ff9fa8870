/**
 * The tokenizer command line: train → encode --ids → decode round trip, --json records, the
 * bench record, and bad input (one clear error naming the file; no partial output file).
 */
import { describe, expect, it, vi, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerTokenizer, parseIds } from '../src/cli/tokenizer.js';
import { registerBenchTokenizer, segmentText } from '../src/cli/bench-tokenizer.js';
import { trainTokenizer } from '../src/tokenizer/index.js';

const FIXTURE = new URL('./fixtures/public-domain-bible.txt', import.meta.url).pathname;
const TEXT = readFileSync(FIXTURE, 'utf8');

function program(): Command {
  const p = new Command().exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerTokenizer(p);
  const bench = p.command('bench');
  registerBenchTokenizer(bench);
  return p;
}

/** Runs the CLI in-process and returns what it wrote to stdout. */
async function run(args: string[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, a?: unknown, b?: unknown) => {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    const cb = typeof a === 'function' ? a : typeof b === 'function' ? b : undefined;
    (cb as ((e?: Error) => void) | undefined)?.();
    return true;
  }) as typeof process.stdout.write);
  try {
    await program().parseAsync(['node', 'llmforge', ...args]);
  } finally {
    spy.mockRestore();
  }
  return Buffer.concat(chunks);
}

afterEach(() => vi.restoreAllMocks());

describe('llmforge tokenizer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmforge-tok-cli-'));
  const tokPath = join(dir, 'tokenizer.json');

  it('train --json prints the tokenizer-train record and writes tokenizer.json', async () => {
    const out = await run(['tokenizer', 'train', '--input', FIXTURE, '--vocab-size', '700', '--out', tokPath, '--json']);
    const rec = JSON.parse(out.toString()) as Record<string, unknown>;
    expect(rec.bench).toBe('tokenizer-train');
    expect(typeof rec.seconds).toBe('number');
    expect(rec.vocab_size).toBe(700);
    expect(JSON.parse(readFileSync(tokPath, 'utf8')).model.type).toBe('BPE');
  });

  it('encode --ids | decode gives the input back exactly', async () => {
    const input = join(dir, 'in.txt');
    const text = `${TEXT.slice(0, 2000)}\r\n  emoji 😀 CJK 中文 e\u0301 <|eos|>\n\n\n`;
    writeFileSync(input, text);
    const ids = await run(['tokenizer', 'encode', '--tokenizer', tokPath, '--input', input, '--ids']);
    expect(ids.toString().split('\n').filter(Boolean).every((l) => /^\d+$/.test(l))).toBe(true);
    const idsFile = join(dir, 'ids.txt');
    writeFileSync(idsFile, ids);
    const back = await run(['tokenizer', 'decode', '--tokenizer', tokPath, '--input', idsFile]);
    expect(back.toString('utf8')).toBe(text);
    // --json output also decodes, and --allow-special turns <|eos|> into one id.
    const js = JSON.parse((await run(['tokenizer', 'encode', '--tokenizer', tokPath, '--input', input, '--json', '--allow-special'])).toString());
    expect(js.tokens).toBe(js.ids.length);
    expect(js.tokens).toBeLessThan(ids.toString().split('\n').filter(Boolean).length);
    writeFileSync(idsFile, JSON.stringify(js));
    expect((await run(['tokenizer', 'decode', '--tokenizer', tokPath, '--input', idsFile])).toString('utf8')).toBe(text);
  });

  it('bench tokenizer --json prints an encode record', async () => {
    const out = await run(['bench', 'tokenizer', '--tokenizer', tokPath, '--input', FIXTURE, '--repeat', '2', '--json']);
    const rec = JSON.parse(out.toString()) as Record<string, unknown>;
    expect(rec.bench).toBe('encode');
    expect(rec.mb_per_s).toBeGreaterThan(0);
    expect(rec.tokens).toBeGreaterThan(1000);
  });

  it('rejects bad training options with one clear error and writes nothing', async () => {
    const out = join(dir, 'bad.json');
    const attempts: Array<[string[], RegExp]> = [
      [['--pattern', 'gpt5'], /unknown pattern 'gpt5'/],
      [['--pattern', '(unclosed'], /invalid pattern regex/],
      [['--vocab-size', '260'], /vocab size 260 is too small: .*256 \(bytes\) \+ 7 \(special tokens\) = 263/],
      [['--vocab-size', '100', '--special', 'none'], /vocab size 100 is too small: .*256 \(bytes\) \+ 0 \(special tokens\) = 256/],
      [['--special', '<|a|>', '<|a|>'], /duplicate special token '<\|a\|>'/],
    ];
    for (const [extra, msg] of attempts) {
      const args = ['tokenizer', 'train', '--input', FIXTURE, '--vocab-size', '500', '--out', out, ...extra];
      await expect(run(args)).rejects.toThrow(msg);
    }
    await expect(run(['tokenizer', 'train', '--input', join(dir, 'missing.txt'), '--vocab-size', '500', '--out', out])).rejects.toThrow(
      /missing\.txt' does not exist/,
    );
    await expect(run(['tokenizer', 'train', '--input', FIXTURE, '--vocab-size', '500', '--out', join(dir, 'no-such-dir', 'x.json')])).rejects.toThrow(
      /no-such-dir.*cannot write/,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('reports unreadable and malformed tokenizer files with the path', async () => {
    const bad = join(dir, 'broken.json');
    writeFileSync(bad, '{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []');
    await expect(run(['tokenizer', 'encode', '--tokenizer', bad, '--input', FIXTURE])).rejects.toThrow(/broken\.json: malformed JSON/);
    await expect(run(['tokenizer', 'encode', '--tokenizer', join(dir, 'nope.json'), '--input', FIXTURE])).rejects.toThrow(
      /nope\.json: cannot read tokenizer/,
    );
    const ids = join(dir, 'bad-ids.txt');
    writeFileSync(ids, '1\n2\nxyz\n');
    await expect(run(['tokenizer', 'decode', '--tokenizer', tokPath, '--input', ids])).rejects.toThrow(/bad-ids\.txt: token 3 \("xyz"\)/);
  });
});

describe('CLI helpers', () => {
  it('parseIds reads lines, spaces, commas, JSON arrays and encode --json objects', () => {
    expect(Array.from(parseIds('1\n2\n3\n', 10, 'x'))).toEqual([1, 2, 3]);
    expect(Array.from(parseIds('1 2,3', 10, 'x'))).toEqual([1, 2, 3]);
    expect(Array.from(parseIds('[4,5]', 10, 'x'))).toEqual([4, 5]);
    expect(Array.from(parseIds('{"tokens":1,"ids":[6]}', 10, 'x'))).toEqual([6]);
    expect(Array.from(parseIds('', 10, 'x'))).toEqual([]);
    expect(() => parseIds('10', 10, 'f')).toThrow(/f: token 1 \("10"\) is not an id/);
    expect(() => parseIds('[1.5]', 10, 'f')).toThrow(/token 1/);
  });

  it.each(['gpt2', 'gpt4'])('segmentText cuts where %s always splits', async (pattern) => {
    const tok = await trainTokenizer({ texts: [TEXT], vocabSize: 400, pattern, progress: false });
    // Long lines force the fallback cut (before a space that follows a non-space).
    const text = TEXT + TEXT.replace(/\n/g, ' ');
    const segs = segmentText(text, 1000);
    expect(segs.join('')).toBe(text);
    expect(segs.length).toBeGreaterThan(20);
    const pieces = segs.map((s) => Array.from(tok.encode(s))).flat();
    expect(pieces).toEqual(Array.from(tok.encode(text)));
  });
});
