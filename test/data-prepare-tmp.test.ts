/**
 * `data prepare` works in a hidden temporary folder beside --out. One left by a process that
 * was killed (kill -9 runs no cleanup) is removed by the next run — a live process's is not —
 * and a dataset moved aside for --overwrite is put back. An --out that cannot be written gets
 * one sentence, not a raw EPERM stack.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepare } from '../src/data/prepare.js';
import { readManifest } from '../src/data/manifest.js';
import { trainTokenizer } from '../src/tokenizer/index.js';
import { byteTokenizer } from './fixtures/data/byte-tokenizer.mjs';

const CLI = join(__dirname, '..', 'bin', 'llmforge.js');
const root = mkdtempSync(join(tmpdir(), 'llmforge-prepare-tmp-'));
const input = join(root, 'a.txt');
const tokPath = join(root, 'tokenizer.json');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  const text = 'In the beginning God created the heaven and the earth. And the earth was without form, and void.\n'.repeat(20);
  writeFileSync(input, text);
  await trainTokenizer({ texts: [text], vocabSize: 300, out: tokPath, progress: false });
});

/** A pid that no process has any more. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid as number;
}

const run = (out: string, extra = {}): ReturnType<typeof prepare> =>
  prepare({ inputs: [input], out, tokenizer: byteTokenizer(), threads: 0, onWarning: () => {}, ...extra });

describe('temporary folders of data prepare', () => {
  it('removes those of dead processes, keeps those of live ones', async () => {
    const parent = join(root, 'p1');
    mkdirSync(parent);
    const dead = join(parent, `.ds.tmp-${deadPid()}-0123abcd`);
    mkdirSync(dead);
    writeFileSync(join(dead, 'train-00000.bin'), 'partial');
    const sleeper = spawn('sleep', ['60']);
    try {
      const live = join(parent, `.ds.tmp-${sleeper.pid}-89abcdef`);
      const other = join(parent, `.other.tmp-${deadPid()}-0123abcd`);
      mkdirSync(live);
      mkdirSync(other);
      const warnings: string[] = [];
      await run(join(parent, 'ds'), { onWarning: (m: string) => warnings.push(m) });
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true);
      expect(existsSync(other)).toBe(true); // another --out's: not ours to judge
      expect(warnings.join('\n')).toMatch(/removed .*\.ds\.tmp-\d+-0123abcd, left by process \d+ that is gone/);
      expect(readdirSync(parent).sort()).toEqual([basename(live), basename(other), 'ds'].sort());
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('puts back a dataset that a killed --overwrite had moved aside', async () => {
    const parent = join(root, 'p2');
    mkdirSync(parent);
    const out = join(parent, 'ds');
    await run(out);
    const before = (await readManifest(out)).dataset_id;
    // Killed between its two renames: out was moved aside, the new one not yet in place.
    const tmp = join(parent, `.ds.tmp-${deadPid()}-feedbeef`);
    mkdirSync(tmp);
    const { renameSync } = await import('node:fs');
    renameSync(out, `${tmp}-old`);
    const warnings: string[] = [];
    await expect(run(join(parent, 'elsewhere'), { onWarning: (m: string) => warnings.push(m) })).resolves.toBeDefined();
    // Only the run for the same --out recovers it.
    expect(existsSync(`${tmp}-old`)).toBe(true);
    await run(out, { onWarning: (m: string) => warnings.push(m) }).catch((e: unknown) => e);
    expect(warnings.join('\n')).toMatch(/restored .*ds from .*-old/);
    expect((await readManifest(out)).dataset_id).toBe(before);
    expect(readdirSync(parent).filter((n) => n.startsWith('.ds.'))).toEqual([]);
  });
});

describe('an --out that cannot be written', () => {
  it('gets one sentence naming --out, and exit status 1', () => {
    // root ignores permissions: there, /sys refuses to create folders (EPERM) instead.
    let out: string;
    if (process.getuid?.() === 0) {
      out = '/sys/llmforge-test/ds';
    } else {
      const ro = join(root, 'readonly');
      mkdirSync(ro);
      chmodSync(ro, 0o555);
      out = join(ro, 'ds');
    }
    const r = spawnSync(process.execPath, [CLI, 'data', 'prepare', '--input', input, '--tokenizer', tokPath, '--out', out], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^llmforge: --out '${out}': cannot write there \\((EPERM|EACCES|EROFS)[^)]*\\); choose a folder you can write to\\n$`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
