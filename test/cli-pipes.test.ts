/**
 * Commands piped into `head`: when the reader closes stdout early, the command ends quietly
 * with exit status 0 (no `write EPIPE` stack trace). Real shell pipes, the built CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { trainTokenizer } from '../src/tokenizer/index.js';

const CLI = join(__dirname, '..', 'bin', 'llmforge.js');
const root = mkdtempSync(join(tmpdir(), 'llmforge-pipes-'));
const run = join(root, 'run');
const tokPath = join(root, 'tokenizer.json');
const big = join(root, 'big.txt');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  const text = readFileSync(join(__dirname, 'fixtures', 'public-domain-bible.txt'), 'utf8');
  const tok = await trainTokenizer({ texts: [text], vocabSize: 300, progress: false });
  writeFileSync(tokPath, tok.toTokenizerJson());
  // Far more output than a pipe buffers (64 KiB), so writes go on after head has exited.
  writeFileSync(big, text.repeat(Math.ceil(400_000 / text.length)));
  const model = new GPT({ ...preset('tiny'), vocabSize: 300, contextLength: 64, nEmbd: 16, nHead: 2, nKvHead: 2, nLayer: 1 }).init(1);
  saveCheckpoint(run, 'step-000001', { model, tokenizerJson: tok.toTokenizerJson() });
});

/** Runs `llmforge ARGS | head HEAD` in bash and returns llmforge's exit status, its stderr and head's output. */
function piped(args: string, head: string, stdin = ''): { status: number; stderr: string; stdout: Buffer } {
  const errFile = join(root, 'stderr.txt');
  const script = `node ${JSON.stringify(CLI)} ${args} 2>${JSON.stringify(errFile)} | head ${head}; echo "status=\${PIPESTATUS[0]}" >&2`;
  const r = spawnSync('bash', ['-c', script], { input: stdin, env: { ...process.env, LLMFORGE_THREADS: '1' } });
  const m = /status=(\d+)/.exec(r.stderr.toString());
  return { status: m ? Number(m[1]) : -1, stderr: readFileSync(errFile, 'utf8'), stdout: r.stdout };
}

describe('stdout closed by the reader', () => {
  it('tokenizer encode | head -1', () => {
    const r = piped(`tokenizer encode --tokenizer ${tokPath} --ids --input ${big}`, '-1');
    expect(r.stdout.toString()).toMatch(/^\d+\n$/);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(r.status).toBe(0);
  });

  it('generate | head -c 5', () => {
    const r = piped(`generate --model ${run} --prompt "In the" --max-tokens 40000 --ignore-eos --context-overflow slide --seed 1`, '-c 5');
    expect(r.stdout).toHaveLength(5);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(r.status).toBe(0);
  });

  it('chat | head -c 5', () => {
    const r = piped(`chat --model ${run} --max-tokens 60 --seed 1 --ignore-eos`, '-c 5', 'And God said\n'.repeat(3000));
    expect(r.stdout).toHaveLength(5);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(r.status).toBe(0);
  });
});
