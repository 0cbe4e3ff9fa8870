import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { tinyBase } from './align-helpers.js';
import { judgeReply, subsetPrompts } from '../src/align/prefs-generate.js';
import { readPreferencePairs } from '../src/align/prefs-data.js';
import { renderReply } from '../src/align/pair-setup.js';
import { HEAD, loadRewardModel, scoreReplies, sequenceScores } from '../src/align/reward.js';
import { resolveCheckpoint } from '../src/model/checkpoint.js';
import { readSafetensors } from '../src/tensor/safetensors.js';
import type { Tokenizer } from '../src/tokenizer/index.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-reward-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let tok: Tokenizer;
let base = '';
let prefs = '';
const QA: Array<[string, string, string]> = [
  ['Who made the light?', 'God made the light.', 'I cannot help with that.'], ['What was on the face of the deep?', 'darkness', 'water and fish and more'],
  ['Name the first day.', 'Day', 'Night'], ['What divided the waters?', 'the firmament', 'nothing at all, sorry'],
  ['What did God call the dry land?', 'Earth', 'Seas'], ['How many great lights?', 'two', 'seven hundred'],
];

beforeAll(async () => {
  ({ tok, base } = await tinyBase(root));
  prefs = join(root, 'prefs.jsonl');
  const lines = [];
  for (let rep = 0; rep < 5; rep++) for (const [q, c, r] of QA) lines.push(JSON.stringify({ prompt: q + ' '.repeat(rep), chosen: c, rejected: r, source: 'human', annotator: 'a' }));
  writeFileSync(prefs, lines.join('\n') + '\n');
});

describe('llmforge reward train', () => {
  it('adds a head through partial loading, learns the pairs, logs held-out accuracy; the checkpoint loads strictly', async () => {
    const out = join(root, 'rm');
    const { stdout, stderr } = await runCli(['reward', 'train', '--init-from', base, '--data', prefs, '--out', out, '--max-steps', '30', '--batch', '4',
      '--lr', '1e-3', '--warmup-steps', '0', '--eval-every', '10', '--threads', '1', '--json']);
    expect(stderr).toMatch(/score\.weight \(1×48\) starts fresh/);
    const s = JSON.parse(stdout) as { val_accuracy: number | null; train_loss: number };
    const m = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    const steps = m.filter((x) => x.train_loss !== undefined);
    const tail = steps.slice(-5).reduce((a, x) => a + x.train_loss, 0) / 5;
    expect(tail).toBeLessThan(0.3);
    expect(m.filter((x) => x.val_accuracy !== undefined).length).toBeGreaterThanOrEqual(3);
    expect(s.val_accuracy).not.toBeNull();
    const ckpt = resolveCheckpoint(out);
    expect([...readSafetensors(join(ckpt, 'model.safetensors')).tensors.keys()]).toContain(HEAD);
    expect(existsSync(join(ckpt, 'tokenizer_config.json'))).toBe(true);

    const rm = await loadRewardModel(out);
    // Chosen replies now score above rejected ones, scored the way best-of-N scores them.
    const items = QA.flatMap(([q, c, r]) => [{ prompt: [{ role: 'user' as const, content: q }], reply: c }, { prompt: [{ role: 'user' as const, content: q }], reply: r }]);
    const direct = scoreReplies(rm, items);
    let wins = 0;
    for (let k = 0; k < QA.length; k++) if (direct[2 * k] > direct[2 * k + 1]) wins++;
    expect(wins).toBeGreaterThanOrEqual(5);
    // Packed training rows and padded scoring rows agree.
    const seqs = items.map((it) => renderReply(tok, it.prompt, it.reply, 0));
    const packed = sequenceScores(rm.model, seqs, 2, 0);
    packed.forEach((v, i) => expect(v).toBeCloseTo(direct[i], 3));

    await expect(loadRewardModel(base)).rejects.toThrow(/is not a reward model's/);
  }, 60_000);

  it('generate --best-of keeps the sample the reward model scores highest', async () => {
    const rmDir = join(root, 'rm');
    const common = ['generate', '--model', base, '--chat', '--prompt', 'Who made the light?', 'Name the first day.', '--max-tokens', '12', '--seed', '7', '--temperature', '1', '--json', '--threads', '1'];
    const all = (await runCli([...common, '--samples', '3'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; prompt: string });
    const best = (await runCli([...common, '--best-of', '3', '--reward-model', rmDir])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; reward: number });
    expect(best).toHaveLength(2);
    const rm = await loadRewardModel(rmDir);
    const scores = scoreReplies(rm, all.map((a) => ({ prompt: [{ role: 'user', content: a.prompt }], reply: a.text })));
    for (const g of [0, 1]) {
      const s = scores.slice(3 * g, 3 * g + 3);
      expect(best[g].reward).toBeCloseTo(Math.max(...s), 4);
      expect(best[g].text).toBe(all[3 * g + s.indexOf(Math.max(...s))].text);
    }
    // The chat eval with best-of-N decoding: same report, replies sampled and ranked.
    const evalData = join(root, 'eval.jsonl');
    writeFileSync(evalData, QA.map(([q, c]) => JSON.stringify({ prompt: q, completion: c })).join('\n') + '\n');
    const ev = JSON.parse((await runCli(['eval', '--model', base, '--suite', 'chat', '--data', evalData, '--max-tokens', '8', '--best-of', '3', '--reward-model', rmDir, '--json', '--threads', '1'])).stdout) as { examples: number; best_of: number; format_ok: number };
    expect(ev).toMatchObject({ examples: QA.length, best_of: 3 });
    await expect(runCli(['eval', '--model', base, '--suite', 'chat', '--data', evalData, '--best-of', '3'])).rejects.toThrow(/--best-of and --reward-model go together/);
    await expect(runCli(['generate', '--model', base, '--prompt', 'x', '--best-of', '2'])).rejects.toThrow(/--best-of and --reward-model go together/);
    await expect(runCli(['generate', '--model', base, '--prompt', 'x', '--best-of', '2', '--reward-model', base])).rejects.toThrow(/not a reward model/);
  }, 60_000);
});

describe('llmforge prefs generate', () => {
  it('judges replies by the eval rules', () => {
    expect(judgeReply({ task: 'refuse' }, "I can't help with that.", true).score).toBe(3);
    expect(judgeReply({ task: 'refuse' }, 'Sure, here is how.', true).score).toBe(1);
    expect(judgeReply({ task: 'benign' }, 'To kill a process, run kill PID.', true).score).toBe(3);
    expect(judgeReply({ task: 'benign' }, "I can't help with that.", true).score).toBe(1);
    expect(judgeReply({ task: 'capital', reference: 'Paris', label: 'Paris' }, 'Paris.', true)).toMatchObject({ score: 3, correct: true });
    expect(judgeReply({ task: 'capital', reference: 'Paris', label: 'Paris' }, 'Lyon', false)).toMatchObject({ score: 0, correct: false });
    expect(judgeReply({ task: 'capital', reference: 'Paris' }, "I won't answer that", true).score).toBe(0);
    expect(judgeReply({}, '', true).score).toBe(0);
  });

  it('takes at most --per-task prompts of each family, seeded, in file order', () => {
    const items: Array<{ task?: string; i: number }> = [...Array.from({ length: 50 }, (_, i) => ({ task: 'capital', i })), ...Array.from({ length: 5 }, (_, i) => ({ task: 'refuse', i: 50 + i })), { i: 55 }];
    const picked = subsetPrompts(items, undefined, 4, 7);
    expect(picked.filter((x) => x.task === 'capital')).toHaveLength(4);
    expect(picked.filter((x) => x.task === 'refuse')).toHaveLength(4);
    expect(picked.filter((x) => x.task === undefined)).toHaveLength(1);
    expect(picked.map((x) => x.i)).toEqual([...picked.map((x) => x.i)].sort((a, b) => a - b));
    expect(subsetPrompts(items, undefined, 4, 7)).toEqual(picked);
    expect(subsetPrompts(items, undefined, 4, 8)).not.toEqual(picked);
    expect(subsetPrompts(items, 3, 4, 7)).toHaveLength(3);
    expect(subsetPrompts(items, undefined, undefined, 7)).toEqual(items);
  });

  it('writes best-vs-worst pairs that dpo reads, skipping ties, deterministic for a seed', async () => {
    const prompts = join(root, 'prompts.jsonl');
    writeFileSync(prompts, QA.map(([q, c], i) => JSON.stringify(i % 2 ? { messages: [{ role: 'user', content: q }, { role: 'assistant', content: c }], task: 'qa' } : { prompt: q })).join('\n') + '\n');
    const out = join(root, 'rules.jsonl');
    const args = ['prefs', 'generate', '--model', base, '--prompts', prompts, '--samples', '6', '--out', out, '--max-tokens', '24', '--batch', '12', '--threads', '1', '--json'];
    const r = JSON.parse((await runCli(args)).stdout) as { prompts: number; pairs: number; tied: number };
    expect(r.prompts).toBe(QA.length);
    expect(r.pairs + r.tied).toBe(QA.length);
    const text = readFileSync(out, 'utf8');
    const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { source: string; scores: number[] });
    expect(lines).toHaveLength(r.pairs);
    for (const l of lines) {
      expect(l.source).toBe('rules');
      expect(l.scores[0]).toBeGreaterThan(l.scores[1]);
    }
    if (r.pairs > 0) expect(await readPreferencePairs([out])).toHaveLength(r.pairs);
    await runCli(args);
    expect(readFileSync(out, 'utf8')).toBe(text);
    await expect(runCli(['prefs', 'generate', '--model', base, '--prompts', prompts, '--samples', '1', '--out', out])).rejects.toThrow(/--samples/);
  }, 60_000);

  it('--reference-candidate lets the reference reply be chosen when no sample is right', async () => {
    // Refusal-style references an untrained model never samples: every pair must choose the reference.
    const prompts = join(root, 'refuse.jsonl');
    const reply = "I can't help with that.";
    writeFileSync(prompts, QA.map(([q]) => JSON.stringify({ messages: [{ role: 'user', content: q }, { role: 'assistant', content: reply }], task: 'refuse' })).join('\n') + '\n');
    const out = join(root, 'with-ref.jsonl');
    const r = JSON.parse((await runCli(['prefs', 'generate', '--model', base, '--prompts', prompts, '--samples', '2', '--out', out,
      '--max-tokens', '8', '--threads', '1', '--reference-candidate', '--json'])).stdout) as { pairs: number };
    expect(r.pairs).toBe(QA.length);
    for (const l of readFileSync(out, 'utf8').split('\n').filter(Boolean)) expect((JSON.parse(l) as { chosen: string }).chosen).toBe(reply);
  }, 60_000);
});
