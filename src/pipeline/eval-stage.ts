/**
 * The pipeline's eval stage: `llmforge eval` on every model the pipeline made — the base
 * suite (val bpb on the data stage's val split) and the chat suite (format, accuracy,
 * refusals) on the same held-out conversations — plus each model's reply to the same few
 * prompts, for the report card. Written to eval.json in the stage folder.
 */
import { join } from 'node:path';
import { readChatExamples } from '../data/index.js';
import { defaultHeldout, evalBase, evalChat, splitExample, type BaseEvalReport, type ChatEvalReport } from '../eval/index.js';
import { loadRewardModel, scoreReplies } from '../align/index.js';
import { loadForGeneration } from '../infer/index.js';
import { applyThreads } from '../tensor/registry.js';
import { writeFileAtomic } from '../util/atomic.js';
import { Progress } from '../util/progress.js';
import type { PipelineConfig, StageName } from './config.js';
import type { StageContext, StageResult } from './stages.js';

/** The models a report compares, in column order, and the stage that makes each. */
export const MODEL_COLUMNS: ReadonlyArray<{ model: string; stage: StageName }> = [
  { model: 'base', stage: 'pretrain' }, { model: 'SFT', stage: 'sft' }, { model: 'DPO', stage: 'dpo' }, { model: 'fine-tuned', stage: 'finetune' },
];

export interface SampleReply {
  kind: string;
  prompt: string;
  reply: string;
}

export interface ModelEval {
  stage: StageName;
  checkpoint: string;
  base: BaseEvalReport;
  chat: ChatEvalReport;
  samples: SampleReply[];
  /**
   * Share of the held-out prompts where the reward stage's model scores this model's reply
   * above the SFT model's (ties count half); null without a reward stage or an SFT model.
   */
  reward_win_rate_vs_sft: number | null;
}

export interface EvalFile {
  version: 1;
  data: string[];
  models: Record<string, ModelEval>;
}

/** Samples per kind of prompt shown in the report (answer, harmful, benign, open). */
const SAMPLES_PER_KIND = 2;

export async function runEval(c: PipelineConfig, ctx: StageContext): Promise<StageResult> {
  const o = c.eval ?? {};
  applyThreads(o.threads);
  const data = o.data ?? [defaultHeldout()];
  const examples = (await readChatExamples(data, { skipBadLines: o.skipBadLines })).slice(0, o.maxExamples);
  const dataDir = ctx.outputs.data?.data;
  if (dataDir === undefined) throw new Error('internal: the eval stage needs the data stage');
  const models: Record<string, ModelEval> = {};
  let pick: number[] | undefined;
  const replies = new Map<string, string[]>();
  for (const { model: name, stage } of MODEL_COLUMNS) {
    const run = ctx.outputs[stage]?.run;
    if (run === undefined) continue;
    const loaded = await loadForGeneration(run, undefined, (m) => ctx.log(`warning: ${m}`));
    const bar = new Progress({ total: examples.length, label: `eval ${name}`, unit: 'conv' });
    const base = await evalBase(loaded.model, loaded.tokenizer, dataDir, { batch: Math.min(o.batch ?? 32, 64) });
    const { report, verdicts } = evalChat(loaded.model, loaded.tokenizer, examples, {
      maxNewTokens: o.maxTokens ?? 48, batch: o.batch ?? 32, onProgress: (done) => bar.update(done),
    });
    bar.clear();
    // The same prompts for every model: the first few of each kind in the held-out set.
    pick ??= pickSamples(verdicts.map((v) => v.kind));
    models[name] = {
      stage, checkpoint: loaded.dir, base, chat: report,
      samples: pick.map((i) => ({ kind: verdicts[i].kind, prompt: verdicts[i].prompt, reply: verdicts[i].reply })), reward_win_rate_vs_sft: null,
    };
    replies.set(name, verdicts.map((v) => v.reply));
    ctx.log(`      ${name}: val bpb ${base.val_bpb.toFixed(3)}, format ${pct(report.format_ok)}, accuracy ${pct(report.accuracy)}, ` +
      `refusal ${pct(report.refusal_rate)}, over-refusal ${pct(report.over_refusal_rate)}`);
  }
  const rmRun = ctx.outputs.reward?.run;
  const sftReplies = replies.get('SFT');
  if (rmRun !== undefined && sftReplies !== undefined) {
    const rm = await loadRewardModel(rmRun);
    const prompts = examples.map((e) => splitExample(e.messages).prompt);
    const score = (rs: readonly string[]): number[] => scoreReplies(rm, prompts.map((prompt, i) => ({ prompt, reply: rs[i] })));
    const sftScores = score(sftReplies);
    for (const [name, rs] of replies) {
      const s = name === 'SFT' ? sftScores : score(rs);
      let wins = 0;
      for (let i = 0; i < s.length; i++) wins += rs[i] === sftReplies[i] || s[i] === sftScores[i] ? 0.5 : s[i] > sftScores[i] ? 1 : 0;
      models[name].reward_win_rate_vs_sft = s.length > 0 ? wins / s.length : null;
    }
  }
  const file = join(ctx.dir, 'eval.json');
  const body: EvalFile = { version: 1, data, models };
  writeFileAtomic(file, `${JSON.stringify(body, null, 2)}\n`);
  return { outputs: { eval: file }, summary: { models: Object.keys(models), examples: examples.length } };
}

function pickSamples(kinds: readonly string[]): number[] {
  const seen = new Map<string, number>();
  const out: number[] = [];
  kinds.forEach((k, i) => {
    const n = seen.get(k) ?? 0;
    if (n < SAMPLES_PER_KIND) {
      seen.set(k, n + 1);
      out.push(i);
    }
  });
  return out;
}

export const pct = (x: number | null | undefined): string => (x === null || x === undefined ? 'n/a' : `${(x * 100).toFixed(1)}%`);
