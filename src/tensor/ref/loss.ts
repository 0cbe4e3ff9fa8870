/**
 * Softmax cross-entropy and token log-probabilities over rows of logits (reference
 * kernels). Each row's log-sum-exp is computed in float64 with the row max subtracted
 * first, so large logits cannot overflow.
 */
import type { FloatArray, I32 } from '../kernels.js';

/** log Σ exp(logits[o .. o+vocab)), max-subtracted, in float64. */
function logSumExp(logits: FloatArray, o: number, vocab: number): number {
  let max = -Infinity;
  for (let j = 0; j < vocab; j++) if (logits[o + j] > max) max = logits[o + j];
  let s = 0;
  for (let j = 0; j < vocab; j++) s += Math.exp(logits[o + j] - max);
  return max + Math.log(s);
}

/** targets[i], or a RangeError when it is >= vocab (negative targets mean "ignore"). */
function target(op: string, targets: I32, i: number, vocab: number): number {
  const t = targets[i];
  if (!(t < vocab)) throw new RangeError(`${op}: target ${t} at row ${i} is out of range [0, ${vocab})`);
  return t;
}

function checkTargets(op: string, targets: I32, rows: number, vocab: number): void {
  for (let i = 0; i < rows; i++) target(op, targets, i, vocab);
}

/**
 * losses[i] = -log softmax(logits[i])[targets[i]] (0 for ignored rows, targets[i] < 0);
 * dlogits[i] = gradScale·(softmax(logits[i]) - onehot(targets[i])), 0 for ignored rows.
 * dlogits may be logits itself. Returns the number of rows not ignored.
 */
export function crossEntropyForwardBackward(logits: FloatArray, targets: I32, losses: FloatArray,
  dlogits: FloatArray | null, rows: number, vocab: number, gradScale: number): number {
  checkTargets('crossEntropyForwardBackward', targets, rows, vocab);
  let count = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * vocab;
    const t = targets[i];
    if (t < 0) {
      losses[i] = 0;
      if (dlogits) for (let j = 0; j < vocab; j++) dlogits[o + j] = 0;
      continue;
    }
    count++;
    const lse = logSumExp(logits, o, vocab);
    losses[i] = lse - logits[o + t];
    if (dlogits) {
      // Each logit is read before its gradient overwrites it, so dlogits may alias logits.
      for (let j = 0; j < vocab; j++) dlogits[o + j] = gradScale * Math.exp(logits[o + j] - lse);
      dlogits[o + t] -= gradScale;
    }
  }
  return count;
}

/** logp[i] = log softmax(logits[i])[targets[i]] (0 where targets[i] < 0). */
export function logprobForward(logits: FloatArray, targets: I32, logp: FloatArray, rows: number, vocab: number): void {
  checkTargets('logprobForward', targets, rows, vocab);
  for (let i = 0; i < rows; i++) {
    const t = targets[i];
    logp[i] = t < 0 ? 0 : logits[i * vocab + t] - logSumExp(logits, i * vocab, vocab);
  }
}

/** dlogits[i] += dlogp[i]·(onehot(targets[i]) - softmax(logits[i])); ignored rows add nothing. */
export function logprobBackward(logits: FloatArray, targets: I32, dlogp: FloatArray, dlogits: FloatArray, rows: number,
  vocab: number): void {
  checkTargets('logprobBackward', targets, rows, vocab);
  for (let i = 0; i < rows; i++) {
    const t = targets[i];
    if (t < 0) continue;
    const o = i * vocab;
    const lse = logSumExp(logits, o, vocab);
    const g = dlogp[i];
    for (let j = 0; j < vocab; j++) dlogits[o + j] -= g * Math.exp(logits[o + j] - lse);
    dlogits[o + t] += g;
  }
}
