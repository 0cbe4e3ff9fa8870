/**
 * The kernel contract. Every coarse op of the engine is one forward and one backward
 * kernel over flat row-major Float32Arrays with explicit sizes. Each has a plain
 * TypeScript reference in ./ref (the readable spec) and a C++ twin in native/src
 * reached through N-API; tests compare the two.
 *
 * Conventions:
 * - Backward kernels ACCUMULATE into gradient outputs (dx += ...), because a tensor
 *   can feed several ops and gradient accumulation spans micro-batches.
 * - Forward kernels OVERWRITE their outputs unless an `accumulate` flag says otherwise.
 * - Integer arguments are element counts, never byte counts.
 * - The reference kernels in ./ref accept Float64Array wherever a float buffer is
 *   expected, so gradient checks can run them in float64 against finite differences.
 */
export type F32 = Float32Array;
/** What the reference kernels accept for float buffers. */
export type FloatArray = Float32Array | Float64Array;
export type I32 = Int32Array;

export interface Kernels {
  /**
   * C[b] (m×n) = op(A[b]) · op(B[b])  (+ C[b] when accumulate), for b < batch.
   * op(A) is m×k: A is stored m×k, or k×m when transA. op(B) is k×n: B is stored k×n,
   * or n×k when transB. Batches are contiguous: strides m·k, k·n, m·n.
   */
  matmul(a: F32, b: F32, c: F32, batch: number, m: number, n: number, k: number,
    transA: boolean, transB: boolean, accumulate: boolean): void;

  /** out[i, :] = table[ids[i], :] for i < n; table is vocab×dim. */
  embeddingForward(ids: I32, table: F32, out: F32, n: number, dim: number, vocab: number): void;
  /** dtable[ids[i], :] += dout[i, :]. */
  embeddingBackward(ids: I32, dout: F32, dtable: F32, n: number, dim: number, vocab: number): void;

  /** LayerNorm over the last dim; bias may be null. Saves mean and rstd (rows) for backward. */
  layernormForward(x: F32, weight: F32, bias: F32 | null, out: F32, mean: F32, rstd: F32,
    rows: number, dim: number, eps: number): void;
  /** dx += ..., dweight += ..., dbias += ... (dbias may be null). */
  layernormBackward(dout: F32, x: F32, weight: F32, mean: F32, rstd: F32, dx: F32, dweight: F32,
    dbias: F32 | null, rows: number, dim: number): void;

  /** RMSNorm: out = x · rstd · weight, rstd = 1/sqrt(mean(x²) + eps) saved per row. */
  rmsnormForward(x: F32, weight: F32, out: F32, rstd: F32, rows: number, dim: number, eps: number): void;
  rmsnormBackward(dout: F32, x: F32, weight: F32, rstd: F32, dx: F32, dweight: F32, rows: number, dim: number): void;

  /** GELU, tanh approximation (GPT-2's "gelu_new"). */
  geluForward(x: F32, out: F32, n: number): void;
  geluBackward(x: F32, dout: F32, dx: F32, n: number): void;

  /** SiLU: x · sigmoid(x). */
  siluForward(x: F32, out: F32, n: number): void;
  siluBackward(x: F32, dout: F32, dx: F32, n: number): void;
  /** SwiGLU: out = silu(gate) · up. */
  swigluForward(gate: F32, up: F32, out: F32, n: number): void;
  swigluBackward(gate: F32, up: F32, dout: F32, dgate: F32, dup: F32, n: number): void;

  /**
   * Rotary embedding, Hugging Face "rotate_half" layout (pairs i and i + headDim/2),
   * applied to the first `rotHeads` heads of each row of x (rows = batch·seq, each row
   * `rowWidth` wide, heads of `headDim` contiguous); the rest of the row is copied.
   * Row r sits at position posOffset + (row % seq), or posOffset + positions[r] when
   * position ids are given (packed sequences restart at 0 inside a row). cos/sin are
   * (maxPos × headDim/2) tables.
   */
  ropeForward(x: F32, out: F32, cos: F32, sin: F32, rows: number, seq: number, rowWidth: number,
    rotHeads: number, headDim: number, posOffset: number, positions?: I32 | null): void;
  /** dx += R(-θ) · dout on the rotated heads, dx += dout on the rest. */
  ropeBackward(dout: F32, dx: F32, cos: F32, sin: F32, rows: number, seq: number, rowWidth: number,
    rotHeads: number, headDim: number, posOffset: number, positions?: I32 | null): void;

  /**
   * Causal self-attention, flash-style (online softmax; no T×T matrix is kept).
   * qkv is (B, T, (H + 2·Hkv)·D) packed as [q heads | k heads | v heads]; query head h
   * reads kv head floor(h / (H / Hkv)) (grouped-query attention).
   * out is (B, T, H·D); lse is (B, H, T): log-sum-exp of each score row, for backward.
   * Packed sequences: with segStart (B·T, 0 ≤ segStart[b·T + t] ≤ t) query t of row b
   * sees keys segStart[b·T + t] .. t only; without it (null/omitted), keys 0 .. t. Key
   * tiles no query of a tile can see are skipped, so a packed row costs at most what
   * the unpacked row does.
   */
  attentionForward(qkv: F32, out: F32, lse: F32, B: number, T: number, H: number, Hkv: number, D: number,
    scale: number, segStart?: I32 | null): void;
  /** dqkv += gradient of the attention wrt the packed qkv (same segStart as the forward). */
  attentionBackward(qkv: F32, out: F32, dout: F32, lse: F32, dqkv: F32, B: number, T: number, H: number,
    Hkv: number, D: number, scale: number, segStart?: I32 | null): void;

  /**
   * Attention of new queries against a KV cache (inference; no backward).
   * q is (B, Tq, H·D); entry b's queries sit at positions p .. p+Tq-1, p = pos0 (a number:
   * the same for every entry) or pos0[b] (an Int32Array of B positions: a decode batch
   * whose sequences hold different numbers of tokens), and query i sees cache entries
   * 0 .. p+i (causal). kCache and vCache are (rows, Hkv, capacity, D) and already hold
   * entries 0 .. p+Tq-1; entry b reads cache row cacheRows[b] when given (B rows in any
   * order), else row b (rows = B). out is (B, Tq, H·D). Each entry's result does not
   * depend on the others, so one batched call equals B single-entry calls bit for bit.
   */
  attentionCached(q: F32, kCache: F32, vCache: F32, out: F32, B: number, Tq: number, H: number, Hkv: number,
    D: number, pos0: number | I32, capacity: number, scale: number, cacheRows?: I32 | null): void;

  /**
   * Softmax cross-entropy on rows of logits, fused with its gradient.
   * losses[i] = -log softmax(logits[i])[targets[i]], or 0 where targets[i] < 0 (ignored).
   * dlogits[i] = gradScale · (softmax(logits[i]) - onehot(targets[i])), 0 for ignored rows.
   * dlogits may be the same array as logits (computed in place). Returns the number of
   * rows that were not ignored.
   */
  crossEntropyForwardBackward(logits: F32, targets: I32, losses: F32, dlogits: F32 | null, rows: number,
    vocab: number, gradScale: number): number;

  /** logp[i] = log softmax(logits[i])[targets[i]] (0 where targets[i] < 0). */
  logprobForward(logits: F32, targets: I32, logp: F32, rows: number, vocab: number): void;
  /** dlogits[i] += dlogp[i] · (onehot(targets[i]) - softmax(logits[i])). */
  logprobBackward(logits: F32, targets: I32, dlogp: F32, dlogits: F32, rows: number, vocab: number): void;

  /** out = a + b (elementwise, n elements). */
  add(a: F32, b: F32, out: F32, n: number): void;
  /** out = a · b (elementwise). */
  mul(a: F32, b: F32, out: F32, n: number): void;
  /** da += dout · b, db += dout · a. */
  mulBackward(a: F32, b: F32, dout: F32, da: F32, db: F32, n: number): void;
  /** dst += alpha · src. */
  axpy(dst: F32, src: F32, alpha: number, n: number): void;
  /** x *= alpha in place. */
  scaleInPlace(x: F32, alpha: number, n: number): void;
  /** x[r, :] += bias for each of `rows` rows of width dim. */
  addBias(x: F32, bias: F32, rows: number, dim: number): void;
  /** dbias += sum over rows of dout[r, :]. */
  biasBackward(dout: F32, dbias: F32, rows: number, dim: number): void;
  /** Σ x[i] over n elements, accumulated in float64. */
  sum(x: F32, n: number): number;
  /** Σ x[i]² over n elements, accumulated in float64 (global gradient norm). */
  sumSquares(x: F32, n: number): number;


  /** out[s] = Σ x[i] over i < n with seg[i] = s (seg[i] < 0 ignored); out (segments) is overwritten. */
  segmentSumForward(x: F32, seg: I32, out: F32, n: number, segments: number): void;
  /** dx[i] += dout[seg[i]] where seg[i] ≥ 0. */
  segmentSumBackward(dout: F32, seg: I32, dx: F32, n: number): void;
  /**
   * Per-pair preference losses; scores and ref (2·pairs) interleave (chosen, rejected):
   * h = (scores[2p] - ref[2p]) - (scores[2p+1] - ref[2p+1]); kind 0: -log σ(β·h) (DPO, and
   * Bradley–Terry with β = 1, ref 0); kind 1: (h - 1/(2β))² (IPO). losses (pairs) is
   * overwritten; dscores (when not null) += gradScale · ∂loss/∂scores.
   */
  preferenceLoss(scores: F32, ref: F32, losses: F32, dscores: F32 | null, pairs: number, beta: number, kind: number, gradScale: number): void;
  /** out[s] = h[rows[s], :] · w for s < n (h is (N, dim), w is (dim)). */
  rowDotForward(h: F32, rows: I32, w: F32, out: F32, n: number, dim: number): void;
  /** dh[rows[s], :] += dout[s]·w; dw += dout[s]·h[rows[s], :] (null skips a side). */
  rowDotBackward(h: F32, rows: I32, w: F32, dout: F32, dh: F32 | null, dw: F32 | null, n: number, dim: number): void;
  /**
   * AdamW with decoupled weight decay, one fused pass over n parameters:
   *   m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
   *   p -= lr · (m / (1-β1^step) / (sqrt(v / (1-β2^step)) + eps) + weightDecay · p)
   * step counts from 1. gradScale multiplies g first (gradient clipping folds in here).
   */
  adamw(param: F32, grad: F32, m: F32, v: F32, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number, gradScale: number): void;
}

export type KernelName = keyof Kernels;
