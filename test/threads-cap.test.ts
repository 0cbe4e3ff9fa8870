/** --threads and LLMFORGE_THREADS beyond the machine's cores are capped at the core count, with one warning. */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyThreads, getThreads, nativeKernelNames, setThreads } from '../src/tensor/registry.js';
import { setBatchThreads, batchThreadCount } from '../src/tokenizer/batch.js';

const CLI = join(__dirname, '..', 'bin', 'llmforge.js');
const cores = availableParallelism();
const native = nativeKernelNames().length > 0;

describe('thread cap', () => {
  afterEach(() => vi.restoreAllMocks());

  it('--threads 1000 runs on the core count and warns once', () => {
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      err += String(s);
      return true;
    });
    const got = applyThreads(1000);
    applyThreads(1000);
    expect(got).toBe(native ? cores : 1);
    if (native) expect(getThreads()).toBe(cores);
    expect(err.match(/--threads 1000 is more than the \d+ cores/g)).toHaveLength(1);
    setBatchThreads(1000);
    expect(batchThreadCount()).toBe(cores);
    setBatchThreads(undefined);
  });

  it('the library call is exact: kernel tests split work over more threads than cores', () => {
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      err += String(s);
      return true;
    });
    expect(setThreads(cores + 1)).toBe(native ? cores + 1 : 1);
    setThreads(cores);
    expect(err).toBe('');
  });

  it('LLMFORGE_THREADS=1000 is capped too (the addon starts with the capped pool)', () => {
    const r = spawnSync(process.execPath, [CLI, 'bench', 'matmul', '--size', '32', '--json'], {
      encoding: 'utf8', env: { ...process.env, LLMFORGE_THREADS: '1000' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.match(/LLMFORGE_THREADS=1000 is more than the \d+ cores/g)).toHaveLength(1);
    const rec = JSON.parse(r.stdout.trim().split('\n')[0]) as { threads: number };
    expect(rec.threads).toBe(native ? cores : 1);
  });
});
