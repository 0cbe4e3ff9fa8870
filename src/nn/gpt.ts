/**
 * The decoder-only transformer, both families in one readable file.
 *
 *   gpt2:  x = wte[ids] + wpe[t];  x += attn(LN(x));  x += MLP_gelu(LN(x));  logits = LN(x)·wteᵀ
 *   llama: x = embed[ids];         x += attn(RMS(x)) with RoPE and GQA;  x += SwiGLU(RMS(x))
 *
 * Parameter names are Hugging Face's (GPT2LMHeadModel / LlamaForCausalLM), so export is
 * a rename-free write. Two storage notes: linear weights are (out, in) for both families
 * (HF's GPT-2 Conv1D stores (in, out): export transposes), and llama's q/k/v projections
 * are views into one packed (q|k|v) matrix so attention needs a single matmul.
 */
import { Tensor } from '../tensor/tensor.js';
import * as ops from '../autograd/ops.js';
import { ParameterStore, initNormal } from './parameters.js';
import { Embedding, LayerNorm, Linear, RMSNorm, inferLinear, type Norm } from './modules.js';
import { LoraAdapter, loraTerms, roleModule, type LoraConfig } from './lora.js';
import type { Kernels } from '../tensor/kernels.js';
import { type GPTConfig, headDim, parseConfig } from './config.js';
import { ropeTables } from '../tensor/ref/rope.js';

/**
 * Several sequences packed into each row of T tokens (SFT): `positions` (B·T) are the
 * position ids, restarting at 0 for each sequence, and `segStart` (B·T) is the index
 * in its row of the first token of each token's sequence, so attention never crosses a
 * sequence boundary. `packedLayout` (src/nn/packing.ts) builds both from lengths.
 */
export interface PackedRows {
  positions?: Int32Array;
  segStart?: Int32Array;
}

function makeNorm(store: ParameterStore, name: string, c: GPTConfig): Norm {
  return c.family === 'gpt2' ? new LayerNorm(store, name, c.nEmbd, c.bias, c.normEps) : new RMSNorm(store, name, c.nEmbd, c.normEps);
}

/** Attention's packed projection: one (H + 2·Hkv)·D × C matrix, rows [q | k | v]. */
export class QKVProjection {
  weight: Tensor;
  readonly bias: Tensor | null;
  /** LoRA adapters: gpt2's one on c_attn, or llama's on q_proj/k_proj/v_proj, each adding into its columns. */
  readonly lora: LoraAdapter[] = [];
  private readonly packedRows: number;

  constructor(store: ParameterStore, prefix: string, private readonly c: GPTConfig) {
    const D = headDim(c);
    const rowsQ = c.nHead * D;
    const rowsKV = c.nKvHead * D;
    this.packedRows = rowsQ + 2 * rowsKV;
    if (c.family === 'gpt2') {
      this.weight = store.declare(`${prefix}.attn.c_attn.weight`, [this.packedRows, c.nEmbd], 'decay', initNormal(0.02));
      this.bias = c.bias ? store.declare(`${prefix}.attn.c_attn.bias`, [this.packedRows], 'noDecay', initNormal(0)) : null;
      return;
    }
    // Declared back to back in one group, so the three land contiguous in the flat
    // buffer: together they are exactly the packed (q|k|v) matrix (see packAfterFinalize).
    this.weight = store.declare(`${prefix}.self_attn.q_proj.weight`, [rowsQ, c.nEmbd], 'decay', initNormal(0.02));
    store.declare(`${prefix}.self_attn.k_proj.weight`, [rowsKV, c.nEmbd], 'decay', initNormal(0.02));
    store.declare(`${prefix}.self_attn.v_proj.weight`, [rowsKV, c.nEmbd], 'decay', initNormal(0.02));
    this.bias = null;
  }

  /** For llama: widen the q_proj view to cover k_proj and v_proj, which follow it in the flat store. */
  packAfterFinalize(): void {
    if (this.c.family === 'gpt2') return;
    const q = this.weight;
    const n = this.packedRows * this.c.nEmbd;
    const packed = new Tensor(new Float32Array(q.data.buffer, q.data.byteOffset, n), [this.packedRows, this.c.nEmbd], true);
    packed.grad = q.grad === null ? null : new Float32Array(q.grad.buffer, q.grad.byteOffset, n);
    this.weight = packed;
  }

  forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias, loraTerms(this.lora)); // (B·T, (H + 2·Hkv)·D)
  }

  /** No-grad forward for the inference engine (see Linear.inferInto). */
  inferInto(K: Kernels, x: Float32Array, out: Float32Array, n: number): void {
    inferLinear(K, x, this.weight, this.bias, this.lora, out, n, false);
  }
}

export class Attention {
  readonly qkv: QKVProjection;
  readonly proj: Linear;

  constructor(store: ParameterStore, prefix: string, private readonly c: GPTConfig) {
    this.qkv = new QKVProjection(store, prefix, c);
    const residualStd = 0.02 / Math.sqrt(2 * c.nLayer);
    this.proj = c.family === 'gpt2'
      ? new Linear(store, `${prefix}.attn.c_proj`, c.nEmbd, c.nEmbd, c.bias, residualStd)
      : new Linear(store, `${prefix}.self_attn.o_proj`, c.nHead * headDim(c), c.nEmbd, false, residualStd);
  }

  forward(x: Tensor, B: number, T: number, rope: ops.RopeTables | null, packed: PackedRows = {}): Tensor {
    const c = this.c;
    let qkv = this.qkv.forward(x); // (B·T, (H + 2·Hkv)·D)
    if (rope !== null) qkv = ops.rope(qkv, rope, B, T, c.nHead + c.nKvHead, 0, packed.positions ?? null);
    const y = ops.causalAttention(qkv, B, T, c.nHead, c.nKvHead, headDim(c), packed.segStart ?? null); // (B·T, H·D)
    return this.proj.forward(y);
  }
}

export class MLP {
  readonly up: Linear;
  readonly gate: Linear | null;
  readonly down: Linear;

  constructor(store: ParameterStore, prefix: string, c: GPTConfig) {
    const residualStd = 0.02 / Math.sqrt(2 * c.nLayer);
    if (c.family === 'gpt2') {
      this.up = new Linear(store, `${prefix}.mlp.c_fc`, c.nEmbd, c.mlpHidden, c.bias);
      this.gate = null;
      this.down = new Linear(store, `${prefix}.mlp.c_proj`, c.mlpHidden, c.nEmbd, c.bias, residualStd);
    } else {
      this.gate = new Linear(store, `${prefix}.mlp.gate_proj`, c.nEmbd, c.mlpHidden, false);
      this.up = new Linear(store, `${prefix}.mlp.up_proj`, c.nEmbd, c.mlpHidden, false);
      this.down = new Linear(store, `${prefix}.mlp.down_proj`, c.mlpHidden, c.nEmbd, false, residualStd);
    }
  }

  forward(x: Tensor): Tensor {
    const h = this.gate === null
      ? ops.gelu(this.up.forward(x)) // (B·T, 4C)
      : ops.swiglu(this.gate.forward(x), this.up.forward(x));
    return this.down.forward(h);
  }
}

export class Block {
  readonly norm1: Norm;
  readonly attn: Attention;
  readonly norm2: Norm;
  readonly mlp: MLP;

  constructor(store: ParameterStore, prefix: string, c: GPTConfig) {
    const gpt2 = c.family === 'gpt2';
    this.norm1 = makeNorm(store, `${prefix}.${gpt2 ? 'ln_1' : 'input_layernorm'}`, c);
    this.attn = new Attention(store, prefix, c);
    this.norm2 = makeNorm(store, `${prefix}.${gpt2 ? 'ln_2' : 'post_attention_layernorm'}`, c);
    this.mlp = new MLP(store, prefix, c);
  }

  forward(x: Tensor, B: number, T: number, rope: ops.RopeTables | null, packed: PackedRows = {}): Tensor {
    x = ops.add(x, this.attn.forward(this.norm1.forward(x), B, T, rope, packed));
    return ops.add(x, this.mlp.forward(this.norm2.forward(x)));
  }
}

/**
 * Hooks for stages that train something beyond (or instead of) the GPT's own weights,
 * declared into the same flat store so one optimizer and one checkpoint cover them.
 */
export interface GPTOptions {
  /** Declare the GPT's own parameters in the frozen group: no gradients, no optimizer state (LoRA's base). */
  frozen?: boolean;
  /** Declares extra parameters (a reward model's scalar head) before the store is finalized. */
  extend?: (store: ParameterStore, config: GPTConfig) => void;
  /** LoRA adapters on the target linears (trainable; combine with frozen for LoRA fine-tuning). */
  lora?: LoraConfig;
}

/** Declares the adapters of `lora` on every block's target layers; returns them in declaration order. */
function attachLora(s: ParameterStore, blocks: readonly Block[], prefixes: readonly string[], c: GPTConfig, lora: LoraConfig): LoraAdapter[] {
  const out: LoraAdapter[] = [];
  const D = headDim(c);
  blocks.forEach((block, l) => {
    const p = prefixes[l];
    const add = (list: LoraAdapter[], module: string, nIn: number, nOut: number, col: number): void => {
      const a = new LoraAdapter(s, `${p}.${module}`, nIn, nOut, col, lora, out.length);
      list.push(a);
      out.push(a);
    };
    const qkv = block.attn.qkv;
    if (c.family === 'gpt2') {
      if (lora.targets.includes('q')) add(qkv.lora, roleModule('gpt2', 'q'), c.nEmbd, (c.nHead + 2 * c.nKvHead) * D, 0);
    } else {
      const cols = { q: [0, c.nHead * D], k: [c.nHead * D, c.nKvHead * D], v: [(c.nHead + c.nKvHead) * D, c.nKvHead * D] } as const;
      for (const r of ['q', 'k', 'v'] as const) if (lora.targets.includes(r)) add(qkv.lora, roleModule('llama', r), c.nEmbd, cols[r][1], cols[r][0]);
    }
    const linears: Array<[LoraConfig['targets'][number], Linear | null]> = [
      ['o', block.attn.proj], ['gate', block.mlp.gate], ['up', block.mlp.up], ['down', block.mlp.down],
    ];
    for (const [role, lin] of linears) {
      if (lin === null || !lora.targets.includes(role)) continue;
      add(lin.lora, roleModule(c.family, role), lin.nIn, lin.nOut, 0);
    }
  });
  return out;
}

export class GPT {
  readonly config: GPTConfig;
  readonly params = new ParameterStore();
  readonly tokenEmbedding: Embedding;
  readonly positionEmbedding: Embedding | null;
  readonly blocks: Block[] = [];
  readonly finalNorm: Norm;
  readonly lmHead: Tensor; // (vocab, C): the token embedding when tied
  readonly rope: ops.RopeTables | null;
  /** LoRA adapters, in declaration order (empty without options.lora). */
  readonly adapters: LoraAdapter[] = [];
  readonly lora: LoraConfig | null;

  constructor(config: GPTConfig, options: GPTOptions = {}) {
    const c = (this.config = parseConfig(config));
    const s = this.params;
    s.freezing = options.frozen ?? false;
    const gpt2 = c.family === 'gpt2';
    this.tokenEmbedding = new Embedding(s, gpt2 ? 'transformer.wte' : 'model.embed_tokens', c.vocabSize, c.nEmbd);
    this.positionEmbedding = gpt2 ? new Embedding(s, 'transformer.wpe', c.contextLength, c.nEmbd, 0.01) : null;
    const prefixes = Array.from({ length: c.nLayer }, (_, i) => (gpt2 ? `transformer.h.${i}` : `model.layers.${i}`));
    for (const p of prefixes) this.blocks.push(new Block(s, p, c));
    this.finalNorm = makeNorm(s, gpt2 ? 'transformer.ln_f' : 'model.norm', c);
    this.lmHead = c.tiedEmbeddings
      ? this.tokenEmbedding.weight
      : s.declare('lm_head.weight', [c.vocabSize, c.nEmbd], 'decay', initNormal(0.02));
    s.freezing = false;
    this.lora = options.lora ?? null;
    if (options.lora) this.adapters.push(...attachLora(s, this.blocks, prefixes, c, options.lora));
    options.extend?.(s, c);
    s.finalize();
    for (const block of this.blocks) block.attn.qkv.packAfterFinalize();
    this.rope = gpt2 ? null : { ...ropeTables(c.contextLength, headDim(c), c.ropeTheta), maxPos: c.contextLength, headDim: headDim(c) };
  }

  /** Fresh weights from a seed (nanoGPT's scheme: N(0, 0.02), residual projections scaled by 1/√(2L)). */
  init(seed: number): this {
    this.params.initialize(seed);
    return this;
  }

  /**
   * Final hidden states (B·T, C) for token ids (B·T), after the last norm. `packed`
   * runs rows that hold several sequences (see PackedRows); without it each row is one
   * sequence at positions 0 .. T-1.
   */
  hidden(ids: Int32Array, B: number, T: number, packed: PackedRows = {}): Tensor {
    const c = this.config;
    if (ids.length !== B * T) throw new RangeError(`GPT: ${ids.length} token ids for batch ${B} × sequence ${T}`);
    if (T > c.contextLength) throw new RangeError(`GPT: sequence of ${T} tokens exceeds the context length ${c.contextLength}`);
    const positions = packed.positions ?? null;
    if (positions !== null && positions.length !== B * T) {
      throw new RangeError(`GPT: ${positions.length} position ids for batch ${B} × sequence ${T}`);
    }
    if (packed.segStart !== undefined && packed.segStart.length !== B * T) {
      throw new RangeError(`GPT: ${packed.segStart.length} segment starts for batch ${B} × sequence ${T}`);
    }
    let x = this.tokenEmbedding.forward(ids); // (B·T, C)
    if (this.positionEmbedding !== null) x = ops.addPositions(x, this.positionEmbedding.weight, B, T, positions);
    for (const block of this.blocks) x = block.forward(x, B, T, this.rope, packed);
    return this.finalNorm.forward(x);
  }

  /** Mean next-token cross-entropy; targets < 0 are ignored. */
  loss(ids: Int32Array, targets: Int32Array, B: number, T: number, packed: PackedRows = {}): Tensor {
    return ops.lmHeadCrossEntropy(this.hidden(ids, B, T, packed), this.lmHead, targets);
  }

  /** Logits (B·T, vocab). */
  logits(ids: Int32Array, B: number, T: number, packed: PackedRows = {}): Tensor {
    return ops.linear(this.hidden(ids, B, T, packed), this.lmHead);
  }

  /**
   * Log-probability of each target token, (B·T), on the tape: log softmax(logits[i])[targets[i]],
   * 0 where targets[i] < 0. Chunked over rows, so the (B·T, vocab) logits never exist at once.
   * Sum a sequence's entries for its log-likelihood (DPO, reward scoring, best-of-N).
   */
  tokenLogProbs(ids: Int32Array, targets: Int32Array, B: number, T: number, packed: PackedRows = {}): Tensor {
    return ops.lmHeadLogProbs(this.hidden(ids, B, T, packed), this.lmHead, targets);
  }

  /** Parameters excluding position embeddings (the N of the 6·N FLOPs-per-token estimate). */
  get nonEmbeddingCount(): number {
    return this.params.count - (this.positionEmbedding?.weight.size ?? 0);
  }

  /**
   * Training FLOPs per token for context T: 6·N for the matmuls with parameters
   * (forward 2N, backward 4N) plus 12·L·T·C for attention scores and values.
   */
  flopsPerToken(T = this.config.contextLength): number {
    const c = this.config;
    return 6 * this.nonEmbeddingCount + 12 * c.nLayer * T * c.nEmbd;
  }
}
