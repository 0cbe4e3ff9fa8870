/** `npm start`'s pipeline, shortened: tokenizer → data → pretraining → SFT → chat eval → answers on the embedded data. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(__dirname, '..', 'bin', 'llmforge.js');

describe('llmforge quickstart', () => {
  it('runs the whole flow and refuses to overwrite without --fresh', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'llmf-qs-')), 'qs');
    const run = (extra: string[]) => spawnSync(process.execPath, [CLI, 'quickstart', '--out', out, '--steps', '4', '--sft-steps', '3', '--eval-examples', '8', ...extra],
      { encoding: 'utf8' });
    const r = run([]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[1\/6\] tokenizer[\s\S]*\[2\/6\] data[\s\S]*\[3\/6\] pretraining[\s\S]*\[4\/6\] SFT[\s\S]*\[5\/6\] chat eval[\s\S]*format ok \d+%[\s\S]*\[6\/6\] the chat model answers/);
    expect(r.stdout).toMatch(/> What is the capital of France\?\n/);
    expect(r.stdout).toMatch(/npx llmforge chat --model .*sft/);
    for (const f of ['tokenizer.json', 'data/manifest.json', 'run/latest', 'run/loss.svg', 'run/lr.svg', 'run/metrics.jsonl', 'sft/latest', 'sft/loss.svg', 'sft/metrics.jsonl']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'run', 'loss.svg'), 'utf8')).toMatch(/^<svg /);
    const sftCkpt = join(out, 'sft', 'checkpoints', readdirSync(join(out, 'sft', 'checkpoints')).filter((n) => n.startsWith('step-'))[0]);
    expect(existsSync(join(sftCkpt, 'tokenizer_config.json'))).toBe(true);
    const again = run([]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/already holds a quickstart run; pass --fresh/);
    const pretrainOnly = run(['--fresh', '--sft-epochs', '0']);
    expect(pretrainOnly.status, pretrainOnly.stderr).toBe(0);
    expect(pretrainOnly.stderr).toMatch(/\[4\/4\] samples/);
    expect(existsSync(join(out, 'sft'))).toBe(false);
  }, 300_000);
});
