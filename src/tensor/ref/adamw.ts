/** AdamW optimizer step (reference kernel). */
import type { FloatArray } from '../kernels.js';

/**
 * One fused AdamW step over n parameters, with decoupled weight decay (the decay term
 * uses the parameter before this step's update, as torch.optim.AdamW does):
 *   g = gradScale·grad;  m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
 *   p -= lr · (m/(1-β1^step) / (sqrt(v/(1-β2^step)) + eps) + weightDecay·p)
 * step counts from 1.
 */
export function adamw(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, n: number, lr: number,
  beta1: number, beta2: number, eps: number, weightDecay: number, step: number, gradScale: number): void {
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`adamw: step must be an integer >= 1, got ${step}`);
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * gradScale;
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const p = param[i];
    param[i] = p - lr * (mi / bc1 / (Math.sqrt(vi / bc2) + eps) + weightDecay * p);
  }
}
