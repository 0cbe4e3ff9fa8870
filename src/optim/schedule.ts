/** Learning-rate schedules: warmup then cosine, linear, constant, or warmup-stable-decay. */
export type ScheduleKind = 'cosine' | 'linear' | 'constant' | 'wsd';

export interface Schedule {
  kind: ScheduleKind;
  lr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** wsd only: fraction of totalSteps spent in the final decay. */
  decayFraction: number;
}

/** Learning rate at a 0-based step. */
export function learningRate(s: Schedule, step: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  const total = Math.max(s.totalSteps, s.warmupSteps + 1);
  if (step >= total) return s.minLr;
  if (s.kind === 'wsd') {
    const decaySteps = Math.max(1, Math.round(total * s.decayFraction));
    const decayStart = total - decaySteps;
    if (step < decayStart) return s.lr;
    return s.lr + ((step - decayStart) / decaySteps) * (s.minLr - s.lr);
  }
  const progress = (step - s.warmupSteps) / (total - s.warmupSteps);
  if (s.kind === 'linear') return s.lr + progress * (s.minLr - s.lr);
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.lr - s.minLr);
}

/**
 * Warmup that fits the run: a warmup longer than half the run (the default 100 steps in a
 * 60-step run never even reaches the peak) becomes a tenth of it. Returns the steps to use.
 */
export function fitWarmup(warmupSteps: number, totalSteps: number | undefined): number {
  if (totalSteps === undefined || warmupSteps <= totalSteps / 2) return warmupSteps;
  return Math.max(1, Math.round(totalSteps / 10));
}
