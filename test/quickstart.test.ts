/** `npm start`'s pipeline, shortened: tokenizer → data → training → samples on the embedded corpus. */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CLI = join(__dirname, '..', 'bin', 'llmforge.js');

describe('llmforge quickstart', () => {
  it('runs the whole flow and refuses to overwrite without --fresh', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'llmf-qs-')), 'qs');
    const run = (extra: string[]) => spawnSync(process.execPath, [CLI, 'quickstart', '--out', out, '--steps', '4', ...extra], { encoding: 'utf8' });
    const r = run([]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/\[1\/4\] tokenizer[\s\S]*\[2\/4\] data[\s\S]*\[3\/4\] pretraining[\s\S]*\[4\/4\] samples/);
    expect(r.stdout).toMatch(/> And the LORD said unto Moses,/);
    for (const f of ['tokenizer.json', 'data/manifest.json', 'run/latest', 'run/loss.svg', 'run/lr.svg', 'run/metrics.jsonl']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'run', 'loss.svg'), 'utf8')).toMatch(/^<svg /);
    const again = run([]);
    expect(again.status).not.toBe(0);
    expect(again.stderr).toMatch(/already holds a quickstart run; pass --fresh/);
    expect(run(['--fresh']).status).toBe(0);
  });
});
