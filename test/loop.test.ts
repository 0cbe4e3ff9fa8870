/**
 * The shared loop with an objective that is not the language-model loss: a frozen GPT with
 * a new classification head on the last token (the shape of a reward model or an adapter
 * run). Only the head trains, only the head is checkpointed, and resume is exact.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { initNormal } from '../src/nn/parameters.js';
import { AdamW, ADAMW_DEFAULTS } from '../src/optim/adamw.js';
import * as ops from '../src/autograd/ops.js';
import { readSafetensors } from '../src/tensor/safetensors.js';
import { hfConfig } from '../src/model/hf-config.js';
import { runLoop, type LoopOptions } from '../src/train/loop.js';
import { openResume } from '../src/train/resume.js';
import type { BatchSource, Objective } from '../src/train/objective.js';

const config = { ...preset('tiny'), vocabSize: 32, contextLength: 8, nEmbd: 32, nLayer: 1 };
const B = 4;
const T = config.contextLength;
const CLASSES = 4;

interface Row { ids: Int32Array; targets: Int32Array }

/** Deterministic rows from a counter: the label is the last token mod 4, asked of the last position only. */
class CounterSource implements BatchSource<Row> {
  drawn = 0;
  allocate(): Row {
    return { ids: new Int32Array(B * T), targets: new Int32Array(B * T) };
  }
  fill(row: Row): void {
    for (let i = 0; i < B * T; i++) {
      const k = this.drawn * B * T + i;
      row.ids[i] = Math.imul(k + 7, 2654435761) >>> 27; // 0..31
      row.targets[i] = (i + 1) % T === 0 ? row.ids[i] % CLASSES : -1;
    }
    this.drawn++;
  }
  position(): unknown {
    return { drawn: this.drawn };
  }
  restore(p: unknown): void {
    this.drawn = (p as { drawn: number }).drawn;
  }
}

function build(): { model: GPT; head: () => Float32Array } {
  const model = new GPT(config, { frozen: true, extend: (s, c) => { s.declare('score.weight', [CLASSES, c.nEmbd], 'decay', initNormal(0.02)); } }).init(5);
  return { model, head: () => Float32Array.from(model.params.get('score.weight').data) };
}

const objective: Objective<GPT, Row> = (model, row) => {
  const loss = ops.lmHeadCrossEntropy(model.hidden(row.ids, B, T), model.params.get('score.weight'), row.targets);
  return { loss, tokens: B, metrics: { rows: B } };
};

function options(out: string, model: GPT): LoopOptions<GPT, Row> {
  return {
    outDir: out, model, optimizer: new AdamW(model.params, ADAMW_DEFAULTS), objective, source: new CounterSource(), microBatches: 2,
    schedule: { kind: 'cosine', lr: 3e-2, minLr: 3e-3, warmupSteps: 2, totalSteps: 12, decayFraction: 0.2 }, gradClip: 1, maxSteps: 12,
    evalEvery: 0, checkpointEvery: 4, keep: 0, checkpoint: { save: 'trainable', config: { ...hfConfig(config), head: CLASSES } },
    runState: { stage: 'test-head' }, flopsPerToken: 1, log: () => {},
  };
}

describe('the training loop with another objective', () => {
  it('trains and saves only the trainable head, and resumes exactly', () => {
    const out = mkdtempSync(join(tmpdir(), 'llmf-loop-'));
    const { model, head } = build();
    const base = Float32Array.from(model.params.get('transformer.h.0.mlp.c_fc.weight').data);
    const head0 = head();
    const r = runLoop(options(out, model));
    expect(r.steps).toBe(12);
    expect(Array.from(model.params.get('transformer.h.0.mlp.c_fc.weight').data)).toEqual(Array.from(base));
    expect(Array.from(head())).not.toEqual(Array.from(head0));
    const ckpt = join(out, 'checkpoints', 'step-0000012');
    expect([...readSafetensors(join(ckpt, 'model.safetensors')).tensors.keys()]).toEqual(['score.weight']);
    expect([...readSafetensors(join(ckpt, 'optimizer.safetensors')).tensors.keys()].sort()).toEqual(['m.score.weight', 'v.score.weight']);
    const records = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(records.filter((x) => 'train_loss' in x).every((x) => x.rows === B && x.tokens_per_s > 0)).toBe(true);
    const state = JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8')) as Record<string, unknown>;
    expect(state.stage).toBe('test-head');
    expect(state.data_position).toEqual({ drawn: 24 });
    expect(state.tokens_seen).toBe(12 * 2 * B);
    const final = head();

    // Back to step 4, as if killed there; a fresh process rebuilds the frozen base the same way.
    for (const s of ['0000008', '0000012']) rmSync(join(out, 'checkpoints', `step-${s}`), { recursive: true });
    writeFileSync(join(out, 'latest'), 'step-0000004\n');
    const again = build();
    const resumed = runLoop({ ...options(out, again.model), resume: openResume(out) });
    expect(resumed.steps).toBe(12);
    expect(Buffer.from(again.head().buffer).equals(Buffer.from(final.buffer))).toBe(true);
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; train_loss?: number })
      .filter((x) => x.train_loss !== undefined).map((x) => x.step);
    expect(steps).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });
});
