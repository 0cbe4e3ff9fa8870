import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { tinyBase } from './align-helpers.js';
import { epochPlan, SftBatchSource } from '../src/align/sft-data.js';
import { parseSftConfig } from '../src/align/sft.js';
import { assistantLoss } from '../src/eval/chat.js';
import { renderChat, type ChatMessage, type RenderedChat } from '../src/model/chat.js';
import { emptyRows, layRow, rowsLoss } from '../src/model/chat-rows.js';
import { loadModel } from '../src/model/checkpoint.js';
import { Graph, withGraph } from '../src/autograd/graph.js';
import type { Tokenizer } from '../src/tokenizer/index.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-sft-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let tok: Tokenizer;
let base = '';

const QA: Array<[string, string]> = [
  ['Who made the light?', 'God'], ['What was on the face of the deep?', 'darkness'], ['Name the first day.', 'Day'],
  ['What divided the waters?', 'the firmament'], ['What did God call the dry land?', 'Earth'], ['How many great lights?', 'two'],
];
const chat = (q: string, a: string): ChatMessage[] => [{ role: 'user', content: q }, { role: 'assistant', content: a }];

beforeAll(async () => {
  ({ tok, base } = await tinyBase(root));
  writeFileSync(join(root, 'train.jsonl'), QA.map(([q, a], i) => JSON.stringify(i % 2 ? { prompt: q, completion: a } : { messages: chat(q, a) })).join('\n') + '\n');
});

function convs(n: number): RenderedChat[] {
  return Array.from({ length: n }, (_, i) => renderChat(tok, chat(QA[i % QA.length][0] + ' '.repeat(i % 3), QA[i % QA.length][1])));
}

describe('SFT rows', () => {
  it('an epoch plan packs every conversation exactly once, rows within T, the same for the same seed', () => {
    const pairs = [5, 30, 12, 64, 7, 0, 33, 18, 2, 40];
    const plan = epochPlan(pairs, 64, 'packed', 1, 0);
    expect(epochPlan(pairs, 64, 'packed', 1, 0)).toEqual(plan);
    expect(epochPlan(pairs, 64, 'packed', 1, 1)).not.toEqual(plan);
    expect(plan.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9]); // the empty one is skipped
    for (const row of plan) expect(row.reduce((s, i) => s + pairs[i], 0)).toBeLessThanOrEqual(64);
    expect(plan.length).toBeLessThanOrEqual(Math.ceil(211 / 64) + 1);
    expect(epochPlan(pairs, 64, 'padded', 1, 0)).toHaveLength(9);
  });

  it('packed rows give the same loss as each conversation alone: no attention or positions cross conversations', () => {
    const model = loadModel(base).model;
    const cs = convs(4);
    const rows = emptyRows(2, 64);
    layRow(cs, [0, 1], rows, 0, 0);
    layRow(cs, [2, 3], rows, 1, 0);
    expect(rows.segStart[cs[0].ids.length - 1]).toBe(cs[0].ids.length - 1); // the second conversation starts its own segment
    const g = new Graph(false);
    const packed = withGraph(g, () => rowsLoss(model, rows, 'packed').item());
    const alone = assistantLoss(model, cs, 0) as number;
    expect(cs.reduce((s, c) => s + c.mask.reduce((a, m) => a + m, 0), 0)).toBe(rows.trained);
    expect(packed).toBeCloseTo(alone, 4);
    // Unpacked (plain causal rows), the same layout scores differently: the segments matter.
    const crossed = withGraph(g, () => model.loss(rows.inputs, rows.targets, rows.B, rows.T).item());
    expect(Math.abs(crossed - packed)).toBeGreaterThan(1e-4);
  });

  it('a restored position continues with the same batches', () => {
    const cs = convs(25);
    const a = new SftBatchSource(cs, 3, 64, 'packed', 9, 0);
    const b = new SftBatchSource(cs, 3, 64, 'packed', 9, 0);
    const ra = a.allocate();
    for (let i = 0; i < 4; i++) a.fill(ra); // crosses into the next epoch
    const pos = JSON.parse(JSON.stringify(a.position())) as unknown;
    b.restore(pos);
    const rb = b.allocate();
    a.fill(ra);
    b.fill(rb);
    expect(rb.inputs).toEqual(ra.inputs);
    expect(rb.targets).toEqual(ra.targets);
    expect(() => b.restore({ epoch: -1, row: 0 })).toThrow(/not an SFT position/);
  });
});

describe('llmforge sft', () => {
  it('learns the replies (loss on assistant tokens), writes tokenizer_config.json, and then chats in the format', async () => {
    const out = join(root, 'run');
    const { stdout } = await runCli(['sft', '--init-from', base, '--data', join(root, 'train.jsonl'), '--val-data', join(root, 'train.jsonl'), '--out', out,
      '--max-steps', '80', '--lr', '1e-2', '--batch', '2', '--eval-every', '30', '--threads', '1', '--json']);
    const r = JSON.parse(stdout) as { steps: number; train_loss: number; val_loss: number; checkpoint: string };
    expect(r.steps).toBe(80);
    expect(r.val_loss).toBeLessThan(0.3);
    const cfg = JSON.parse(readFileSync(join(r.checkpoint, 'tokenizer_config.json'), 'utf8')) as { chat_template: string; eos_token: string };
    expect(cfg.eos_token).toBe('<|end|>');
    expect(cfg.chat_template).toContain('<|assistant|>');
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; val_loss?: number });
    const vals = metrics.filter((m) => m.val_loss !== undefined);
    expect(vals[0].step).toBe(0); // the curve starts at the untrained loss
    expect(vals[vals.length - 1].val_loss).toBeLessThan((vals[0].val_loss as number) / 4);
    const g = await runCli(['generate', '--model', out, '--chat', '--prompt', QA[1][0], '--temperature', '0', '--json']);
    const rec = JSON.parse(g.stdout) as { text: string; finish_reason: string };
    expect(rec.text).toBe(QA[1][1]);
    expect(rec.finish_reason).toBe('stop');
    const e = await runCli(['eval', '--model', out, '--suite', 'chat', '--data', join(root, 'train.jsonl'), '--json']);
    expect((JSON.parse(e.stdout) as { format_ok: number }).format_ok).toBe(1);
  }, 120_000);

  it('resume continues bit-identically to an uninterrupted run', async () => {
    // A constant rate: the two halves and the whole then follow the same schedule whatever their horizon.
    const cfg = join(root, 'constant.json');
    writeFileSync(cfg, JSON.stringify({ schedule: { kind: 'constant', warmupSteps: 0 } }));
    const args = (out: string) => ['sft', '--init-from', base, '--data', join(root, 'train.jsonl'), '--out', out, '--batch', '2', '--threads', '1', '--eval-every', '0', '--config', cfg];
    await runCli([...args(join(root, 'a')), '--max-steps', '6']);
    await runCli([...args(join(root, 'b')), '--max-steps', '3']);
    await runCli(['sft', '--resume', '--out', join(root, 'b'), '--data', join(root, 'train.jsonl'), '--max-steps', '6', '--threads', '1']);
    const wa = loadModel(join(root, 'a')).model.params.data;
    const wb = loadModel(join(root, 'b')).model.params.data;
    expect(Buffer.from(wb.buffer).equals(Buffer.from(wa.buffer))).toBe(true);
  }, 120_000);

  it('bad input: one clear error naming the flag, file or line', async () => {
    const out = join(root, 'bad-run');
    const data = join(root, 'train.jsonl');
    await expect(runCli(['sft', '--data', data, '--out', out])).rejects.toThrow(/--init-from is required/);
    await expect(runCli(['sft', '--init-from', base, '--out', out])).rejects.toThrow(/--data is required/);
    await expect(runCli(['sft', '--init-from', base, '--data', data, '--out', out, '--epochs', '2', '--max-steps', '3'])).rejects.toThrow(/--epochs and --max-steps cannot be combined/);
    await expect(runCli(['sft', '--init-from', base, '--data', data, '--out', out, '--layout', 'loose'])).rejects.toThrow(/expected packed or padded/);
    const broken = join(root, 'broken.jsonl');
    writeFileSync(broken, `${JSON.stringify({ messages: chat('a', 'b') })}\n{"messages":[{"role":"robot","content":"x"}]}\n`);
    await expect(runCli(['sft', '--init-from', base, '--data', broken, '--out', out])).rejects.toThrow(/broken.jsonl:2: messages\[0\].role/);
    const cfg = join(root, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ model: { preset: 'tiny' } }));
    await expect(runCli(['sft', '--init-from', base, '--data', data, '--out', out, '--config', cfg])).rejects.toThrow(/model: SFT trains the --init-from model/);
    writeFileSync(cfg, JSON.stringify({ sft: { epochs: -1 } }));
    await expect(runCli(['sft', '--init-from', base, '--data', data, '--out', out, '--config', cfg])).rejects.toThrow(/sft.epochs/);
    await expect(runCli(['sft', '--resume', '--data', data, '--out', join(root, 'nothing')])).rejects.toThrow(/nothing/);
    expect(existsSync(join(out, 'latest'))).toBe(false);
    expect(parseSftConfig({}, 'defaults').sft.layout).toBe('packed');
  });
});
