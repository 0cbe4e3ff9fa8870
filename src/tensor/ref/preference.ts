/**
 * Reference kernels of the preference stages (DPO, IPO, reward models). None is a hot
 * path — each touches one number per sequence or per token, next to a forward pass of
 * the whole model — so they have no native twin.
 */
import type { FloatArray, I32 } from '../kernels.js';

/** out[s] = Σ x[i] over i with seg[i] = s (seg[i] < 0: ignored); out is overwritten. */
export function segmentSumForward(x: FloatArray, seg: I32, out: FloatArray, n: number, segments: number): void {
  out.fill(0, 0, segments);
  for (let i = 0; i < n; i++) {
    const s = seg[i];
    if (s < 0) continue;
    if (s >= segments) throw new RangeError(`segmentSum: segment ${s} at ${i} is out of range [0, ${segments})`);
    out[s] += x[i];
  }
}

/** dx[i] += dout[seg[i]] where seg[i] ≥ 0. */
export function segmentSumBackward(dout: FloatArray, seg: I32, dx: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) if (seg[i] >= 0) dx[i] += dout[seg[i]];
}

/** log σ(z), stable for any z. */
function logSigmoid(z: number): number {
  return z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
}

/** σ(z), stable for any z. */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * Preference losses of `pairs` pairs, scores interleaved (chosen, rejected) per pair:
 * scores (2·pairs), ref (2·pairs) the same for the reference model, and
 *   h = (scores[2p] - ref[2p]) - (scores[2p+1] - ref[2p+1])   (the log-ratio margin)
 *   kind 0, sigmoid (DPO, Rafailov et al. 2023; Bradley–Terry with β = 1, ref = 0):
 *           loss[p] = -log σ(β·h)
 *   kind 1, IPO (Azar et al. 2023, eq. 17):   loss[p] = (h - 1/(2β))²
 * dscores (when not null) += gradScale · ∂loss[p]/∂scores, the reference is a constant.
 * Computed in float64.
 */
export function preferenceLoss(scores: FloatArray, ref: FloatArray, losses: FloatArray, dscores: FloatArray | null,
  pairs: number, beta: number, kind: number, gradScale: number): void {
  for (let p = 0; p < pairs; p++) {
    const h = scores[2 * p] - ref[2 * p] - (scores[2 * p + 1] - ref[2 * p + 1]);
    let dh: number;
    if (kind === 0) {
      losses[p] = -logSigmoid(beta * h);
      dh = -beta * sigmoid(-beta * h);
    } else if (kind === 1) {
      const d = h - 1 / (2 * beta);
      losses[p] = d * d;
      dh = 2 * d;
    } else {
      throw new RangeError(`preferenceLoss: kind ${kind} is not 0 (sigmoid) or 1 (ipo)`);
    }
    if (dscores !== null) {
      dscores[2 * p] += gradScale * dh;
      dscores[2 * p + 1] -= gradScale * dh;
    }
  }
}

/** out[s] = h[rows[s], :] · w for s < n: a scalar head on chosen rows of h (N, dim). */
export function rowDotForward(h: FloatArray, rows: I32, w: FloatArray, out: FloatArray, n: number, dim: number): void {
  for (let s = 0; s < n; s++) {
    const o = rows[s] * dim;
    let acc = 0;
    for (let j = 0; j < dim; j++) acc += h[o + j] * w[j];
    out[s] = acc;
  }
}

/** dh[rows[s], :] += dout[s]·w and dw += dout[s]·h[rows[s], :] (either may be null). */
export function rowDotBackward(h: FloatArray, rows: I32, w: FloatArray, dout: FloatArray, dh: FloatArray | null,
  dw: FloatArray | null, n: number, dim: number): void {
  for (let s = 0; s < n; s++) {
    const o = rows[s] * dim;
    const d = dout[s];
    if (dh !== null) for (let j = 0; j < dim; j++) dh[o + j] += d * w[j];
    if (dw !== null) for (let j = 0; j < dim; j++) dw[j] += d * h[o + j];
  }
}
