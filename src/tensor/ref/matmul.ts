/**
 * Reference matmul: the readable specification of `Kernels.matmul` (see ../kernels.ts).
 *
 *   C[b] (m×n) = op(A[b]) · op(B[b])  (+ C[b] when accumulate),  b < batch
 *
 * op(A) is m×k: A is stored m×k row-major, or k×m when transA.
 * op(B) is k×n: B is stored k×n row-major, or n×k when transB.
 * Batches are contiguous with strides m·k (A), k·n (B) and m·n (C).
 *
 * Without accumulate C is overwritten: its old contents (even NaN) never reach the
 * result. With k = 0 the product is all zeros. Sums are formed in JS numbers (float64)
 * and rounded once on store, so this is at least as accurate as any native kernel.
 */
import type { FloatArray } from '../kernels.js';

export function matmul(
  a: FloatArray, b: FloatArray, c: FloatArray,
  batch: number, m: number, n: number, k: number,
  transA: boolean, transB: boolean, accumulate: boolean,
): void {
  checkSize('batch', batch);
  checkSize('m', m);
  checkSize('n', n);
  checkSize('k', k);
  checkLength('a', a, batch * m * k);
  checkLength('b', b, batch * k * n);
  checkLength('c', c, batch * m * n);

  // Element (row, col) of op(A) / op(B) sits at these strides from the matrix start.
  const aRow = transA ? 1 : k, aCol = transA ? m : 1;
  const bRow = transB ? 1 : n, bCol = transB ? k : 1;

  for (let bi = 0; bi < batch; bi++) {
    const a0 = bi * m * k, b0 = bi * k * n, c0 = bi * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          sum += a[a0 + i * aRow + p * aCol] * b[b0 + p * bRow + j * bCol];
        }
        const at = c0 + i * n + j;
        c[at] = accumulate ? c[at] + sum : sum;
      }
    }
  }
}

function checkSize(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`matmul: ${name} must be a non-negative integer, got ${v}`);
}

function checkLength(name: string, arr: FloatArray, need: number): void {
  if (!(arr instanceof Float32Array || arr instanceof Float64Array)) {
    throw new TypeError(`matmul: ${name} must be a Float32Array or Float64Array`);
  }
  if (arr.length < need) throw new RangeError(`matmul: ${name} has ${arr.length} elements, needs ${need}`);
}
