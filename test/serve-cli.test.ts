import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { percentile } from '../src/serve/bench.js';
import { makeChatModel } from './serve-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-serve-cli-'));
let run = '';
beforeAll(async () => {
  run = await makeChatModel(join(root, 'm'), 128);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('llmforge serve / bench serve flags', () => {
  it('rejects bad flags naming them, and a missing model naming the path', async () => {
    await expect(runCli(['serve'])).rejects.toThrow(/--model is required/);
    await expect(runCli(['serve', '--model', run, '--port', '70000'])).rejects.toThrow(/between 0 and 65535/);
    await expect(runCli(['serve', '--model', run, '--parallel', '0'])).rejects.toThrow(/between 1 and 256/);
    await expect(runCli(['serve', '--model', run, '--cors', 'example.com'])).rejects.toThrow(/expected an origin like http:\/\/localhost:3000/);
    await expect(runCli(['serve', '--model', run, '--api-key', ' '])).rejects.toThrow(/--api-key .*the key is empty/);
    await expect(runCli(['serve', '--model', join(root, 'nope'), '--port', '0'])).rejects.toThrow(/nope/);
    await expect(runCli(['bench', 'serve'])).rejects.toThrow(/--model DIR is required/);
    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as AddressInfo).port;
    await expect(runCli(['serve', '--model', run, '--port', String(port)])).rejects.toThrow(new RegExp(`--port ${port}: 127.0.0.1:${port} is already in use`));
    busy.close();
  });

  it('bench serve prints the figures of N concurrent clients as one JSON line', async () => {
    const { stdout } = await runCli(['bench', 'serve', '--model', run, '--clients', '3', '--new-tokens', '8', '--prompt-tokens', '4', '--repeats', '1', '--json']);
    const r = JSON.parse(stdout) as Record<string, unknown>;
    expect(r).toMatchObject({ bench: 'serve', clients: 3, new_tokens: 8, prompt_tokens: 4 });
    expect(r.tokens_per_s).toBeGreaterThan(0);
    expect(r.ttft_ms_p95).toBeGreaterThanOrEqual(r.ttft_ms_p50 as number);
    await expect(runCli(['bench', 'serve', '--model', run, '--prompt-tokens', '100', '--new-tokens', '40', '--json'])).rejects.toThrow(/exceed the model's context length 128/);
  });

  it('percentile is nearest-rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 50)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 95)).toBe(5);
    expect(percentile([7], 95)).toBe(7);
  });
});
