/** Elementwise kernels and reductions (reference kernels). Outputs may alias inputs. */
import type { FloatArray } from '../kernels.js';

/** out = a + b. */
export function add(a: FloatArray, b: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/** out = a · b. */
export function mul(a: FloatArray, b: FloatArray, out: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] * b[i];
}

/** da += dout · b, db += dout · a. */
export function mulBackward(a: FloatArray, b: FloatArray, dout: FloatArray, da: FloatArray, db: FloatArray,
  n: number): void {
  for (let i = 0; i < n; i++) {
    const ai = a[i];
    const bi = b[i];
    da[i] += dout[i] * bi;
    db[i] += dout[i] * ai;
  }
}

/** dst += alpha · src. */
export function axpy(dst: FloatArray, src: FloatArray, alpha: number, n: number): void {
  for (let i = 0; i < n; i++) dst[i] += alpha * src[i];
}

/** x *= alpha. */
export function scaleInPlace(x: FloatArray, alpha: number, n: number): void {
  for (let i = 0; i < n; i++) x[i] *= alpha;
}

/** x[r, :] += bias for each of `rows` rows of width dim. */
export function addBias(x: FloatArray, bias: FloatArray, rows: number, dim: number): void {
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) x[r * dim + j] += bias[j];
  }
}

/** dbias += Σ_rows dout[r, :], summed in float64 and added once. */
export function biasBackward(dout: FloatArray, dbias: FloatArray, rows: number, dim: number): void {
  const acc = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dim; j++) acc[j] += dout[r * dim + j];
  }
  for (let j = 0; j < dim; j++) dbias[j] += acc[j];
}

/** Σ x[i], accumulated in float64. */
export function sum(x: FloatArray, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i];
  return s;
}

/** Σ x[i]², accumulated in float64. */
export function sumSquares(x: FloatArray, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += x[i] * x[i];
  return s;
}
