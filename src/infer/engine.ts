/**
 * The inference engine: the trained GPT run forward with a KV cache, no autograd tape and
 * no per-token allocation. Its linear layers are the model's own modules run in their no-grad
 * mode (Linear.inferInto, QKVProjection.inferInto), so whatever a layer carries — LoRA
 * adapters — applies here exactly as in the training forward; the rest calls the kernels
 * directly on preallocated workspace buffers:
 *
 *   feed(rows, tokens)   prefill — all new tokens of each row in one pass (matmuls over
 *                        every position at once), their keys/values written into the cache
 *   decode(rows, ids)    one token per row: the same code with T = 1, attention reading
 *                        the cache (Kernels.attentionCached)
 *
 * Both return next-token logits for the last position of each row only: the final norm and
 * the LM head run on those rows, not on every position. Rows of a batch are independent
 * sequences of any lengths: matmuls run over all rows together, while positions, RoPE,
 * cache writes and attention follow each row's own length.
 *
 * `forwardFull` is the check: the training forward (GPT.hidden, ops in a non-recording
 * graph) over a whole sequence, no cache. Greedy decoding with either gives the same tokens.
 */
import { GPT, type QKVProjection } from '../nn/gpt.js';
import { headDim, type GPTConfig } from '../nn/config.js';
import { LayerNorm, type Linear, type Norm } from '../nn/modules.js';
import { Graph, withGraph } from '../autograd/graph.js';
import { kernels } from '../tensor/registry.js';
import type { Kernels } from '../tensor/kernels.js';
import { KVCache } from './kv-cache.js';

export interface EngineOptions {
  /** Sequences that can be held at once (rows of the KV cache). Default 1. */
  maxBatch?: number;
  /** Positions per row; default and maximum: the model's context length. */
  capacity?: number;
}

interface NormWeights {
  w: Float32Array;
  b: Float32Array | null;
  eps: number;
  layer: boolean; // LayerNorm (gpt2) or RMSNorm (llama)
}

/**
 * A block's layers. The linear layers are the model's own modules, run through their
 * no-grad path (inferInto), so whatever a layer holds (LoRA adapters) applies here exactly
 * as in the training forward.
 */
interface LayerWeights {
  norm1: NormWeights;
  qkv: QKVProjection;
  o: Linear;
  norm2: NormWeights;
  up: Linear;
  gate: Linear | null;
  down: Linear;
}

function normWeights(n: Norm): NormWeights {
  if (n instanceof LayerNorm) return { w: n.weight.data, b: n.bias?.data ?? null, eps: n.eps, layer: true };
  return { w: n.weight.data, b: null, eps: n.eps, layer: false };
}

/** Activation buffers for up to `rows` positions at once; they grow, never shrink. */
class Workspace {
  rows = 0;
  x = new Float32Array(0);
  h = new Float32Array(0);
  qkv = new Float32Array(0);
  q = new Float32Array(0);
  att = new Float32Array(0);
  up = new Float32Array(0);
  gate = new Float32Array(0);
  act = new Float32Array(0);
  mean = new Float32Array(0);
  rstd = new Float32Array(0);

  ensure(rows: number, c: GPTConfig): void {
    if (rows <= this.rows) return;
    const D = headDim(c);
    const width = (c.nHead + 2 * c.nKvHead) * D;
    this.rows = rows;
    this.x = new Float32Array(rows * c.nEmbd);
    this.h = new Float32Array(rows * c.nEmbd);
    this.qkv = new Float32Array(rows * width);
    this.q = new Float32Array(rows * c.nHead * D);
    this.att = new Float32Array(rows * c.nHead * D);
    this.up = new Float32Array(rows * c.mlpHidden);
    this.gate = new Float32Array(c.family === 'llama' ? rows * c.mlpHidden : 0);
    this.act = new Float32Array(rows * c.mlpHidden);
    this.mean = new Float32Array(rows);
    this.rstd = new Float32Array(rows);
  }
}

export class InferenceEngine {
  readonly model: GPT;
  readonly config: GPTConfig;
  readonly cache: KVCache;
  readonly maxBatch: number;
  readonly vocabSize: number;

  private readonly layers: LayerWeights[];
  private readonly finalNorm: NormWeights;
  private readonly lmHead: Float32Array;
  private readonly wte: Float32Array;
  private readonly wpe: Float32Array | null;
  private readonly D: number;
  private readonly width: number;
  private readonly scale: number;
  private readonly ws = new Workspace();
  private lastHidden = new Float32Array(0);
  private logitsBuf = new Float32Array(0);
  private ids = new Int32Array(0);
  private pos = new Int32Array(0);
  /** rows as an Int32Array (the cache rows the attention call reads). */
  private rowIds = new Int32Array(0);
  /** Position of each of the R new tokens, for RoPE when rows sit at different positions. */
  private tokenPos = new Int32Array(0);
  private readonly graph = new Graph(false);

  constructor(model: GPT, options: EngineOptions = {}) {
    const c = (this.config = model.config);
    this.model = model;
    const maxBatch = options.maxBatch ?? 1;
    const capacity = options.capacity ?? c.contextLength;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`InferenceEngine: batch must be a positive integer, got ${maxBatch}`);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > c.contextLength) {
      throw new RangeError(`InferenceEngine: capacity must be between 1 and the context length ${c.contextLength}, got ${capacity}`);
    }
    this.maxBatch = maxBatch;
    this.vocabSize = c.vocabSize;
    this.D = headDim(c);
    this.width = (c.nHead + 2 * c.nKvHead) * this.D;
    this.scale = 1 / Math.sqrt(this.D);
    try {
      this.cache = new KVCache(c.nLayer, maxBatch, c.nKvHead, capacity, this.D);
    } catch (err) {
      const mib = (2 * c.nLayer * maxBatch * c.nKvHead * capacity * this.D * 4) / 2 ** 20;
      throw new RangeError(`cannot allocate the KV cache: ${mib.toFixed(0)} MiB for ${maxBatch} sequences × ${capacity} positions ` +
        `(${err instanceof Error ? err.message : String(err)}); generate fewer sequences at once`);
    }
    this.layers = model.blocks.map((b) => ({
      norm1: normWeights(b.norm1),
      qkv: b.attn.qkv,
      o: b.attn.proj,
      norm2: normWeights(b.norm2),
      up: b.mlp.up,
      gate: b.mlp.gate,
      down: b.mlp.down,
    }));
    this.finalNorm = normWeights(model.finalNorm);
    this.lmHead = model.lmHead.data;
    this.wte = model.tokenEmbedding.weight.data;
    this.wpe = model.positionEmbedding?.weight.data ?? null;
  }

  /** Positions each row can hold (the context length unless set lower). */
  get capacity(): number {
    return this.cache.capacity;
  }

  /** Tokens held by a row. */
  length(row: number): number {
    return this.cache.tokens(row).length;
  }

  /** Rows free to acquire. */
  get freeRows(): number {
    return this.cache.freeRows;
  }

  /**
   * Takes a free row for a new sequence (null when all are taken); the row holding the
   * longest prefix of `prompt` is preferred, so prefill() recomputes as little as possible.
   * For schedulers whose sequences join and leave at any step; Generation uses fixed rows.
   */
  acquireRow(prompt?: ArrayLike<number>): number | null {
    return this.cache.acquire(prompt);
  }

  /** Gives a row back (its cache stays for prefix reuse). */
  releaseRow(row: number): void {
    this.cache.release(row);
  }

  /** Empties one row, or all rows. */
  reset(row?: number): void {
    this.cache.reset(row);
  }

  /**
   * Makes `row` hold exactly `prompt` and returns the next-token logits (V) after it.
   * Tokens the row already holds as a common prefix are reused, not recomputed. The
   * returned view is valid until the next call on this engine.
   */
  prefill(row: number, prompt: ArrayLike<number>): Float32Array {
    if (prompt.length === 0) throw new RangeError('prefill: the prompt has no tokens');
    if (prompt.length > this.capacity) {
      throw new RangeError(`prefill: the prompt has ${prompt.length} tokens, more than the context length ${this.capacity}`);
    }
    // At least one token must be fed to get logits for the position after the prompt.
    const keep = Math.min(this.cache.commonPrefix(row, prompt), prompt.length - 1);
    this.cache.truncate(row, keep);
    return this.forward([row], prompt.length - keep, sliceIds(prompt, keep), false);
  }

  /**
   * Appends `tokens[i]` (all of the same length T ≥ 1) to row rows[i], in one pass, and
   * returns the next-token logits (rows.length, V) after each row's last token.
   */
  feed(rows: readonly number[], tokens: readonly ArrayLike<number>[]): Float32Array {
    if (rows.length !== tokens.length) throw new RangeError(`feed: ${rows.length} rows but ${tokens.length} token lists`);
    if (rows.length === 0) throw new RangeError('feed: no rows');
    const T = tokens[0].length;
    const flat = new Int32Array(rows.length * T);
    for (let i = 0; i < rows.length; i++) {
      if (tokens[i].length !== T) throw new RangeError(`feed: token lists must have equal lengths (${T} and ${tokens[i].length})`);
      for (let t = 0; t < T; t++) flat[i * T + t] = tokens[i][t];
    }
    return this.forward(rows, T, flat, false);
  }

  /** One new token per row (ids[i] appended to rows[i]); returns logits (rows.length, V). */
  decode(rows: readonly number[], ids: ArrayLike<number>): Float32Array {
    if (rows.length !== ids.length) throw new RangeError(`decode: ${rows.length} rows but ${ids.length} tokens`);
    return this.forward(rows, 1, ids, false);
  }

  /** Appends tokens to a row and returns the logits of every new position (T, V); for tests. */
  feedAllLogits(row: number, tokens: ArrayLike<number>): Float32Array {
    return this.forward([row], tokens.length, tokens, true);
  }

  /**
   * Next-token logits (V) after `tokens`, computed with the training forward over the
   * whole sequence and no cache (`--no-cache`, and the reference the cache is checked against).
   */
  forwardFull(tokens: ArrayLike<number>): Float32Array {
    const c = this.config;
    const T = tokens.length;
    if (T === 0) throw new RangeError('forwardFull: no tokens');
    if (T > c.contextLength) throw new RangeError(`forwardFull: ${T} tokens exceed the context length ${c.contextLength}`);
    const ids = Int32Array.from(tokens as ArrayLike<number>);
    this.checkIds(ids);
    const logits = this.logitsFor(1);
    const K = kernels();
    withGraph(this.graph, () => {
      this.graph.reset();
      const hidden = this.model.hidden(ids, 1, T);
      K.matmul(hidden.data.subarray((T - 1) * c.nEmbd, T * c.nEmbd), this.lmHead, logits, 1, 1, c.vocabSize, c.nEmbd, false, true, false);
    });
    return logits;
  }

  private logitsFor(n: number): Float32Array {
    const need = n * this.vocabSize;
    if (this.logitsBuf.length < need) this.logitsBuf = new Float32Array(need);
    return this.logitsBuf.subarray(0, need);
  }

  private checkIds(ids: ArrayLike<number>): void {
    const V = this.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new RangeError(`token id ${id} is outside the model's vocabulary (0..${V - 1})`);
    }
  }

  /**
   * The forward pass: T new tokens for each of `rows` (ids row-major, rows.length × T),
   * each row continuing at its own cached length. Returns logits for the last position of
   * each row, or for every position when allLogits.
   */
  private forward(rows: readonly number[], T: number, idsIn: ArrayLike<number>, allLogits: boolean): Float32Array {
    const c = this.config;
    const K = kernels();
    const n = rows.length;
    const R = n * T;
    const C = c.nEmbd;
    const { D, width } = this;
    const H = c.nHead;
    const Hkv = c.nKvHead;
    const cap = this.capacity;
    if (T < 1) throw new RangeError('forward: no tokens to feed');
    if (idsIn.length !== R) throw new RangeError(`forward: ${idsIn.length} token ids for ${n} rows × ${T}`);
    this.checkIds(idsIn);
    if (this.pos.length < n) {
      this.pos = new Int32Array(Math.max(n, this.maxBatch));
      this.rowIds = new Int32Array(this.pos.length);
    }
    const pos = this.pos;
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      if (!Number.isInteger(row) || row < 0 || row >= this.maxBatch) throw new RangeError(`row ${row} is outside 0..${this.maxBatch - 1}`);
      for (let j = 0; j < i; j++) if (rows[j] === row) throw new RangeError(`row ${row} appears twice in one forward pass`);
      pos[i] = this.cache.lengths[row];
      this.rowIds[i] = row;
      if (pos[i] + T > cap) {
        throw new RangeError(`row ${row}: ${pos[i]} cached + ${T} new tokens exceed the context length ${cap}`);
      }
    }
    // Rows that are consecutive and at the same position take the plain calls (one position,
    // one cache block); any other batch gives RoPE and attention each row's position and
    // attention each row's cache row. Either way one call per layer covers every row, and
    // each row's result is what a call for that row alone gives, bit for bit.
    let uniform = true;
    for (let i = 1; i < n; i++) if (rows[i] !== rows[0] + i || pos[i] !== pos[0]) uniform = false;
    if (!uniform) {
      if (this.tokenPos.length < R) this.tokenPos = new Int32Array(R);
      for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) this.tokenPos[i * T + t] = pos[i] + t;
    }
    const tokenPos = this.tokenPos.subarray(0, R);
    const rowPos = pos.subarray(0, n);
    const rowIds = this.rowIds.subarray(0, n);

    const ws = this.ws;
    ws.ensure(R, c);
    if (this.ids.length < R) this.ids = new Int32Array(R);
    const ids = this.ids.subarray(0, R);
    for (let i = 0; i < R; i++) ids[i] = idsIn[i];
    const x = ws.x.subarray(0, R * C);
    const h = ws.h.subarray(0, R * C);
    const qkv = ws.qkv.subarray(0, R * width);
    const q = ws.q.subarray(0, R * H * D);
    const att = ws.att.subarray(0, R * H * D);
    const hidden = c.mlpHidden;
    const up = ws.up.subarray(0, R * hidden);
    const act = ws.act.subarray(0, R * hidden);

    K.embeddingForward(ids, this.wte, x, R, C, c.vocabSize);
    if (this.wpe !== null) {
      for (let i = 0; i < n; i++) {
        const xs = x.subarray(i * T * C, (i + 1) * T * C);
        K.add(xs, this.wpe.subarray(pos[i] * C, (pos[i] + T) * C), xs, T * C);
      }
    }
    const rope = this.model.rope;

    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l];
      this.norm(K, L.norm1, x, h, R);
      L.qkv.inferInto(K, h, qkv, R);
      if (rope !== null) {
        if (uniform) K.ropeForward(qkv, qkv, rope.cos, rope.sin, R, T, width, H + Hkv, D, pos[0]);
        else K.ropeForward(qkv, qkv, rope.cos, rope.sin, R, T, width, H + Hkv, D, 0, tokenPos);
      }
      // Queries to their own (R, H·D) buffer; new keys/values into the cache rows.
      const kc = this.cache.k[l];
      const vc = this.cache.v[l];
      for (let i = 0; i < n; i++) {
        const rowBase = rows[i] * this.cache.rowStride;
        for (let t = 0; t < T; t++) {
          const r = i * T + t;
          const src = r * width;
          q.set(qkv.subarray(src, src + H * D), r * H * D);
          for (let g = 0; g < Hkv; g++) {
            const dst = rowBase + (g * cap + pos[i] + t) * D;
            const ko = src + (H + g) * D;
            const vo = src + (H + Hkv + g) * D;
            kc.set(qkv.subarray(ko, ko + D), dst);
            vc.set(qkv.subarray(vo, vo + D), dst);
          }
        }
      }
      if (uniform) {
        const blk = this.cache.block(l, rows[0], n);
        K.attentionCached(q, blk.k, blk.v, att, n, T, H, Hkv, D, pos[0], cap, this.scale);
      } else {
        K.attentionCached(q, kc, vc, att, n, T, H, Hkv, D, rowPos, cap, this.scale, rowIds);
      }
      // x += att·Woᵀ + b (the residual add folded into the matmul).
      L.o.inferInto(K, att, x, R, true);

      this.norm(K, L.norm2, x, h, R);
      L.up.inferInto(K, h, up, R, false);
      if (L.gate !== null) {
        const gate = ws.gate.subarray(0, R * hidden);
        L.gate.inferInto(K, h, gate, R, false);
        K.swigluForward(gate, up, act, R * hidden);
      } else {
        K.geluForward(up, act, R * hidden);
      }
      L.down.inferInto(K, act, x, R, true);
    }

    for (let i = 0; i < n; i++) this.cache.append(rows[i], ids.subarray(i * T, (i + 1) * T));

    // Final norm and LM head on the rows whose logits are wanted.
    let out: Float32Array;
    let m: number;
    if (allLogits) {
      m = R;
      out = h;
      this.norm(K, this.finalNorm, x, h, R);
    } else {
      m = n;
      if (this.lastHidden.length < n * C) this.lastHidden = new Float32Array(this.ws.rows * C);
      const last = this.lastHidden.subarray(0, n * C);
      for (let i = 0; i < n; i++) last.set(x.subarray(((i + 1) * T - 1) * C, (i + 1) * T * C), i * C);
      out = h.subarray(0, n * C);
      this.norm(K, this.finalNorm, last, out, n);
    }
    const logits = this.logitsFor(m);
    K.matmul(out, this.lmHead, logits, 1, m, c.vocabSize, C, false, true, false);
    return logits;
  }

  private norm(K: Kernels, nw: NormWeights, x: Float32Array, out: Float32Array, rows: number): void {
    const C = this.config.nEmbd;
    const rstd = this.ws.rstd.subarray(0, rows);
    if (nw.layer) K.layernormForward(x, nw.w, nw.b, out, this.ws.mean.subarray(0, rows), rstd, rows, C, nw.eps);
    else K.rmsnormForward(x, nw.w, out, rstd, rows, C, nw.eps);
  }
}

function sliceIds(ids: ArrayLike<number>, start: number): Int32Array {
  const out = new Int32Array(ids.length - start);
  for (let i = 0; i < out.length; i++) out[i] = ids[start + i];
  return out;
}
