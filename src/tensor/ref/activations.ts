/** Pointwise activations and their gradients (reference kernels). */
import type { FloatArray } from '../kernels.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** GELU, tanh approximation (GPT-2's gelu_new): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export function geluForward(x: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    out[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v)));
  }
}

/** dx += dout · gelu'(x). */
export function geluBackward(x: FloatArray, dout: FloatArray, dx: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const t = Math.tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
    const du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * v * v);
    dx[i] += dout[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
  }
}

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

/** SiLU: x · sigmoid(x). */
export function siluForward(x: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i] * sigmoid(x[i]);
}

/** dx += dout · σ(x)·(1 + x·(1 - σ(x))). */
export function siluBackward(x: FloatArray, dout: FloatArray, dx: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = sigmoid(x[i]);
    dx[i] += dout[i] * s * (1 + x[i] * (1 - s));
  }
}

/** SwiGLU: out = silu(gate) · up. */
export function swigluForward(gate: FloatArray, up: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

/** dgate += dout · up · silu'(gate),  dup += dout · silu(gate). */
export function swigluBackward(gate: FloatArray, up: FloatArray, dout: FloatArray, dgate: FloatArray, dup: FloatArray,
  n: number): void {
  for (let i = 0; i < n; i++) {
    const g = gate[i];
    const s = sigmoid(g);
    dgate[i] += dout[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] += dout[i] * g * s;
  }
}
