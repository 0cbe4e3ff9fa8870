import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { tinyBase } from './align-helpers.js';
import { dpoObjective, sequenceLogProbs } from '../src/align/dpo.js';
import { emptyPairRows, fillPairRows, PairBatchSource } from '../src/align/pair-rows.js';
import { renderReply } from '../src/align/pair-setup.js';
import { readPreferencePairs, readPrompts } from '../src/align/prefs-data.js';
import { loadModel, resolveCheckpoint } from '../src/model/checkpoint.js';
import { readSafetensors } from '../src/tensor/safetensors.js';
import type { ChatMessage } from '../src/model/chat.js';
import { Graph, withGraph } from '../src/autograd/graph.js';
import type { Tokenizer } from '../src/tokenizer/index.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-dpo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let tok: Tokenizer;
let base = '';
let prefs = '';

const QA: Array<[string, string, string]> = [
  ['Who made the light?', 'God made the light.', 'I cannot help with that.'], ['What was on the face of the deep?', 'darkness', 'water and fish and more'],
  ['Name the first day.', 'Day', 'Night'], ['What divided the waters?', 'the firmament', 'nothing at all, sorry'],
  ['What did God call the dry land?', 'Earth', 'Seas'], ['How many great lights?', 'two', 'seven hundred'],
  ['What did God see?', 'that it was good', 'I will not answer'], ['What came forth?', 'grass', 'stones'],
];
const user = (q: string): ChatMessage[] => [{ role: 'user', content: q }];

beforeAll(async () => {
  ({ tok, base } = await tinyBase(root));
  prefs = join(root, 'prefs.jsonl');
  const lines = [];
  for (let rep = 0; rep < 4; rep++) {
    for (const [q, c, r] of QA) lines.push(JSON.stringify({ prompt: rep % 2 ? q + ' '.repeat(rep) : user(q + ' '.repeat(rep)), chosen: c, rejected: r, source: 'rules' }));
  }
  writeFileSync(prefs, lines.join('\n') + '\n');
});

describe('preference data', () => {
  it('reads pairs and prompts; a bad line names file, line and field', async () => {
    const pairs = await readPreferencePairs([prefs]);
    expect(pairs).toHaveLength(32);
    expect(pairs[8].prompt).toEqual(user('Who made the light? '));
    expect(pairs[0].origin).toBe('rules');
    const bad = join(root, 'bad.jsonl');
    writeFileSync(bad, `${JSON.stringify({ prompt: 'q', chosen: 'a', rejected: 'b' })}\n${JSON.stringify({ prompt: 'q', chosen: 'a' })}\n`);
    await expect(readPreferencePairs([bad])).rejects.toThrow(/bad\.jsonl:2: 'rejected' is missing/);
    writeFileSync(bad, `${JSON.stringify({ prompt: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'x' }], chosen: 'a', rejected: 'b' })}\n`);
    await expect(readPreferencePairs([bad])).rejects.toThrow(/bad\.jsonl:1: 'prompt' must end with a user message/);
    writeFileSync(bad, `${JSON.stringify({ prompt: [{ role: 'robot', content: 'q' }], chosen: 'a', rejected: 'b' })}\n`);
    await expect(readPreferencePairs([bad])).rejects.toThrow(/bad\.jsonl:1: prompt\[0\]\.role/);
    writeFileSync(bad, `${JSON.stringify({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'Paris' }], task: 'capital', label: 'Paris' })}\n${JSON.stringify({ prompt: 'hi' })}\n`);
    const prompts = await readPrompts([bad]);
    expect(prompts[0]).toMatchObject({ prompt: user('q'), reference: 'Paris', task: 'capital', label: 'Paris' });
    expect(prompts[1].reference).toBeUndefined();
  });

  it('a reply is masked, its prompt (earlier assistant turns too) is not', () => {
    const prompt: ChatMessage[] = [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }, { role: 'user', content: 'c' }];
    const r = renderReply(tok, prompt, 'done');
    const ones = [...r.mask].map((m, i) => (m ? i : -1)).filter((i) => i >= 0);
    expect(ones[0]).toBe(r.ids.length - ones.length);
    expect(tok.decode(r.ids.slice(ones[0], -1))).toBe('done');
  });
});

describe('pair rows', () => {
  const seqs = (): ReturnType<typeof renderReply>[] => QA.flatMap(([q, c, r]) => [renderReply(tok, user(q), c), renderReply(tok, user(q), r)]);

  it('both sequences of a pair go in together; packed sums equal each sequence run alone', () => {
    const model = loadModel(base).model;
    const s = seqs();
    const rows = emptyPairRows(2, 64);
    const order = [3, 0, 5, 1, 2, 4, 6, 7];
    const next = fillPairRows(s, order, 0, rows, 0, null);
    expect(next).toBe(rows.pairs);
    expect(rows.pairs).toBeGreaterThan(1);
    expect(rows.pairs).toBeLessThan(8);
    // Every trained position belongs to a sequence, and each sequence's are its reply tokens.
    for (let k = 0; k < 2 * rows.pairs; k++) {
      const n = [...rows.seg].filter((x) => x === k).length;
      const src = s[2 * order[k >> 1] + (k & 1)];
      expect(n).toBe(src.mask.reduce((a, m) => a + m, 0));
    }
    const packed = sequenceLogProbs(model, s, 2, 0);
    // Each sequence alone, in a plain causal row of its own length.
    const alone = s.map((one) => {
      const n = one.ids.length - 1;
      const targets = Int32Array.from({ length: n }, (_, i) => (one.mask[i + 1] ? one.ids[i + 1] : -1));
      const lp = withGraph(new Graph(false), () => Float32Array.from(model.tokenLogProbs(Int32Array.from(one.ids.slice(0, n)), targets, 1, n).data));
      return lp.reduce((a, b) => a + b, 0);
    });
    packed.forEach((v, i) => expect(v).toBeCloseTo(alone[i], 3));
  });

  it('--sft-weight adds α × the chosen replies\' mean token NLL to the loss', () => {
    const model = loadModel(base).model;
    const s = seqs();
    const ref = sequenceLogProbs(model, s, 2, 0);
    const src = new PairBatchSource(s, ref, 2, 64, 1, 0);
    const rows = src.allocate();
    src.fill(rows);
    const r = withGraph(new Graph(true), () => {
      const out = dpoObjective(0.1, 'sigmoid', 0.5)(model, rows);
      return { loss: out.loss.item(), nll: out.metrics?.chosen_nll as number };
    });
    let nll = 0;
    for (let k = 0; k < rows.pairs; k++) {
      const c = s[2 * rows.pairIndex[k]];
      nll += -ref[2 * rows.pairIndex[k]] / c.mask.reduce((a, m) => a + m, 0);
    }
    nll /= rows.pairs;
    expect(r.nll).toBeCloseTo(nll, 3);
    expect(r.loss).toBeCloseTo(Math.log(2) + 0.5 * nll, 3); // policy = reference: the DPO part is log 2
  });

  it('a restored position continues with the same batches, across epochs', () => {
    const s = seqs();
    const a = new PairBatchSource(s, null, 1, 64, 4, 0);
    const b = new PairBatchSource(s, null, 1, 64, 4, 0);
    const ra = a.allocate();
    for (let i = 0; i < 7; i++) a.fill(ra);
    b.restore(JSON.parse(JSON.stringify(a.position())));
    const rb = b.allocate();
    for (let i = 0; i < 3; i++) {
      a.fill(ra);
      b.fill(rb);
      expect([...rb.inputs]).toEqual([...ra.inputs]);
      expect([...rb.pairIndex.subarray(0, rb.pairs)]).toEqual([...ra.pairIndex.subarray(0, ra.pairs)]);
    }
    expect(() => b.restore({ epoch: 0 })).toThrow(/not a pair position/);
  });
});

describe('llmforge dpo', () => {
  const common = ['--init-from', '', '--data', '', '--batch', '2', '--lr', '3e-3', '--eval-every', '4', '--seed', '3'];
  const args = (out: string, extra: string[]): string[] => {
    const a = [...common];
    a[1] = base;
    a[3] = prefs;
    return ['dpo', ...a, '--out', out, ...extra];
  };

  it('trains: loss starts at log 2, rewards are logged per step and on held-out pairs, chosen replies gain', async () => {
    const out = join(root, 'run');
    const { stdout } = await runCli(args(out, ['--max-steps', '12', '--warmup-steps', '0', '--json']));
    const summary = JSON.parse(stdout) as Record<string, number>;
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    const steps = metrics.filter((m) => m.train_loss !== undefined);
    expect(steps).toHaveLength(12);
    expect(steps[0].train_loss).toBeCloseTo(Math.log(2), 3); // policy = reference at the first step
    for (const k of ['rewards_chosen', 'rewards_rejected', 'reward_accuracy', 'reward_margin']) expect(typeof steps[5][k]).toBe('number');
    expect(steps[11].train_loss).toBeLessThan(0.6);
    const evals = metrics.filter((m) => m.val_reward_accuracy !== undefined);
    expect(evals.length).toBeGreaterThanOrEqual(3);
    expect(evals[0].val_loss).toBeCloseTo(Math.log(2), 3);
    expect(summary.steps).toBe(12);
    const ckpt = resolveCheckpoint(out);
    expect(existsSync(join(ckpt, 'tokenizer_config.json'))).toBe(true);
    expect(existsSync(join(out, 'reference_logps.json'))).toBe(true);
    expect(existsSync(join(out, 'loss.svg'))).toBe(true);
  }, 60_000);

  it('resume continues exactly and reads the stored reference log-probs back', async () => {
    // A constant rate: the halves and the whole then follow the same schedule whatever their horizon.
    const cfg = join(root, 'constant.json');
    writeFileSync(cfg, JSON.stringify({ schedule: { kind: 'constant', warmupSteps: 0 } }));
    const opts = ['--loss', 'ipo', '--beta', '0.5', '--threads', '1', '--config', cfg];
    const whole = join(root, 'whole');
    await runCli(args(whole, ['--max-steps', '6', ...opts]));
    const part = join(root, 'part');
    await runCli(args(part, ['--max-steps', '3', ...opts]));
    const refFile = join(part, 'reference_logps.json');
    const before = statSync(refFile).mtimeMs;
    await expect(runCli(['dpo', '--out', part, '--data', prefs, '--resume', '--beta', '0.2'])).rejects.toThrow(/--beta 0.2 differs/);
    await runCli(['dpo', '--out', part, '--data', prefs, '--resume', '--max-steps', '6', '--threads', '1']);
    expect(statSync(refFile).mtimeMs).toBe(before);
    const a = readSafetensors(join(resolveCheckpoint(whole), 'model.safetensors')).tensors;
    const b = readSafetensors(join(resolveCheckpoint(part), 'model.safetensors')).tensors;
    for (const [name, t] of a) expect(Buffer.from((b.get(name) as typeof t).data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
  }, 60_000);

  it('flag and data errors', async () => {
    await expect(runCli(['dpo', '--out', join(root, 'x'), '--data', prefs])).rejects.toThrow(/--init-from is required/);
    await expect(runCli(['dpo', '--init-from', base, '--out', join(root, 'x'), '--data', prefs, '--loss', 'hinge'])).rejects.toThrow(/expected sigmoid or ipo/);
    await expect(runCli(['dpo', '--init-from', base, '--out', join(root, 'x'), '--data', prefs, '--epochs', '1', '--max-steps', '2'])).rejects.toThrow(/cannot be combined/);
  });
});
