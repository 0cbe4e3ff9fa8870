/**
 * AdamW over a ParameterStore: one fused kernel call per parameter group (weight
 * decay on matrices only), with global-norm clipping folded into the same pass.
 */
import { kernels } from '../tensor/registry.js';
import type { ParameterStore } from '../nn/parameters.js';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

interface GroupViews {
  param: Float32Array;
  grad: Float32Array;
  m: Float32Array;
  v: Float32Array;
  decay: boolean;
}

export class AdamW {
  /** First and second moments of every trainable parameter (flat, store order). */
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Steps taken; bias correction uses it. */
  stepCount = 0;
  private readonly groups: GroupViews[];
  private readonly trainableGrad: Float32Array;

  constructor(readonly store: ParameterStore, readonly options: AdamWOptions = ADAMW_DEFAULTS) {
    const [decayStart, decayEnd] = store.ranges.get('decay') ?? [0, 0];
    const [noDecayStart, noDecayEnd] = store.ranges.get('noDecay') ?? [decayEnd, decayEnd];
    // Trainable groups are the prefix [0, noDecayEnd) of the store; frozen ones follow.
    this.m = new Float32Array(noDecayEnd);
    this.v = new Float32Array(noDecayEnd);
    this.trainableGrad = store.grad.subarray(0, noDecayEnd);
    const views = (a: number, b: number, decay: boolean): GroupViews => ({
      param: store.data.subarray(a, b), grad: store.grad.subarray(a, b), m: this.m.subarray(a, b), v: this.v.subarray(a, b), decay,
    });
    this.groups = [views(decayStart, decayEnd, true), views(noDecayStart, noDecayEnd, false)].filter((g) => g.param.length > 0);
  }

  /** Global L2 norm of all trainable gradients. */
  gradNorm(): number {
    return Math.sqrt(kernels().sumSquares(this.trainableGrad, this.trainableGrad.length));
  }

  /**
   * One update at learning rate lr. gradScale multiplies every gradient first (clipping,
   * or 1/accumulation steps).
   */
  step(lr: number, gradScale = 1): void {
    this.stepCount++;
    const { beta1, beta2, eps, weightDecay } = this.options;
    const K = kernels();
    for (const g of this.groups) {
      K.adamw(g.param, g.grad, g.m, g.v, g.param.length, lr, beta1, beta2, eps, g.decay ? weightDecay : 0, this.stepCount, gradScale);
    }
  }

  zeroGrad(): void {
    this.store.zeroGrad();
  }
}

/**
 * The factor that brings the gradient's global norm down to maxNorm (1 when already
 * below it). Returned instead of applied, so AdamW folds it into its single pass.
 */
export function clipFactor(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) return 1;
  return norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
}
