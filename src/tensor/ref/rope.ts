/**
 * Rotary position embedding, Hugging Face "rotate_half" layout (reference kernels).
 * Within a head of headDim values, element i pairs with i + headDim/2 and the pair is
 * rotated by angle pos·invFreq[i]:
 *   out[i]        = x[i]·cos - x[i + half]·sin
 *   out[i + half] = x[i + half]·cos + x[i]·sin
 * The first `rotHeads` heads of each row are rotated, the rest of the row is copied,
 * so one call can rotate the q and k heads of a packed qkv row and pass v through.
 * Row r sits at position posOffset + r % seq, or posOffset + positions[r] with position ids.
 */
import type { FloatArray, I32 } from '../kernels.js';

/**
 * cos/sin tables (maxPos × headDim/2) for rope, computed as Hugging Face Llama does:
 * invFreq[i] = 1 / theta^(2i/headDim) and angle = pos·invFreq[i], both rounded to
 * float32 like torch's float32 arithmetic, so imported checkpoints see the same angles
 * they were trained with (at large positions the float32 angle differs from the exact
 * one by more than float32 cos resolution).
 */
export function ropeTables(maxPos: number, headDim: number, theta: number): { cos: Float32Array; sin: Float32Array } {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) {
    throw new RangeError(`ropeTables: headDim must be a positive even integer, got ${headDim}`);
  }
  if (!Number.isInteger(maxPos) || maxPos < 0) {
    throw new RangeError(`ropeTables: maxPos must be a non-negative integer, got ${maxPos}`);
  }
  if (!(theta > 0)) throw new RangeError(`ropeTables: theta must be positive, got ${theta}`);
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    // torch: 1.0 / (theta ** (arange(0, headDim, 2).float() / headDim)), all float32.
    const exponent = Math.fround((2 * i) / headDim);
    invFreq[i] = 1 / Math.fround(theta ** exponent);
  }
  const cos = new Float32Array(maxPos * half);
  const sin = new Float32Array(maxPos * half);
  for (let p = 0; p < maxPos; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(p * invFreq[i]);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** Throws unless the rope arguments describe rows and tables that fit together. */
function checkRope(op: string, cos: FloatArray, sin: FloatArray, rows: number, seq: number, rowWidth: number,
  rotHeads: number, headDim: number, posOffset: number, positions: I32 | null): void {
  if (rotHeads > 0 && (headDim <= 0 || headDim % 2 !== 0)) {
    throw new RangeError(`${op}: headDim must be a positive even number, got ${headDim}`);
  }
  if (rotHeads * headDim > rowWidth) {
    throw new RangeError(`${op}: ${rotHeads} heads of ${headDim} do not fit in a row of ${rowWidth}`);
  }
  if (rows > 0 && seq < 1) throw new RangeError(`${op}: seq must be >= 1, got ${seq}`);
  let maxId = Math.min(seq, rows) - 1;
  if (positions !== null) {
    if (positions.length < rows) throw new RangeError(`${op}: positions has ${positions.length} elements, needs ${rows}`);
    maxId = -1;
    for (let r = 0; r < rows; r++) {
      const p = positions[r];
      if (p < 0) throw new RangeError(`${op}: position id ${p} at row ${r} is negative`);
      if (p > maxId) maxId = p;
    }
  }
  if (rows > 0 && rotHeads > 0) {
    const lastPos = posOffset + maxId;
    const need = (lastPos + 1) * (headDim / 2);
    if (cos.length < need || sin.length < need) {
      throw new RangeError(`${op}: position ${lastPos} needs cos/sin tables of ${need} elements, ` +
        `got ${Math.min(cos.length, sin.length)}`);
    }
  }
}

/** out = R(θ)·x on the rotated heads, out = x on the rest of each row. out may be x. */
export function ropeForward(x: FloatArray, out: FloatArray, cos: FloatArray, sin: FloatArray, rows: number,
  seq: number, rowWidth: number, rotHeads: number, headDim: number, posOffset: number,
  positions: I32 | null = null): void {
  checkRope('ropeForward', cos, sin, rows, seq, rowWidth, rotHeads, headDim, posOffset, positions);
  const half = headDim / 2;
  for (let r = 0; r < rows; r++) {
    const t = (posOffset + (positions === null ? r % seq : positions[r])) * half;
    const row = r * rowWidth;
    for (let h = 0; h < rotHeads; h++) {
      const o = row + h * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i];
        const s = sin[t + i];
        const x1 = x[o + i];
        const x2 = x[o + i + half];
        out[o + i] = x1 * c - x2 * s;
        out[o + i + half] = x2 * c + x1 * s;
      }
    }
    for (let j = rotHeads * headDim; j < rowWidth; j++) out[row + j] = x[row + j];
  }
}

/** dx += R(-θ)·dout on the rotated heads (the transpose of the rotation), dx += dout on the rest. */
export function ropeBackward(dout: FloatArray, dx: FloatArray, cos: FloatArray, sin: FloatArray, rows: number,
  seq: number, rowWidth: number, rotHeads: number, headDim: number, posOffset: number,
  positions: I32 | null = null): void {
  checkRope('ropeBackward', cos, sin, rows, seq, rowWidth, rotHeads, headDim, posOffset, positions);
  const half = headDim / 2;
  for (let r = 0; r < rows; r++) {
    const t = (posOffset + (positions === null ? r % seq : positions[r])) * half;
    const row = r * rowWidth;
    for (let h = 0; h < rotHeads; h++) {
      const o = row + h * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i];
        const s = sin[t + i];
        const d1 = dout[o + i];
        const d2 = dout[o + i + half];
        dx[o + i] += d1 * c + d2 * s;
        dx[o + i + half] += d2 * c - d1 * s;
      }
    }
    for (let j = rotHeads * headDim; j < rowWidth; j++) dx[row + j] += dout[row + j];
  }
}
