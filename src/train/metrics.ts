/**
 * metrics.jsonl: one JSON object per line — per step {step, train_loss, lr, grad_norm,
 * tokens_per_s, ...} and per eval {step, val_loss, val_bpb, ...}. On resume the file is cut
 * back to the checkpoint's step, so it always describes the run that produced the weights.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { lineChartSvg } from './plot.js';

export interface StepRecord {
  step: number;
  train_loss: number;
  lr: number;
  grad_norm: number;
  tokens_per_s: number;
  /** Seconds spent in training steps so far (evals, samples and checkpoints excluded). */
  elapsed_s: number;
  mfu?: number;
  skipped?: boolean;
  /** An objective's extra scalars (DPO: rewards_chosen, accuracy, …). */
  [metric: string]: number | boolean | undefined;
}

/** An evaluator's scalars at a step: pretraining's {val_loss, val_bpb}, a chat eval's accuracy, … */
export interface EvalRecord {
  step: number;
  [metric: string]: number;
}

export type MetricRecord = StepRecord | EvalRecord;

export class MetricsLog {
  readonly records: MetricRecord[] = [];

  constructor(private readonly path: string) {}

  /** Loads existing records up to and including `upToStep`, rewriting the file to match. */
  restore(upToStep: number): void {
    this.records.length = 0;
    if (!existsSync(this.path)) return;
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as MetricRecord;
        if (r.step <= upToStep) this.records.push(r);
      } catch {
        // A line cut short by a kill mid-write: everything after it is gone too.
        break;
      }
    }
    writeFileAtomic(this.path, this.records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  append(record: MetricRecord): void {
    this.records.push(record);
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }

  /** Writes loss.svg (train and val) and lr.svg into dir. */
  plot(dir: string): void {
    const steps = this.records.filter((r): r is StepRecord => 'train_loss' in r && !r.skipped);
    const evals = this.records.filter((r): r is EvalRecord & { val_loss: number } => typeof r.val_loss === 'number');
    const loss = lineChartSvg(
      [
        { name: 'train loss', color: '#1f77b4', points: smooth(steps.map((r) => [r.step, r.train_loss] as const)) },
        { name: 'val loss', color: '#d62728', points: evals.map((r) => [r.step, r.val_loss] as const) },
      ],
      { title: 'Loss', xLabel: 'step', yLabel: 'cross-entropy (nats/token)' },
    );
    const lr = lineChartSvg([{ name: 'learning rate', color: '#2ca02c', points: steps.map((r) => [r.step, r.lr] as const) }], {
      title: 'Learning rate', xLabel: 'step', yLabel: 'lr',
    });
    writeFileAtomic(`${dir}/loss.svg`, loss);
    writeFileAtomic(`${dir}/lr.svg`, lr);
  }
}

/** Exponential moving average for a readable train-loss curve (raw values stay in the log). */
function smooth(points: ReadonlyArray<readonly [number, number]>, alpha = 0.1): Array<readonly [number, number]> {
  let ema: number | undefined;
  return points.map(([x, y]) => {
    ema = ema === undefined ? y : ema + alpha * (y - ema);
    return [x, ema] as const;
  });
}
