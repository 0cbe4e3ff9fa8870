/**
 * `llmforge export --format gguf`: one GGUF v3 file llama.cpp runs (architectures gpt2, llama).
 *
 * Tensor names (llama.cpp's, as convert_hf_to_gguf.py maps them):
 *   token_embd, position_embd (gpt2), output_norm, output (untied only: llama.cpp reuses
 *   token_embd when it is absent), and per layer blk.N.:
 *   gpt2   attn_norm, attn_qkv, attn_output, ffn_norm, ffn_up, ffn_down (weights and biases;
 *          zero biases for a bias-free model, llama.cpp requires them)
 *   llama  attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down
 *
 * Linear weights are (out, in) row-major, which is ggml's layout for ne = [in, out].
 * llama.cpp's llama RoPE rotates adjacent pairs (x[2i], x[2i+1]) while ours (and HF's) rotates
 * halves (x[i], x[i + D/2]); permuting the rows of each q and k head — row 2i ← i,
 * row 2i+1 ← i + D/2 — makes the two compute the same attention scores.
 *
 * --dtype: f32 everywhere; f16 for matrices (vectors stay f32, as llama.cpp expects);
 * q8_0 for matrices whose rows are whole blocks of 32, f16 for the rest.
 */
import type { GPT } from '../nn/gpt.js';
import { headDim, type GPTConfig } from '../nn/config.js';
import type { BpeTokenizer } from '../tokenizer/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { encodeGguf, f32, GgmlType, str, u32, type GgufTensor, type GgufValue } from './gguf.js';
import { ggufTokenizerMetadata } from './gguf-tokenizer.js';
import { Q8_0_BLOCK, quantizeQ8_0, toF16Bytes, toF32Bytes } from './quant.js';

export type GgufDtype = 'f32' | 'f16' | 'q8_0';
/** general.file_type: llama_ftype ALL_F32, MOSTLY_F16, MOSTLY_Q8_0. */
const FILE_TYPE: Record<GgufDtype, number> = { f32: 0, f16: 1, q8_0: 7 };

/** Rows of each head reordered from rotate-half to adjacent pairs (convert_hf_to_gguf's permute). */
export function permuteRope(data: Float32Array, heads: number, D: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  const half = D / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (const [dst, src] of [[2 * i, i], [2 * i + 1, i + half]]) {
        out.set(data.subarray((h * D + src) * cols, (h * D + src + 1) * cols), (h * D + dst) * cols);
      }
    }
  }
  return out;
}

/** (GGUF name, our parameter name) for every tensor llama.cpp loads. */
function tensorMap(c: GPTConfig): Array<[string, string]> {
  const gpt2 = c.family === 'gpt2';
  const map: Array<[string, string]> = [[ 'token_embd.weight', gpt2 ? 'transformer.wte.weight' : 'model.embed_tokens.weight']];
  if (gpt2) map.push(['position_embd.weight', 'transformer.wpe.weight']);
  const layer = gpt2
    ? { attn_norm: 'ln_1', attn_qkv: 'attn.c_attn', attn_output: 'attn.c_proj', ffn_norm: 'ln_2', ffn_up: 'mlp.c_fc', ffn_down: 'mlp.c_proj' }
    : {
      attn_norm: 'input_layernorm', attn_q: 'self_attn.q_proj', attn_k: 'self_attn.k_proj', attn_v: 'self_attn.v_proj',
      attn_output: 'self_attn.o_proj', ffn_norm: 'post_attention_layernorm', ffn_gate: 'mlp.gate_proj', ffn_up: 'mlp.up_proj',
      ffn_down: 'mlp.down_proj',
    };
  for (let i = 0; i < c.nLayer; i++) {
    for (const [g, ours] of Object.entries(layer)) {
      const prefix = gpt2 ? `transformer.h.${i}` : `model.layers.${i}`;
      map.push([`blk.${i}.${g}.weight`, `${prefix}.${ours}.weight`]);
      if (gpt2) map.push([`blk.${i}.${g}.bias`, `${prefix}.${ours}.bias`]);
    }
  }
  map.push(['output_norm.weight', gpt2 ? 'transformer.ln_f.weight' : 'model.norm.weight']);
  if (gpt2) map.push(['output_norm.bias', 'transformer.ln_f.bias']);
  if (!c.tiedEmbeddings) map.push(['output.weight', 'lm_head.weight']);
  return map;
}

function encodeTensor(name: string, shape: number[], data: Float32Array, dtype: GgufDtype): GgufTensor {
  const matrix = shape.length === 2;
  if (!matrix || dtype === 'f32') return { name, shape, type: GgmlType.F32, data: toF32Bytes(data) };
  if (dtype === 'q8_0' && shape[1] % Q8_0_BLOCK === 0) return { name, shape, type: GgmlType.Q8_0, data: quantizeQ8_0(data) };
  return { name, shape, type: GgmlType.F16, data: toF16Bytes(data) };
}

export function ggufTensors(model: GPT, dtype: GgufDtype, onTensor?: (done: number, total: number) => void): GgufTensor[] {
  const c = model.config;
  const params = new Map(model.params.named());
  const D = headDim(c);
  const map = tensorMap(c);
  return map.map(([gname, ours], i) => {
    onTensor?.(i + 1, map.length);
    const t = params.get(ours);
    if (t === undefined) {
      // A bias-free gpt2: llama.cpp's graph has the biases, so they are written as zeros.
      const width = ours.includes('.c_attn.') ? 3 * c.nEmbd : ours.includes('.c_fc.') ? c.mlpHidden : c.nEmbd;
      return encodeTensor(gname, [width], new Float32Array(width), dtype);
    }
    let data = t.data;
    if (gname.endsWith('attn_q.weight')) data = permuteRope(data, c.nHead, D, c.nEmbd);
    if (gname.endsWith('attn_k.weight')) data = permuteRope(data, c.nKvHead, D, c.nEmbd);
    return encodeTensor(gname, [...t.shape], data, dtype);
  });
}

export function ggufModelMetadata(c: GPTConfig, name: string, dtype: GgufDtype): Array<[string, GgufValue]> {
  const a = c.family;
  const meta: Array<[string, GgufValue]> = [
    ['general.architecture', str(a)],
    ['general.name', str(name)],
    ['general.file_type', u32(FILE_TYPE[dtype])],
    ['general.quantization_version', u32(2)],
    [`${a}.vocab_size`, u32(c.vocabSize)],
    [`${a}.context_length`, u32(c.contextLength)],
    [`${a}.embedding_length`, u32(c.nEmbd)],
    [`${a}.feed_forward_length`, u32(c.mlpHidden)],
    [`${a}.block_count`, u32(c.nLayer)],
    [`${a}.attention.head_count`, u32(c.nHead)],
    [`${a}.attention.head_count_kv`, u32(c.nKvHead)],
  ];
  if (a === 'gpt2') {
    meta.push([`${a}.attention.layer_norm_epsilon`, f32(c.normEps)]);
  } else {
    meta.push([`${a}.attention.layer_norm_rms_epsilon`, f32(c.normEps)]);
    meta.push([`${a}.rope.freq_base`, f32(c.ropeTheta)]);
    meta.push([`${a}.rope.dimension_count`, u32(headDim(c))]);
  }
  return meta;
}

export interface GgufExportResult {
  tensors: number;
  bytes: number;
}

export function exportGguf(model: GPT, tokenizer: BpeTokenizer, out: string, dtype: GgufDtype,
  opts: { name: string; chatTemplate: string | null; onTensor?: (done: number, total: number) => void }): GgufExportResult {
  const c = model.config;
  if (tokenizer.vocabSize > c.vocabSize) throw new Error(`tokenizer: ${tokenizer.vocabSize} ids, more than the model's vocabulary ${c.vocabSize}`);
  const meta = [...ggufModelMetadata(c, opts.name, dtype), ...ggufTokenizerMetadata(tokenizer, c.vocabSize, opts.chatTemplate)];
  const tensors = ggufTensors(model, dtype, opts.onTensor);
  const chunks = encodeGguf(meta, tensors);
  writeFileAtomic(out, chunks);
  return { tensors: tensors.length, bytes: chunks.reduce((n, b) => n + b.length, 0) };
}
