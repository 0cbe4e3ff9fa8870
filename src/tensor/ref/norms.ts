/**
 * LayerNorm and RMSNorm over the last dimension (reference kernels). Row statistics
 * are computed in float64 (two passes for the variance), and the per-row mean/rstd
 * the forward saves are what the backward reads.
 */
import type { FloatArray } from '../kernels.js';

/**
 * out = (x - mean) · rstd · weight + bias, rstd = 1/sqrt(var + eps) with the biased
 * variance (as torch.nn.LayerNorm). Saves mean and rstd per row; bias may be null.
 */
export function layernormForward(x: FloatArray, weight: FloatArray, bias: FloatArray | null, out: FloatArray,
  mean: FloatArray, rstd: FloatArray, rows: number, dim: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let s = 0;
    for (let j = 0; j < dim; j++) s += x[o + j];
    const mu = s / dim;
    let ss = 0;
    for (let j = 0; j < dim; j++) {
      const d = x[o + j] - mu;
      ss += d * d;
    }
    const rs = 1 / Math.sqrt(ss / dim + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let j = 0; j < dim; j++) {
      out[o + j] = (x[o + j] - mu) * rs * weight[j] + (bias ? bias[j] : 0);
    }
  }
}

/**
 * With xhat = (x - mean)·rstd and g = dout·weight:
 *   dx += rstd · (g - mean(g) - xhat · mean(g · xhat)),
 *   dweight += Σ_rows dout · xhat,  dbias += Σ_rows dout (dbias may be null).
 */
export function layernormBackward(dout: FloatArray, x: FloatArray, weight: FloatArray, mean: FloatArray,
  rstd: FloatArray, dx: FloatArray, dweight: FloatArray, dbias: FloatArray | null, rows: number,
  dim: number): void {
  // Column sums over many rows: accumulate in float64, add to the outputs once.
  const dw = new Float64Array(dim);
  const db = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const mu = mean[r];
    const rs = rstd[r];
    let sumG = 0;
    let sumGX = 0;
    for (let j = 0; j < dim; j++) {
      const xhat = (x[o + j] - mu) * rs;
      const g = dout[o + j] * weight[j];
      sumG += g;
      sumGX += g * xhat;
    }
    const meanG = sumG / dim;
    const meanGX = sumGX / dim;
    for (let j = 0; j < dim; j++) {
      const xhat = (x[o + j] - mu) * rs;
      const g = dout[o + j] * weight[j];
      dx[o + j] += rs * (g - meanG - xhat * meanGX);
      dw[j] += dout[o + j] * xhat;
      db[j] += dout[o + j];
    }
  }
  for (let j = 0; j < dim; j++) {
    dweight[j] += dw[j];
    if (dbias) dbias[j] += db[j];
  }
}

/** out = x · rstd · weight, rstd = 1/sqrt(mean(x²) + eps) saved per row. */
export function rmsnormForward(x: FloatArray, weight: FloatArray, out: FloatArray, rstd: FloatArray, rows: number,
  dim: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    let ss = 0;
    for (let j = 0; j < dim; j++) ss += x[o + j] * x[o + j];
    const rs = 1 / Math.sqrt(ss / dim + eps);
    rstd[r] = rs;
    for (let j = 0; j < dim; j++) out[o + j] = x[o + j] * rs * weight[j];
  }
}

/**
 * With xhat = x·rstd and g = dout·weight:
 *   dx += rstd · (g - xhat · mean(g · xhat)),  dweight += Σ_rows dout · xhat.
 */
export function rmsnormBackward(dout: FloatArray, x: FloatArray, weight: FloatArray, rstd: FloatArray,
  dx: FloatArray, dweight: FloatArray, rows: number, dim: number): void {
  const dw = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    const rs = rstd[r];
    let sumGX = 0;
    for (let j = 0; j < dim; j++) sumGX += dout[o + j] * weight[j] * x[o + j] * rs;
    const meanGX = sumGX / dim;
    for (let j = 0; j < dim; j++) {
      const xhat = x[o + j] * rs;
      dx[o + j] += rs * (dout[o + j] * weight[j] - xhat * meanGX);
      dw[j] += dout[o + j] * xhat;
    }
  }
  for (let j = 0; j < dim; j++) dweight[j] += dw[j];
}
