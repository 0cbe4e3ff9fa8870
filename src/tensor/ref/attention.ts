/**
 * Reference causal self-attention: the readable specification the native kernels
 * (native/src/attention.cc) must match. Plain loops, float64 arithmetic, no tiling.
 *
 * Layouts (row-major, element offsets):
 *   qkv   (B, T, (H + 2·Hkv)·D): row (b, t) holds [q heads | k heads | v heads], each head D wide.
 *   out   (B, T, H·D)
 *   lse   (B, H, T): log Σ_j exp(s_tj) for the score row of query t.
 *   cache (rows, Hkv, capacity, D) for the cached (inference) variant.
 * Grouped-query attention: query head h reads kv head floor(h / (H / Hkv)).
 * Scores s_tj = scale · q_t · k_j for j ≤ t (causal); out_t = Σ_j softmax(s_t)_j · v_j.
 * Packed rows: with segStart (B·T), query t of row b sees only keys segStart[b·T + t] .. t,
 * so several sequences packed into one row never attend to each other.
 */
import type { FloatArray, I32 } from '../kernels.js';

function checkHeads(op: string, H: number, Hkv: number, D: number): void {
  if (!(H >= 1 && Hkv >= 1 && D >= 1)) throw new RangeError(`${op}: H, Hkv and D must be >= 1`);
  if (H % Hkv !== 0) throw new RangeError(`${op}: H (${H}) must be divisible by Hkv (${Hkv})`);
}

/**
 * Throws unless segStart (when given) has B·T entries with 0 ≤ segStart[b·T + t] ≤ t: a
 * query must see at least itself, and never a key of another row.
 */
export function checkSegStart(op: string, segStart: I32 | null | undefined, B: number, T: number): void {
  if (segStart === null || segStart === undefined) return;
  if (segStart.length < B * T) throw new RangeError(`${op}: segStart has ${segStart.length} elements, needs ${B * T}`);
  for (let i = 0; i < B * T; i++) {
    const t = i % T;
    const s = segStart[i];
    if (!(s >= 0 && s <= t)) {
      throw new RangeError(`${op}: segStart[${i}] = ${s} must be in [0, ${t}] (position ${t} of its row)`);
    }
  }
}

/** Offsets of head (b, t, ·) inside the packed qkv buffer. */
function qkvOffsets(b: number, t: number, h: number, T: number, H: number, Hkv: number, D: number) {
  const width = (H + 2 * Hkv) * D;
  const row = (b * T + t) * width;
  const kvh = Math.floor(h / (H / Hkv));
  return { q: row + h * D, k: row + (H + kvh) * D, v: row + (H + Hkv + kvh) * D };
}

/**
 * Softmax attention of one query against keys/values j0..n-1; writes D outputs at
 * out[outOff..] and returns the log-sum-exp of the scores.
 * keyOff(j) / valOff(j) give the offset of key / value j in kv.
 */
function attendOne(q: FloatArray, qOff: number, kv: FloatArray, keyOff: (j: number) => number,
  vals: FloatArray, valOff: (j: number) => number, j0: number, n: number, D: number, scale: number,
  out: FloatArray, outOff: number): number {
  const s = new Float64Array(n);
  let max = -Infinity;
  for (let j = j0; j < n; j++) {
    const ko = keyOff(j);
    let dot = 0;
    for (let d = 0; d < D; d++) dot += q[qOff + d] * kv[ko + d];
    s[j] = scale * dot;
    if (s[j] > max) max = s[j];
  }
  let sum = 0;
  for (let j = j0; j < n; j++) {
    s[j] = Math.exp(s[j] - max);
    sum += s[j];
  }
  const acc = new Float64Array(D);
  for (let j = j0; j < n; j++) {
    const p = s[j] / sum;
    const vo = valOff(j);
    for (let d = 0; d < D; d++) acc[d] += p * vals[vo + d];
  }
  for (let d = 0; d < D; d++) out[outOff + d] = acc[d];
  return max + Math.log(sum);
}

/**
 * out (B, T, H·D) and lse (B, H, T) from packed qkv (B, T, (H + 2·Hkv)·D); overwrites both.
 * segStart (B·T), when given, starts each query's window (packed sequences).
 */
export function attentionForward(qkv: FloatArray, out: FloatArray, lse: FloatArray, B: number, T: number,
  H: number, Hkv: number, D: number, scale: number, segStart: I32 | null = null): void {
  checkHeads('attentionForward', H, Hkv, D);
  checkSegStart('attentionForward', segStart, B, T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const k = (j: number) => qkvOffsets(b, j, h, T, H, Hkv, D).k;
      const v = (j: number) => qkvOffsets(b, j, h, T, H, Hkv, D).v;
      for (let t = 0; t < T; t++) {
        const qOff = qkvOffsets(b, t, h, T, H, Hkv, D).q;
        const outOff = (b * T + t) * H * D + h * D;
        // Query t sees keys segStart..t (0..t unpacked).
        const j0 = segStart === null ? 0 : segStart[b * T + t];
        lse[(b * H + h) * T + t] = attendOne(qkv, qOff, qkv, k, qkv, v, j0, t + 1, D, scale, out, outOff);
      }
    }
  }
}

/**
 * dqkv += ∂L/∂qkv given dout = ∂L/∂out, using the forward's out and lse.
 * With p_tj = exp(s_tj - lse_t) and Δ_t = dout_t · out_t (= Σ_j p_tj (dout_t · v_j)):
 *   dv_j += Σ_t p_tj dout_t
 *   ds_tj = p_tj (dout_t · v_j - Δ_t)
 *   dq_t += scale Σ_j ds_tj k_j,   dk_j += scale Σ_t ds_tj q_t
 */
export function attentionBackward(qkv: FloatArray, out: FloatArray, dout: FloatArray, lse: FloatArray,
  dqkv: FloatArray, B: number, T: number, H: number, Hkv: number, D: number, scale: number,
  segStart: I32 | null = null): void {
  checkHeads('attentionBackward', H, Hkv, D);
  checkSegStart('attentionBackward', segStart, B, T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const qt = qkvOffsets(b, t, h, T, H, Hkv, D).q;
        const ot = (b * T + t) * H * D + h * D;
        const lseT = lse[(b * H + h) * T + t];
        let delta = 0;
        for (let d = 0; d < D; d++) delta += dout[ot + d] * out[ot + d];
        for (let j = segStart === null ? 0 : segStart[b * T + t]; j <= t; j++) {
          const { k: kj, v: vj } = qkvOffsets(b, j, h, T, H, Hkv, D);
          let dot = 0;
          let dp = 0;
          for (let d = 0; d < D; d++) {
            dot += qkv[qt + d] * qkv[kj + d];
            dp += dout[ot + d] * qkv[vj + d];
          }
          const p = Math.exp(scale * dot - lseT);
          const ds = p * (dp - delta);
          for (let d = 0; d < D; d++) {
            dqkv[vj + d] += p * dout[ot + d];
            dqkv[qt + d] += scale * ds * qkv[kj + d];
            dqkv[kj + d] += scale * ds * qkv[qt + d];
          }
        }
      }
    }
  }
}

/**
 * Throws unless `a` (when given) has exactly B entries, each in [lo, hi]; `why` says what
 * the bound is.
 */
function checkEntries(op: string, name: string, a: I32 | null | undefined, B: number, lo: number, hi: number,
  why: string): void {
  if (a === null || a === undefined) return;
  if (a.length !== B) throw new RangeError(`${op}: ${name} has ${a.length} entries, needs B = ${B}`);
  for (let b = 0; b < B; b++) {
    if (!(a[b] >= lo && a[b] <= hi)) throw new RangeError(`${op}: ${name}[${b}] = ${a[b]} must be in [${lo}, ${hi}] (${why})`);
  }
}

/**
 * Attention of Tq new queries (B, Tq, H·D) against a KV cache (rows, Hkv, capacity, D).
 * Entry b's queries sit at positions p.. with p = pos0 (a number) or pos0[b] (B positions);
 * the cache already holds entries 0..p+Tq-1 and query i sees entries 0..p+i. Entry b reads
 * cache row cacheRows[b] when given, else row b. Overwrites out (B, Tq, H·D).
 */
export function attentionCached(q: FloatArray, kCache: FloatArray, vCache: FloatArray, out: FloatArray, B: number,
  Tq: number, H: number, Hkv: number, D: number, pos0: number | I32, capacity: number, scale: number,
  cacheRows: I32 | null = null): void {
  const op = 'attentionCached';
  checkHeads(op, H, Hkv, D);
  if (typeof pos0 === 'number') {
    if (pos0 < 0 || pos0 + Tq > capacity) throw new RangeError(`${op}: pos0 + Tq (${pos0 + Tq}) exceeds capacity (${capacity})`);
  } else {
    checkEntries(op, 'pos0', pos0, B, 0, capacity - Tq, `pos0[b] + Tq must not exceed the cache capacity ${capacity}`);
  }
  const rowSize = Hkv * capacity * D;
  const held = cacheRows === null ? B : Math.floor(Math.min(kCache.length, vCache.length) / rowSize);
  checkEntries(op, 'cacheRows', cacheRows, B, 0, held - 1, `rows held by kCache and vCache: ${held}`);
  const group = H / Hkv;
  for (let b = 0; b < B; b++) {
    const p = typeof pos0 === 'number' ? pos0 : pos0[b];
    const row = cacheRows === null ? b : cacheRows[b];
    for (let h = 0; h < H; h++) {
      const base = (row * Hkv + Math.floor(h / group)) * capacity * D;
      const entry = (j: number) => base + j * D;
      for (let i = 0; i < Tq; i++) {
        const off = (b * Tq + i) * H * D + h * D;
        attendOne(q, off, kCache, entry, vCache, entry, 0, p + i + 1, D, scale, out, off);
      }
    }
  }
}
