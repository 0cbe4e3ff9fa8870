/**
 * Differentiable ops. Each runs one forward kernel and records one hand-written
 * backward closure on the active graph's tape. Backward kernels accumulate, so a
 * tensor used twice (a residual stream) simply receives both contributions.
 */
import { Tensor, shapeString } from '../tensor/tensor.js';
import { kernels } from '../tensor/registry.js';
import { graph } from './graph.js';
import { ShapeError, checkSameSize, checkShape, checkPositiveInt, lastDim, rows } from './check.js';
import { checkSegStart } from '../tensor/ref/attention.js';
import type { Kernels } from '../tensor/kernels.js';

function needsGrad(...ts: Array<Tensor | null>): boolean {
  return graph().recording && ts.some((t) => t !== null && t.requiresGrad);
}

/**
 * A low-rank adapter on a linear layer (LoRA): y[:, col : col + out] += scale · (drop(x)·Aᵀ)·Bᵀ,
 * A (r, in), B (out, r). Dropout (probability `dropout`, on the adapter's input only) runs
 * while recording; its mask is a hash of (seed, element), so backward regenerates it
 * instead of storing an (N, in) mask.
 */
export interface LoraTerm {
  a: Tensor;
  b: Tensor;
  scale: number;
  col: number;
  dropout: number;
  seed: number;
}

/** Uniform 32-bit hash of (seed, i): the dropout mask's coin (murmur3's finalizer). */
export function dropHash(seed: number, i: number): number {
  let h = Math.imul(i ^ seed, 0x9e3779b1) ^ seed;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The dropout mask of one adapter call: mask[i] = 1 keeps element i of the (rows, width)
 * input. Each row has its own xorshift32 stream seeded by dropHash(seed, row), and each
 * 32-bit draw decides two elements by its 16-bit halves (p is rounded to 1/65536): cheap
 * enough to regenerate in backward rather than keep an (N, in) mask between the passes.
 */
export function dropoutMask(seed: number, rows: number, width: number, p: number, mask: Uint8Array): void {
  const cut = Math.round(p * 65536);
  for (let r = 0; r < rows; r++) {
    let s = dropHash(seed, r) | 1;
    const base = r * width;
    for (let j = 0; j < width; j += 2) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      mask[base + j] = (s & 0xffff) < cut ? 0 : 1;
      if (j + 1 < width) mask[base + j + 1] = (s >>> 16) < cut ? 0 : 1;
    }
  }
}

/** out = mask ⊙ x / (1 - p), or out += that. */
function applyMask(x: Float32Array, mask: Uint8Array, out: Float32Array, n: number, p: number, accumulate: boolean): void {
  const keep = 1 / (1 - p);
  if (accumulate) {
    for (let i = 0; i < n; i++) if (mask[i] !== 0) out[i] += x[i] * keep;
  } else {
    for (let i = 0; i < n; i++) out[i] = mask[i] !== 0 ? x[i] * keep : 0;
  }
}

let maskScratch = new Uint8Array(0);
function maskFor(seed: number, rows: number, width: number, p: number): Uint8Array {
  if (maskScratch.length < rows * width) maskScratch = new Uint8Array(rows * width);
  const mask = maskScratch.subarray(0, rows * width);
  dropoutMask(seed, rows, width, p, mask);
  return mask;
}

// Transient work buffers of the adapter math (dropped inputs, output slices): reused by every
// call, never kept between forward and backward, so what an adapter stores is its (N, r) only.
const scratchPool = new Map<string, Float32Array>();
function scratch(key: string, n: number): Float32Array {
  let buf = scratchPool.get(key);
  if (buf === undefined || buf.length < n) {
    buf = new Float32Array(n);
    scratchPool.set(key, buf);
  }
  return buf.subarray(0, n);
}

function checkLora(op: string, t: LoraTerm, nIn: number, nOut: number): void {
  if (t.a.shape.length !== 2 || t.a.shape[1] !== nIn) throw new ShapeError(op, `lora A must be (r, ${nIn}), got ${shapeString(t.a.shape)}`);
  const r = t.a.shape[0];
  if (t.b.shape.length !== 2 || t.b.shape[1] !== r) throw new ShapeError(op, `lora B must be (out, ${r}), got ${shapeString(t.b.shape)}`);
  if (t.col < 0 || t.col + t.b.shape[0] > nOut) throw new ShapeError(op, `lora B rows ${t.col}..${t.col + t.b.shape[0]} exceed the output width ${nOut}`);
  if (!(t.dropout >= 0 && t.dropout < 1)) throw new RangeError(`${op}: lora dropout must be in [0, 1), got ${t.dropout}`);
}

/**
 * Adds every adapter's term to `out` (n, nOut) for input x (n, nIn). `saved[i]` receives
 * scale·drop(x)·Aᵀ (n, r) of term i when given (training: backward reads it); dropout only
 * when `train`. The inference engine calls this too, so adapters run the same code there.
 */
export function loraForward(
  K: Kernels, x: Float32Array, n: number, nIn: number, out: Float32Array, nOut: number,
  terms: readonly LoraTerm[], train: boolean, saved: Float32Array[] | null = null,
): void {
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i];
    const r = t.a.shape[0];
    const o = t.b.shape[0];
    let src = x;
    if (train && t.dropout > 0) {
      src = scratch('lora.in', n * nIn);
      applyMask(x, maskFor(t.seed, n, nIn, t.dropout), src, n * nIn, t.dropout, false);
    }
    const u = saved?.[i] ?? scratch('lora.u', n * r); // (n, r)
    K.matmul(src, t.a.data, u, 1, n, r, nIn, false, true, false);
    for (let j = 0; j < n * r; j++) u[j] *= t.scale;
    if (t.col === 0 && o === nOut) {
      K.matmul(u, t.b.data, out, 1, n, o, r, false, true, true); // out += u·Bᵀ
      continue;
    }
    const part = scratch('lora.part', n * o); // (n, o), added into columns col .. col+o
    K.matmul(u, t.b.data, part, 1, n, o, r, false, true, false);
    for (let row = 0; row < n; row++) {
      const dst = row * nOut + t.col;
      for (let j = 0; j < o; j++) out[dst + j] += part[row * o + j];
    }
  }
}

/** y = x · Wᵀ + b (+ LoRA terms), with W stored (out, in) like torch.nn.Linear. x is (..., in). */
export function linear(x: Tensor, w: Tensor, b: Tensor | null = null, lora: readonly LoraTerm[] = []): Tensor {
  const op = 'linear';
  if (w.shape.length !== 2) throw new ShapeError(op, `weight must be 2-D (out, in), got ${shapeString(w.shape)}`);
  const [nOut, nIn] = w.shape;
  if (lastDim(x) !== nIn) {
    throw new ShapeError(op, `input ${shapeString(x.shape)} does not match weight ${shapeString(w.shape)} (expected last dim ${nIn})`);
  }
  if (b !== null) checkShape(op, 'bias', b, [nOut]);
  for (const t of lora) checkLora(op, t, nIn, nOut);
  const n = rows(x);
  const g = graph();
  const K = kernels();
  const adapted = lora.filter((t) => t.a.requiresGrad || t.b.requiresGrad);
  const out = g.tensor([...x.shape.slice(0, -1), nOut], needsGrad(x, w, b) || (g.recording && adapted.length > 0));
  K.matmul(x.data, w.data, out.data, 1, n, nOut, nIn, false, true, false); // (N, in)·(out, in)ᵀ
  if (b !== null) K.addBias(out.data, b.data, n, nOut);
  const saved = out.requiresGrad ? lora.map((t) => g.activations.alloc(n * t.a.shape[0])) : null; // (N, r) each
  if (lora.length > 0) loraForward(K, x.data, n, nIn, out.data, nOut, lora, g.recording, saved);
  if (out.requiresGrad) {
    g.push(() => {
      const dy = out.grad;
      if (dy === null) return;
      if (x.requiresGrad) K.matmul(dy, w.data, g.gradOf(x), 1, n, nIn, nOut, false, false, true); // dx += dy·W
      if (w.requiresGrad) K.matmul(dy, x.data, g.gradOf(w), 1, nOut, nIn, n, true, false, true); // dW += dyᵀ·x
      if (b !== null && b.requiresGrad) K.biasBackward(dy, g.gradOf(b), n, nOut);
      for (let i = 0; i < lora.length; i++) loraBackward(K, g, x, n, nIn, dy, nOut, lora[i], (saved as Float32Array[])[i]);
    });
  }
  return out;
}

function loraBackward(
  K: Kernels, g: ReturnType<typeof graph>, x: Tensor, n: number, nIn: number, dy: Float32Array, nOut: number, t: LoraTerm, u: Float32Array,
): void {
  const r = t.a.shape[0];
  const o = t.b.shape[0];
  let dys = dy; // (n, o): this adapter's columns of dy
  if (!(t.col === 0 && o === nOut)) {
    dys = scratch('lora.part', n * o);
    for (let row = 0; row < n; row++) dys.set(dy.subarray(row * nOut + t.col, row * nOut + t.col + o), row * o);
  }
  if (t.b.requiresGrad) K.matmul(dys, u, g.gradOf(t.b), 1, o, r, n, true, false, true); // dB += dyᵀ·u
  const du = scratch('lora.du', n * r); // (n, r) = scale · dy·B
  K.matmul(dys, t.b.data, du, 1, n, r, o, false, false, false);
  for (let j = 0; j < n * r; j++) du[j] *= t.scale;
  const mask = t.dropout > 0 ? maskFor(t.seed, n, nIn, t.dropout) : null; // regenerated once for dA and dx
  if (t.a.requiresGrad) {
    let src = x.data;
    if (mask !== null) {
      src = scratch('lora.in', n * nIn);
      applyMask(x.data, mask, src, n * nIn, t.dropout, false);
    }
    K.matmul(du, src, g.gradOf(t.a), 1, r, nIn, n, true, false, true); // dA += duᵀ·drop(x)
  }
  if (!x.requiresGrad) return;
  if (mask === null) {
    K.matmul(du, t.a.data, g.gradOf(x), 1, n, nIn, r, false, false, true); // dx += du·A
    return;
  }
  const dxd = scratch('lora.in', n * nIn); // d drop(x), then through the same mask
  K.matmul(du, t.a.data, dxd, 1, n, nIn, r, false, false, false);
  applyMask(dxd, mask, g.gradOf(x), n * nIn, t.dropout, true);
}

/**
 * Batched matrix product of 2-D or 3-D tensors: (…, m, k)·(…, k, n), or with
 * transB (…, m, k)·(…, n, k)ᵀ. Both operands must have the same batch size.
 */
export function matmul(a: Tensor, b: Tensor, transB = false): Tensor {
  const op = 'matmul';
  if (a.shape.length < 2 || a.shape.length > 3 || b.shape.length !== a.shape.length) {
    throw new ShapeError(op, `expected two 2-D or two 3-D tensors, got ${shapeString(a.shape)} and ${shapeString(b.shape)}`);
  }
  const batch = a.shape.length === 3 ? a.shape[0] : 1;
  const [m, k] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const [kb, n] = transB ? [b1, b0] : [b0, b1];
  if (k !== kb || (a.shape.length === 3 && b.shape[0] !== batch)) {
    throw new ShapeError(op, `shapes ${shapeString(a.shape)} and ${shapeString(b.shape)}${transB ? 'ᵀ' : ''} do not compose`);
  }
  const g = graph();
  const K = kernels();
  const out = g.tensor(a.shape.length === 3 ? [batch, m, n] : [m, n], needsGrad(a, b));
  K.matmul(a.data, b.data, out.data, batch, m, n, k, false, transB, false);
  if (out.requiresGrad) {
    g.push(() => {
      const dc = out.grad;
      if (dc === null) return;
      // C = A·B:  dA += dC·Bᵀ, dB += Aᵀ·dC.   C = A·Bᵀ:  dA += dC·B, dB += dCᵀ·A.
      if (a.requiresGrad) K.matmul(dc, b.data, g.gradOf(a), batch, m, k, n, false, !transB, true);
      if (b.requiresGrad) {
        if (transB) K.matmul(dc, a.data, g.gradOf(b), batch, n, k, m, true, false, true);
        else K.matmul(a.data, dc, g.gradOf(b), batch, k, n, m, true, false, true);
      }
    });
  }
  return out;
}

/** Rows of `table` (vocab, dim) picked by ids: (n, dim). */
export function embedding(ids: Int32Array, table: Tensor): Tensor {
  const op = 'embedding';
  if (table.shape.length !== 2) throw new ShapeError(op, `table must be 2-D (vocab, dim), got ${shapeString(table.shape)}`);
  const [vocab, dim] = table.shape;
  const n = ids.length;
  const g = graph();
  const K = kernels();
  const out = g.tensor([n, dim], needsGrad(table));
  K.embeddingForward(ids, table.data, out.data, n, dim, vocab);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad !== null) K.embeddingBackward(ids, out.grad, g.gradOf(table), n, dim, vocab);
    });
  }
  return out;
}

/** Throws unless ids (when given) has n entries, each in [0, limit). */
function checkPositionIds(op: string, ids: Int32Array | null, n: number, limit: number): void {
  if (ids === null) return;
  if (ids.length !== n) throw new ShapeError(op, `${ids.length} position ids for B·T=${n} tokens`);
  for (let i = 0; i < n; i++) {
    if (!(ids[i] >= 0 && ids[i] < limit)) {
      throw new ShapeError(op, `position id ${ids[i]} at token ${i} is outside [0, ${limit})`);
    }
  }
}

/**
 * out[b, t, :] = x[b, t, :] + pos[t, :] for x (B·T, C) and a positions table (maxT, C);
 * with position ids (B·T), token i adds pos[positions[i], :] instead (packed sequences
 * restart their positions inside a row).
 */
export function addPositions(x: Tensor, pos: Tensor, B: number, T: number, positions: Int32Array | null = null): Tensor {
  const op = 'addPositions';
  const C = lastDim(x);
  if (x.size !== B * T * C) throw new ShapeError(op, `input ${shapeString(x.shape)} is not (B·T=${B * T}, C)`);
  if (pos.shape.length !== 2 || pos.shape[1] !== C || (positions === null && pos.shape[0] < T)) {
    throw new ShapeError(op, `positions ${shapeString(pos.shape)} must be (≥${T}, ${C})`);
  }
  checkPositionIds(op, positions, B * T, pos.shape[0]);
  const g = graph();
  const K = kernels();
  const out = g.tensor(x.shape, needsGrad(x, pos));
  if (positions !== null) {
    // A gather of position rows (the embedding kernels), then the residual add in place.
    const n = B * T;
    const maxT = pos.shape[0];
    K.embeddingForward(positions, pos.data, out.data, n, C, maxT);
    K.add(x.data, out.data, out.data, n * C);
    if (out.requiresGrad) {
      g.push(() => {
        const dy = out.grad;
        if (dy === null) return;
        if (x.requiresGrad) K.axpy(g.gradOf(x), dy, 1, x.size);
        if (pos.requiresGrad) K.embeddingBackward(positions, dy, g.gradOf(pos), n, C, maxT);
      });
    }
    return out;
  }
  const block = T * C;
  const posBlock = pos.data.subarray(0, block);
  for (let b = 0; b < B; b++) {
    K.add(x.data.subarray(b * block, (b + 1) * block), posBlock, out.data.subarray(b * block, (b + 1) * block), block);
  }
  if (out.requiresGrad) {
    g.push(() => {
      const dy = out.grad;
      if (dy === null) return;
      if (x.requiresGrad) K.axpy(g.gradOf(x), dy, 1, x.size);
      if (pos.requiresGrad) {
        const dpos = g.gradOf(pos).subarray(0, block);
        for (let b = 0; b < B; b++) K.axpy(dpos, dy.subarray(b * block, (b + 1) * block), 1, block);
      }
    });
  }
  return out;
}

export function add(a: Tensor, b: Tensor): Tensor {
  checkSameSize('add', a, b);
  const g = graph();
  const K = kernels();
  const out = g.tensor(a.shape, needsGrad(a, b));
  K.add(a.data, b.data, out.data, a.size);
  if (out.requiresGrad) {
    g.push(() => {
      const dy = out.grad;
      if (dy === null) return;
      if (a.requiresGrad) K.axpy(g.gradOf(a), dy, 1, a.size);
      if (b.requiresGrad) K.axpy(g.gradOf(b), dy, 1, b.size);
    });
  }
  return out;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  checkSameSize('mul', a, b);
  const g = graph();
  const K = kernels();
  const out = g.tensor(a.shape, needsGrad(a, b));
  K.mul(a.data, b.data, out.data, a.size);
  if (out.requiresGrad) {
    g.push(() => {
      const dy = out.grad;
      if (dy === null) return;
      // The kernel writes both gradients; a frozen side gets a scratch buffer, and so does
      // b in a·a (the kernel's outputs must not alias), whose part is added after.
      const da = a.requiresGrad ? g.gradOf(a) : g.gradients.allocZeroed(a.size);
      const db = b.requiresGrad && b !== a ? g.gradOf(b) : g.gradients.allocZeroed(b.size);
      K.mulBackward(a.data, b.data, dy, da, db, a.size);
      if (b === a && a.requiresGrad) K.axpy(da, db, 1, a.size);
    });
  }
  return out;
}

export function scale(a: Tensor, alpha: number): Tensor {
  const g = graph();
  const K = kernels();
  const out = g.tensor(a.shape, needsGrad(a));
  out.data.set(a.data);
  K.scaleInPlace(out.data, alpha, a.size);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad !== null) K.axpy(g.gradOf(a), out.grad, alpha, a.size);
    });
  }
  return out;
}

/** Sum of all elements: a scalar. */
export function sum(a: Tensor): Tensor {
  return reduce(a, 1);
}

/** Mean of all elements: a scalar. */
export function mean(a: Tensor): Tensor {
  if (a.size === 0) throw new ShapeError('mean', 'mean of an empty tensor');
  return reduce(a, 1 / a.size);
}

function reduce(a: Tensor, factor: number): Tensor {
  const g = graph();
  const K = kernels();
  const out = g.tensor([], needsGrad(a));
  out.data[0] = K.sum(a.data, a.size) * factor;
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad === null) return;
      const da = g.gradOf(a);
      const d = out.grad[0] * factor;
      for (let i = 0; i < da.length; i++) da[i] += d;
    });
  }
  return out;
}

export function layerNorm(x: Tensor, w: Tensor, b: Tensor | null, eps: number): Tensor {
  const C = lastDim(x);
  checkShape('layerNorm', 'weight', w, [C]);
  if (b !== null) checkShape('layerNorm', 'bias', b, [C]);
  const n = rows(x);
  const g = graph();
  const K = kernels();
  const out = g.tensor(x.shape, needsGrad(x, w, b));
  const meanBuf = g.activations.alloc(n);
  const rstd = g.activations.alloc(n);
  K.layernormForward(x.data, w.data, b === null ? null : b.data, out.data, meanBuf, rstd, n, C, eps);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad === null) return;
      // The kernel always writes dx and dweight; frozen inputs get scratch buffers.
      const dx = x.requiresGrad ? g.gradOf(x) : g.gradients.allocZeroed(x.size);
      const dw = w.requiresGrad ? g.gradOf(w) : g.gradients.allocZeroed(C);
      const db = b === null ? null : b.requiresGrad ? g.gradOf(b) : g.gradients.allocZeroed(C);
      K.layernormBackward(out.grad, x.data, w.data, meanBuf, rstd, dx, dw, db, n, C);
    });
  }
  return out;
}

export function rmsNorm(x: Tensor, w: Tensor, eps: number): Tensor {
  const C = lastDim(x);
  checkShape('rmsNorm', 'weight', w, [C]);
  const n = rows(x);
  const g = graph();
  const K = kernels();
  const out = g.tensor(x.shape, needsGrad(x, w));
  const rstd = g.activations.alloc(n);
  K.rmsnormForward(x.data, w.data, out.data, rstd, n, C, eps);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad === null) return;
      const dx = x.requiresGrad ? g.gradOf(x) : g.gradients.allocZeroed(x.size);
      const dw = w.requiresGrad ? g.gradOf(w) : g.gradients.allocZeroed(C);
      K.rmsnormBackward(out.grad, x.data, w.data, rstd, dx, dw, n, C);
    });
  }
  return out;
}

export function gelu(x: Tensor): Tensor {
  const g = graph();
  const K = kernels();
  const out = g.tensor(x.shape, needsGrad(x));
  K.geluForward(x.data, out.data, x.size);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad !== null) K.geluBackward(x.data, out.grad, g.gradOf(x), x.size);
    });
  }
  return out;
}

export function silu(x: Tensor): Tensor {
  const g = graph();
  const K = kernels();
  const out = g.tensor(x.shape, needsGrad(x));
  K.siluForward(x.data, out.data, x.size);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad !== null) K.siluBackward(x.data, out.grad, g.gradOf(x), x.size);
    });
  }
  return out;
}

/** silu(gate) · up, elementwise. */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  checkSameSize('swiglu', gate, up);
  const g = graph();
  const K = kernels();
  const out = g.tensor(gate.shape, needsGrad(gate, up));
  K.swigluForward(gate.data, up.data, out.data, gate.size);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad === null) return;
      const dg = gate.requiresGrad ? g.gradOf(gate) : g.gradients.allocZeroed(gate.size);
      const du = up.requiresGrad ? g.gradOf(up) : g.gradients.allocZeroed(up.size);
      K.swigluBackward(gate.data, up.data, out.grad, dg, du, gate.size);
    });
  }
  return out;
}

export interface RopeTables {
  cos: Float32Array;
  sin: Float32Array;
  maxPos: number;
  headDim: number;
}

/**
 * Rotary embedding on the first `rotHeads` heads of each (B·T) row of width
 * `rowWidth` (the packed qkv rows: q and k heads come first, v is copied). Token t
 * of a row sits at posOffset + t, or at posOffset + positions[i] with position ids
 * (B·T; packed sequences restart at 0 inside a row).
 */
export function rope(x: Tensor, tables: RopeTables, B: number, T: number, rotHeads: number, posOffset = 0,
  positions: Int32Array | null = null): Tensor {
  const op = 'rope';
  const rowWidth = lastDim(x);
  const D = tables.headDim;
  if (x.size !== B * T * rowWidth) throw new ShapeError(op, `input ${shapeString(x.shape)} is not (B·T=${B * T}, width)`);
  if (rotHeads * D > rowWidth) throw new ShapeError(op, `${rotHeads} heads of ${D} do not fit rows of ${rowWidth}`);
  if (positions === null && posOffset + T > tables.maxPos) {
    throw new ShapeError(op, `positions up to ${posOffset + T} exceed the table (${tables.maxPos})`);
  }
  checkPositionIds(op, positions, B * T, tables.maxPos - posOffset);
  const g = graph();
  const K = kernels();
  const out = g.tensor(x.shape, needsGrad(x));
  K.ropeForward(x.data, out.data, tables.cos, tables.sin, B * T, T, rowWidth, rotHeads, D, posOffset, positions);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad === null) return;
      K.ropeBackward(out.grad, g.gradOf(x), tables.cos, tables.sin, B * T, T, rowWidth, rotHeads, D, posOffset, positions);
    });
  }
  return out;
}

/**
 * Causal self-attention over packed qkv (B·T, (H + 2·Hkv)·D) → (B·T, H·D). With segStart
 * (B·T) token t of a row attends only to tokens segStart[i] .. t of that row, so
 * sequences packed into one row do not see each other.
 */
export function causalAttention(qkv: Tensor, B: number, T: number, H: number, Hkv: number, D: number,
  segStart: Int32Array | null = null): Tensor {
  const op = 'causalAttention';
  for (const [name, v] of [['B', B], ['T', T], ['H', H], ['Hkv', Hkv], ['D', D]] as const) checkPositiveInt(op, name, v);
  if (H % Hkv !== 0) throw new ShapeError(op, `n_head (${H}) must be a multiple of n_kv_head (${Hkv})`);
  const width = (H + 2 * Hkv) * D;
  if (qkv.size !== B * T * width) {
    throw new ShapeError(op, `qkv ${shapeString(qkv.shape)} is not (B·T=${B * T}, (H+2·Hkv)·D=${width})`);
  }
  if (segStart !== null && segStart.length !== B * T) throw new ShapeError(op, `${segStart.length} segment starts for B·T=${B * T} tokens`);
  checkSegStart(op, segStart, B, T);
  const g = graph();
  const K = kernels();
  const out = g.tensor([B * T, H * D], needsGrad(qkv));
  const lse = g.activations.alloc(B * H * T);
  const scl = 1 / Math.sqrt(D);
  K.attentionForward(qkv.data, out.data, lse, B, T, H, Hkv, D, scl, segStart);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad === null) return;
      K.attentionBackward(qkv.data, out.data, out.grad, lse, g.gradOf(qkv), B, T, H, Hkv, D, scl, segStart);
    });
  }
  return out;
}

function checkTargets(op: string, targets: Int32Array, n: number, vocab: number): number {
  if (targets.length !== n) throw new ShapeError(op, `${targets.length} targets for ${n} rows`);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const t = targets[i];
    if (t >= vocab) throw new ShapeError(op, `target ${t} at row ${i} is outside the vocabulary (${vocab})`);
    if (t >= 0) count++;
  }
  return count;
}

/** Mean softmax cross-entropy of logits (N, V) over rows whose target is ≥ 0. */
export function crossEntropy(logits: Tensor, targets: Int32Array): Tensor {
  const op = 'crossEntropy';
  const V = lastDim(logits);
  const n = rows(logits);
  const count = checkTargets(op, targets, n, V);
  const g = graph();
  const K = kernels();
  const out = g.tensor([], needsGrad(logits));
  const losses = g.activations.alloc(n);
  const dlogits = out.requiresGrad ? g.activations.alloc(n * V) : null;
  K.crossEntropyForwardBackward(logits.data, targets, losses, dlogits, n, V, count > 0 ? 1 / count : 0);
  out.data[0] = count > 0 ? K.sum(losses, n) / count : 0;
  if (out.requiresGrad && dlogits !== null) {
    g.push(() => {
      if (out.grad !== null) K.axpy(g.gradOf(logits), dlogits, out.grad[0], n * V);
    });
  }
  return out;
}

/** Sizes of a fused LM head over x (N, C) and W (V, C), with targets checked. */
interface HeadShape {
  V: number;
  C: number;
  n: number;
  /** Rows whose target is ≥ 0. */
  count: number;
  /** Rows per chunk: about 1M logits (4 MB) at a time, at least 64 rows. */
  chunk: number;
}

function lmHeadShape(op: string, x: Tensor, w: Tensor, targets: Int32Array, chunkRows: number): HeadShape {
  if (w.shape.length !== 2) throw new ShapeError(op, `weight must be 2-D (vocab, dim), got ${shapeString(w.shape)}`);
  const [V, C] = w.shape;
  if (lastDim(x) !== C) throw new ShapeError(op, `input ${shapeString(x.shape)} does not match weight ${shapeString(w.shape)}`);
  const n = rows(x);
  const count = checkTargets(op, targets, n, V);
  return { V, C, n, count, chunk: chunkRows > 0 ? chunkRows : Math.max(64, Math.floor((1 << 20) / V)) };
}

/** logits (r, V) = x[r0 .. r0+r) · Wᵀ: one chunk of the LM head. */
function headLogits(K: Kernels, s: HeadShape, x: Float32Array, w: Float32Array, r0: number, r: number,
  logits: Float32Array): void {
  K.matmul(x.subarray(r0 * s.C, (r0 + r) * s.C), w, logits, 1, r, s.V, s.C, false, true, false); // (r, C)·(V, C)ᵀ
}

/**
 * Backward of one chunk from its logit gradients dl (r, V): dx[r0 ..] (+)= dl·W and
 * dW (+)= dlᵀ·x[r0 ..]; null skips a side.
 */
function headBackward(K: Kernels, s: HeadShape, dl: Float32Array, x: Float32Array, w: Float32Array, r0: number,
  r: number, dx: Float32Array | null, accumulateDx: boolean, dw: Float32Array | null, accumulateDw: boolean): void {
  const { V, C } = s;
  if (dx !== null) K.matmul(dl, w, dx.subarray(r0 * C, (r0 + r) * C), 1, r, C, V, false, false, accumulateDx);
  if (dw !== null) K.matmul(dl, x.subarray(r0 * C, (r0 + r) * C), dw, 1, V, C, r, true, false, accumulateDw);
}

/**
 * The language-model head fused with cross-entropy: mean over rows with target ≥ 0 of
 * -log softmax(x·Wᵀ)[target], for x (N, C) and W (V, C). Rows are processed in chunks
 * so the (N, V) logits never exist at once; the gradient is computed chunk by chunk
 * during the forward pass and applied (times the upstream gradient) in backward.
 */
export function lmHeadCrossEntropy(x: Tensor, w: Tensor, targets: Int32Array, chunkRows = 0): Tensor {
  const s = lmHeadShape('lmHeadCrossEntropy', x, w, targets, chunkRows);
  const { V, C, n, count, chunk } = s;
  const g = graph();
  const K = kernels();
  const out = g.tensor([], needsGrad(x, w));
  const grad = out.requiresGrad;
  const losses = g.activations.alloc(n);
  const logits = g.activations.alloc(Math.min(chunk, n) * V);
  const dx = grad && x.requiresGrad ? g.activations.alloc(n * C) : null;
  const dw = grad && w.requiresGrad ? g.activations.alloc(V * C) : null;
  const gradScale = count > 0 ? 1 / count : 0;
  for (let r0 = 0; r0 < n; r0 += chunk) {
    const r = Math.min(chunk, n - r0);
    const lc = logits.subarray(0, r * V);
    headLogits(K, s, x.data, w.data, r0, r, lc);
    K.crossEntropyForwardBackward(lc, targets.subarray(r0, r0 + r), losses.subarray(r0, r0 + r), grad ? lc : null, r, V, gradScale);
    headBackward(K, s, lc, x.data, w.data, r0, r, dx, false, dw, r0 > 0);
  }
  out.data[0] = count > 0 ? K.sum(losses, n) / count : 0;
  if (grad) {
    g.push(() => {
      if (out.grad === null) return;
      const scl = out.grad[0];
      if (dx !== null) K.axpy(g.gradOf(x), dx, scl, n * C);
      if (dw !== null) K.axpy(g.gradOf(w), dw, scl, V * C);
    });
  }
  return out;
}

/**
 * The language-model head fused with per-token log-probabilities (logSoftmaxGather):
 * out[i] = log softmax(x[i]·Wᵀ)[targets[i]] for x (N, C) and W (V, C); 0 where
 * targets[i] < 0. Chunked like lmHeadCrossEntropy, so the (N, V) logits never exist at
 * once. The upstream gradient is per token (DPO, reward scores), so it is not known
 * during the forward: backward recomputes each chunk's logits, then
 * dlogits = dout[i]·(onehot - softmax) and the same two products as the loss.
 */
export function lmHeadLogProbs(x: Tensor, w: Tensor, targets: Int32Array, chunkRows = 0): Tensor {
  const s = lmHeadShape('lmHeadLogProbs', x, w, targets, chunkRows);
  const { V, n, chunk } = s;
  const g = graph();
  const K = kernels();
  const out = g.tensor([n], needsGrad(x, w));
  const logits = g.activations.alloc(Math.min(chunk, n) * V);
  for (let r0 = 0; r0 < n; r0 += chunk) {
    const r = Math.min(chunk, n - r0);
    const lc = logits.subarray(0, r * V);
    headLogits(K, s, x.data, w.data, r0, r, lc);
    K.logprobForward(lc, targets.subarray(r0, r0 + r), out.data.subarray(r0, r0 + r), r, V);
  }
  if (out.requiresGrad) {
    g.push(() => {
      const dy = out.grad;
      if (dy === null) return;
      const dlogits = g.gradients.alloc(Math.min(chunk, n) * V);
      const dx = x.requiresGrad ? g.gradOf(x) : null;
      const dw = w.requiresGrad ? g.gradOf(w) : null;
      for (let r0 = 0; r0 < n; r0 += chunk) {
        const r = Math.min(chunk, n - r0);
        const lc = logits.subarray(0, r * V);
        const dl = dlogits.subarray(0, r * V);
        headLogits(K, s, x.data, w.data, r0, r, lc);
        dl.fill(0);
        K.logprobBackward(lc, targets.subarray(r0, r0 + r), dy.subarray(r0, r0 + r), dl, r, V);
        headBackward(K, s, dl, x.data, w.data, r0, r, dx, true, dw, true);
      }
    });
  }
  return out;
}

/** Per-row log-probability of the target: (N). Rows with target < 0 give 0 (used by DPO). */
export function logprobs(logits: Tensor, targets: Int32Array): Tensor {
  const V = lastDim(logits);
  const n = rows(logits);
  checkTargets('logprobs', targets, n, V);
  const g = graph();
  const K = kernels();
  const out = g.tensor([n], needsGrad(logits));
  K.logprobForward(logits.data, targets, out.data, n, V);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad !== null) K.logprobBackward(logits.data, targets, out.grad, g.gradOf(logits), n, V);
    });
  }
  return out;
}

/**
 * Sums of x (N) per segment: out[s] = Σ x[i] over seg[i] = s, (segments); seg[i] < 0 is
 * ignored. A sequence's log-likelihood from per-token log-probs (DPO).
 */
export function segmentSum(x: Tensor, seg: Int32Array, segments: number): Tensor {
  const op = 'segmentSum';
  if (seg.length !== x.size) throw new ShapeError(op, `${seg.length} segment ids for ${x.size} values`);
  checkPositiveInt(op, 'segments', segments);
  const g = graph();
  const K = kernels();
  const out = g.tensor([segments], needsGrad(x));
  K.segmentSumForward(x.data, seg, out.data, x.size, segments);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad !== null) K.segmentSumBackward(out.grad, seg, g.gradOf(x), x.size);
    });
  }
  return out;
}

export type PreferenceLossKind = 'sigmoid' | 'ipo';

/**
 * Mean preference loss over pairs: scores (2P) interleave (chosen, rejected) per pair, ref
 * (2P) holds the reference model's (a constant). sigmoid: -log σ(β·h) (DPO; a reward model's
 * Bradley–Terry loss with β = 1 and ref 0); ipo: (h - 1/(2β))², where h is the margin of
 * log-ratios (see the preferenceLoss kernel).
 */
export function preferenceLoss(scores: Tensor, ref: Float32Array, beta: number, kind: PreferenceLossKind): Tensor {
  const op = 'preferenceLoss';
  if (scores.shape.length !== 1 || scores.size % 2 !== 0 || scores.size === 0) {
    throw new ShapeError(op, `scores must be (2·pairs), got ${shapeString(scores.shape)}`);
  }
  if (ref.length < scores.size) throw new ShapeError(op, `${ref.length} reference scores for ${scores.size} scores`);
  if (!(beta > 0) || !Number.isFinite(beta)) throw new RangeError(`${op}: beta must be > 0, got ${beta}`);
  const pairs = scores.size / 2;
  const g = graph();
  const K = kernels();
  const out = g.tensor([], needsGrad(scores));
  const losses = g.activations.alloc(pairs);
  const dscores = out.requiresGrad ? g.activations.allocZeroed(scores.size) : null;
  K.preferenceLoss(scores.data, ref, losses, dscores, pairs, beta, kind === 'sigmoid' ? 0 : 1, 1 / pairs);
  out.data[0] = K.sum(losses, pairs) / pairs;
  if (out.requiresGrad && dscores !== null) {
    g.push(() => {
      if (out.grad !== null) K.axpy(g.gradOf(scores), dscores, out.grad[0], scores.size);
    });
  }
  return out;
}

/** A scalar head on chosen rows: out[s] = h[rows[s], :] · w for h (N, C), w (C) or (1, C): (S). */
export function rowDot(h: Tensor, rowIdx: Int32Array, w: Tensor): Tensor {
  const op = 'rowDot';
  const C = lastDim(h);
  const n = rows(h);
  if (w.size !== C) throw new ShapeError(op, `head ${shapeString(w.shape)} does not match hidden states ${shapeString(h.shape)}`);
  for (let s = 0; s < rowIdx.length; s++) {
    if (!(rowIdx[s] >= 0 && rowIdx[s] < n)) throw new ShapeError(op, `row ${rowIdx[s]} at ${s} is out of range [0, ${n})`);
  }
  const g = graph();
  const K = kernels();
  const out = g.tensor([rowIdx.length], needsGrad(h, w));
  K.rowDotForward(h.data, rowIdx, w.data, out.data, rowIdx.length, C);
  if (out.requiresGrad) {
    g.push(() => {
      if (out.grad === null) return;
      K.rowDotBackward(h.data, rowIdx, w.data, out.grad, h.requiresGrad ? g.gradOf(h) : null, w.requiresGrad ? g.gradOf(w) : null, rowIdx.length, C);
    });
  }
  return out;
}
