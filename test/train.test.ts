/**
 * The trainer end to end on a tiny dataset: resume after kill -9 (also in the middle
 * of a checkpoint write) is bit-identical to an uninterrupted run; bad input gives one
 * clear error.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trainTokenizer } from '../src/tokenizer/index.js';
import { prepare } from '../src/data/index.js';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';

const CLI = join(__dirname, '..', 'bin', 'llmforge.js');
const CORPUS = join(__dirname, '..', 'examples', 'data', 'kjv-genesis-to-judges.txt');
let work: string;
let data: string;

function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env, LLMFORGE_THREADS: '2' } });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

// Enough steps that the kill below lands mid-run even on a fast machine.
const STEPS = 30;
const LAST = `step-${String(STEPS).padStart(7, '0')}`;
const common = ['--preset', 'tiny', '--max-steps', String(STEPS), '--save-every', '2', '--eval-every', '15', '--batch', '4', '--seed', '3'];

function finalWeights(run: string): Buffer {
  const latest = readFileSync(join(run, 'latest'), 'utf8').trim();
  expect(latest).toBe(LAST);
  return readFileSync(join(run, 'checkpoints', latest, 'model.safetensors'));
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'llmf-train-'));
  const text = readFileSync(CORPUS, 'utf8').slice(0, 120_000);
  writeFileSync(join(work, 'corpus.txt'), text);
  const tokenizerPath = join(work, 'tokenizer.json');
  const tokenizer = await trainTokenizer({ input: join(work, 'corpus.txt'), vocabSize: 400, out: tokenizerPath, progress: false });
  data = join(work, 'data');
  await prepare({ inputs: [join(work, 'corpus.txt')], out: data, tokenizer, tokenizerSource: { path: tokenizerPath }, threads: 0, docChars: 4000 });
  writeFileSync(join(data, 'tokenizer.json'), readFileSync(tokenizerPath));
});

let referenceWeights: Buffer | undefined;
/** The final weights of the uninterrupted run (the first test writes them). */
function reference(): Buffer {
  if (!referenceWeights) throw new Error('the reference run did not finish');
  return referenceWeights;
}

describe('llmforge train', () => {
  it('trains, evaluates, plots and checkpoints', () => {
    const run = join(work, 'ref');
    const r = cli(['train', '--data', data, '--out', run, ...common]);
    expect(r.stderr).toMatch(/step 30\/30 \| loss [\d.]+ \| lr [\d.e-]+ \| grad norm [\d.]+ \| \d+ tok\/s \| MFU [\d.]+% \| ETA/);
    expect(r.status).toBe(0);
    referenceWeights = finalWeights(run);
    for (const f of ['metrics.jsonl', 'loss.svg', 'lr.svg']) expect(existsSync(join(run, f))).toBe(true);
    const records = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(records.filter((x) => 'train_loss' in x)).toHaveLength(STEPS);
    const evals = records.filter((x) => 'val_loss' in x);
    expect(evals.map((e) => e.step)).toEqual([0, 15, 30]); // step 0: the untrained model
    expect(evals[0].val_loss).toBeGreaterThan(evals[2].val_loss);
    expect(evals[1].val_bpb).toBeGreaterThan(0);
    expect(readdirSync(join(run, 'checkpoints'))).toHaveLength(3); // keep: 3
    const ckpt = join(run, 'checkpoints', LAST);
    for (const f of ['model.safetensors', 'config.json', 'tokenizer.json', 'optimizer.safetensors', 'trainer_state.json']) {
      expect(existsSync(join(ckpt, f)), f).toBe(true);
    }
  });

  it('resumes after kill -9 bit-identically', async () => {
    const run = join(work, 'killed');
    const child = spawn(process.execPath, [CLI, 'train', '--data', data, '--out', run, ...common], { env: { ...process.env, LLMFORGE_THREADS: '2' }, stdio: 'ignore' });
    // Kill as soon as a mid-run checkpoint exists, whatever the process is doing then.
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const latest = join(run, 'latest');
        if (existsSync(latest) && readFileSync(latest, 'utf8').trim() >= 'step-0000004') {
          clearInterval(timer);
          child.kill('SIGKILL');
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(timer);
        resolve();
      });
      child.on('error', reject);
    });
    expect(readFileSync(join(run, 'latest'), 'utf8').trim() < LAST).toBe(true);
    const r = cli(['train', '--data', data, '--out', run, ...common, '--resume']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming from .*step-00000/);
    expect(finalWeights(run).equals(reference())).toBe(true);
    const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; train_loss?: number })
      .filter((x) => x.train_loss !== undefined).map((x) => x.step);
    expect(steps).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
  });

  it('survives a kill in the middle of a checkpoint write', () => {
    const run = join(work, 'crash-in-write');
    const crashed = cli(['train', '--data', data, '--out', run, ...common], { LLMFORGE_CRASH_AT: 'checkpoint-write:step-0000006' });
    expect(crashed.status).not.toBe(0);
    expect(readFileSync(join(run, 'latest'), 'utf8').trim()).toBe('step-0000004');
    expect(readdirSync(join(run, 'checkpoints')).some((n) => n.startsWith('.tmp-'))).toBe(true);
    const r = cli(['train', '--data', data, '--out', run, ...common, '--resume']);
    expect(r.status, r.stderr).toBe(0);
    expect(finalWeights(run).equals(reference())).toBe(true);
    expect(readdirSync(join(run, 'checkpoints')).some((n) => n.startsWith('.tmp-'))).toBe(false);
  });
});

/** Root can mount a small tmpfs: a real full disk. Elsewhere this one case is skipped. */
function mountTinyDisk(dir: string, size: string): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status === 0;
}

describe('llmforge train --resume continues the same run', () => {
  const stateOf = (run: string): { step: number; config: { optimizer: { lr: number }; limits: { maxSteps: number } } } =>
    JSON.parse(readFileSync(join(run, 'checkpoints', readFileSync(join(run, 'latest'), 'utf8').trim(), 'trainer_state.json'), 'utf8')) as never;

  it('with only --resume: the saved settings, ending bit-identical to the uninterrupted run', () => {
    const run = join(work, 'resume-only');
    const crashed = cli(['train', '--data', data, '--out', run, ...common], { LLMFORGE_CRASH_AT: 'checkpoint-write:step-0000010' });
    expect(crashed.status).not.toBe(0);
    const r = cli(['train', '--data', data, '--out', run, '--resume']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming from .*step-0000008 at step 8/);
    expect(finalWeights(run).equals(reference())).toBe(true);
  });

  it('refuses a flag that changes the run, naming it and both values; raising --max-steps is allowed and logged', () => {
    const run = join(work, 'resume-flags');
    const first = cli(['train', '--data', data, '--out', run, '--preset', 'tiny', '--max-steps', '4', '--lr', '5e-4', '--batch', '2', '--eval-every', '0']);
    expect(first.status, first.stderr).toBe(0);
    const lr = cli(['train', '--data', data, '--out', run, '--resume', '--lr', '1e-3']);
    expect(lr.status).not.toBe(0);
    expect(lr.stderr).toMatch(/--lr 0\.001 differs from the saved run's 0\.0005 \(optimizer\.lr\)/);
    const lower = cli(['train', '--data', data, '--out', run, '--resume', '--max-steps', '3']);
    expect(lower.stderr).toMatch(/--max-steps 3 is below the saved run's 4 \(only raising it is allowed\)/);
    const more = cli(['train', '--data', data, '--out', run, '--resume', '--max-steps', '6']);
    expect(more.status, more.stderr).toBe(0);
    expect(more.stderr).toMatch(/the run now trains to step 6 \(was 4\); the learning-rate schedule's horizon moves/);
    const state = stateOf(run);
    expect(state.step).toBe(6);
    expect(state.config.optimizer.lr).toBe(5e-4);
    expect(state.config.limits.maxSteps).toBe(6);
  });

  it('a corrupt trainer_state.json is named', () => {
    const run = join(work, 'resume-corrupt-state');
    cpSync(join(work, 'ref'), run, { recursive: true });
    writeFileSync(join(run, 'checkpoints', LAST, 'trainer_state.json'), '{"step": 3');
    const r = cli(['train', '--data', data, '--out', run, '--resume']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${LAST}/trainer_state\\.json: not valid JSON`));
    expect(r.stderr).toMatch(/The last intact checkpoint is .*step-0000028: resume from it with --resume-from step-0000028/);
  });

  it('a truncated latest checkpoint names the last intact one, and --resume-from it ends bit-identical', () => {
    const run = join(work, 'resume-truncated');
    cpSync(join(work, 'ref'), run, { recursive: true });
    truncateSync(join(run, 'checkpoints', LAST, 'model.safetensors'), 5000);
    const r = cli(['train', '--data', data, '--out', run, '--resume']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${LAST}/model\\.safetensors: .*truncated`));
    expect(r.stderr).toMatch(/The last intact checkpoint is .*step-0000028: resume from it with --resume-from step-0000028/);
    const again = cli(['train', '--data', data, '--out', run, '--resume-from', 'step-0000028']);
    expect(again.status, again.stderr).toBe(0);
    expect(finalWeights(run).equals(reference())).toBe(true);
  });
});

describe('llmforge train: ergonomics', () => {
  const lrs = (run: string): number[] => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { lr?: number }).flatMap((r) => (r.lr === undefined ? [] : [r.lr]));

  it('a warmup longer than half the run is fitted to it (and said); piped, about 50 progress lines and always the last', () => {
    const run = join(work, 'short-warmup');
    const r = cli(['train', '--data', data, '--out', run, '--preset', 'tiny', '--max-steps', '60', '--batch', '1', '--eval-every', '0', '--save-every', '0']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warmup of 100 steps is more than half of this 60-step run .*: using 6/);
    const peak = Math.max(...lrs(run));
    expect(peak).toBeCloseTo(1e-3, 12); // the default peak lr is reached
    expect(lrs(run).indexOf(peak)).toBe(5);
    const lines = r.stderr.split('\n').filter((l) => /^step \d+\/60 \|/.test(l));
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.length).toBeLessThanOrEqual(52);
    expect(lines[lines.length - 1]).toMatch(/^step 60\/60/);
  });

  it('--warmup-steps sets the warmup', () => {
    const run = join(work, 'warmup-flag');
    const r = cli(['train', '--data', data, '--out', run, '--preset', 'tiny', '--max-steps', '10', '--warmup-steps', '4', '--batch', '1', '--eval-every', '0']);
    expect(r.status, r.stderr).toBe(0);
    expect(lrs(run).slice(0, 5).map((x) => x / 1e-3)).toEqual([0.25, 0.5, 0.75, 1, expect.any(Number)]);
    expect(cli(['train', '--data', data, '--out', run, '--warmup-steps', '-1']).stderr).toMatch(/--warmup-steps.*must be >= 0/);
  });
});

describe('llmforge train: bad input', () => {
  it('a full disk during a checkpoint: clear error, last checkpoint intact', (ctx) => {
    const disk = join(work, 'disk');
    mkdirSync(disk);
    if (!mountTinyDisk(disk, '2600k')) return ctx.skip();
    try {
      const run = join(disk, 'run');
      const r = cli(['train', '--data', data, '--out', run, ...common]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/writing checkpoint step-0000004 failed: the disk is full\. The last good checkpoint is .*step-0000002/);
      expect(readFileSync(join(run, 'latest'), 'utf8').trim()).toBe('step-0000002');
      expect(readdirSync(join(run, 'checkpoints'))).toEqual(['step-0000002']);
      const ok = cli(['generate', '--model', run, '--prompt', 'And', '--max-tokens', '3', '--temperature', '0']);
      expect(ok.status, ok.stderr).toBe(0);
    } finally {
      spawnSync('umount', [disk]);
    }
  });


  it('a data folder without a manifest', () => {
    const r = cli(['train', '--data', work, '--out', join(work, 'x1'), '--max-steps', '1']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/manifest/);
  });

  it('a model vocabulary that does not match the tokenizer', () => {
    const cfg = join(work, 'bad-vocab.json');
    writeFileSync(cfg, JSON.stringify({ model: { preset: 'tiny', overrides: { vocabSize: 999 } }, limits: { maxSteps: 1 } }));
    const r = cli(['train', '--data', data, '--out', join(work, 'x2'), '--config', cfg]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/vocabSize is 999 but the tokenizer has 400 tokens/);
  });

  it('unknown and out-of-range config values', () => {
    const cfg = join(work, 'bad-keys.json');
    writeFileSync(cfg, JSON.stringify({ optimizer: { lr: 5, momentum: 0.9 }, limits: { maxSteps: 1 } }));
    const r = cli(['train', '--data', data, '--out', join(work, 'x3'), '--config', cfg]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/bad-keys.json.*optimizer.lr: .*<=1.*Unrecognized key: "momentum"/s);
    expect(cli(['train', '--data', data, '--out', join(work, 'x3'), '--threads', '0']).stderr).toMatch(/--threads.*must be >= 1/);
  });

  it('--resume with nothing to resume, or with a changed model config', () => {
    expect(cli(['train', '--data', data, '--out', join(work, 'x4'), ...common, '--resume']).stderr).toMatch(/no checkpoint to resume/);
    const changed = cli(['train', '--data', data, '--out', join(work, 'ref'), ...common.slice(2), '--preset', 'nanogpt-cpu', '--resume']);
    expect(changed.status).not.toBe(0);
    expect(changed.stderr).toMatch(/--preset "nanogpt-cpu" differs from the saved run's "tiny" \(model.preset\)/);
    expect(cli(['train', '--data', data, '--out', join(work, 'ref'), ...common]).stderr).toMatch(/already holds a run; pass --resume/);
  });

  it('non-finite loss stops training with the last good checkpoint named', () => {
    const bad = join(work, 'nan-src');
    const model = new GPT({ ...preset('tiny'), vocabSize: 400 }).init(1);
    model.params.data[5] = NaN;
    saveCheckpoint(bad, 'step-0000001', { model });
    const r = cli(['train', '--data', data, '--out', join(work, 'x5'), ...common, '--init-from', bad]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/not finite — update skipped/);
    expect(r.stderr).toMatch(/training stopped: 5 consecutive steps with non-finite loss/);
  });
});
