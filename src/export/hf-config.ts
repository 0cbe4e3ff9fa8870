/**
 * config.json, both ways: our GPTConfig ↔ Hugging Face's GPT2Config / LlamaConfig fields.
 *
 * Reading follows transformers' own defaults for absent fields (GPT2Config, LlamaConfig), so
 * a config means here what it means there. Any field that would change the computation in a
 * way our model does not implement is one error naming the field.
 */
import { parseConfig, type GPTConfig } from '../nn/config.js';

/** Token ids that config.json and generation_config.json carry. */
export interface SpecialIds {
  bos: number | null;
  /** Every id that ends generation (HF accepts a list). */
  eos: number[];
  pad: number | null;
}

export type HfTorchDtype = 'float32' | 'float16' | 'bfloat16';

export function toHfConfig(c: GPTConfig, ids: SpecialIds, dtype: HfTorchDtype): Record<string, unknown> {
  const tokens = {
    bos_token_id: ids.bos,
    eos_token_id: ids.eos.length === 1 ? ids.eos[0] : ids.eos,
    ...(ids.pad !== null ? { pad_token_id: ids.pad } : {}),
  };
  if (c.family === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2',
      vocab_size: c.vocabSize, n_positions: c.contextLength, n_ctx: c.contextLength, n_embd: c.nEmbd, n_layer: c.nLayer,
      n_head: c.nHead, n_inner: c.mlpHidden, activation_function: 'gelu_new', layer_norm_epsilon: c.normEps,
      resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0, scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false,
      reorder_and_upcast_attn: false, tie_word_embeddings: c.tiedEmbeddings, use_cache: true, ...tokens, torch_dtype: dtype,
    };
  }
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama',
    vocab_size: c.vocabSize, max_position_embeddings: c.contextLength, hidden_size: c.nEmbd, intermediate_size: c.mlpHidden,
    num_hidden_layers: c.nLayer, num_attention_heads: c.nHead, num_key_value_heads: c.nKvHead, head_dim: c.nEmbd / c.nHead,
    hidden_act: 'silu', rms_norm_eps: c.normEps, rope_theta: c.ropeTheta, rope_scaling: null, attention_bias: false,
    mlp_bias: false, attention_dropout: 0, pretraining_tp: 1, initializer_range: 0.02, tie_word_embeddings: c.tiedEmbeddings,
    use_cache: true, ...tokens, torch_dtype: dtype,
  };
}

type Json = Record<string, unknown>;

/** A field of the config, transformers' default when absent or null; a wrong type is an error naming it. */
function field<T extends number | boolean | string>(raw: Json, path: string, name: string, fallback: T): T {
  const v = raw[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== typeof fallback) throw new Error(`${path}: field "${name}" must be a ${typeof fallback}, got ${JSON.stringify(v)}`);
  return v as T;
}

function unsupported(path: string, name: string, value: unknown, why: string): never {
  throw new Error(`${path}: unsupported field "${name}": ${JSON.stringify(value)} (${why})`);
}

const ARCHITECTURES: Record<string, 'gpt2' | 'llama'> = { GPT2LMHeadModel: 'gpt2', LlamaForCausalLM: 'llama' };

/**
 * The family and config of an HF config.json. `bias` is provisional for gpt2 (HF's GPT-2
 * always has biases; the importer turns them off when every bias tensor is zero).
 */
export function fromHfConfig(raw: unknown, path: string): GPTConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${path}: not a JSON object`);
  const r = raw as Json;
  const archs = r.architectures;
  const arch = Array.isArray(archs) && archs.length > 0 ? String(archs[0]) : undefined;
  const modelType = typeof r.model_type === 'string' ? r.model_type : undefined;
  const family = arch !== undefined ? ARCHITECTURES[arch] : modelType === 'gpt2' || modelType === 'llama' ? modelType : undefined;
  if (family === undefined || (modelType !== undefined && modelType !== family)) {
    throw new Error(`${path}: unsupported architecture ${arch ?? '(none)'} (model_type ${modelType ?? '(none)'}): ` +
      'llmforge imports GPT2LMHeadModel (model_type gpt2) and LlamaForCausalLM (model_type llama)');
  }
  return parseConfig(family === 'gpt2' ? gpt2Config(r, path) : llamaConfig(r, path), path);
}

function gpt2Config(r: Json, path: string): GPTConfig {
  const act = field<string>(r, path, 'activation_function', 'gelu_new');
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') unsupported(path, 'activation_function', act, 'llmforge\'s GELU is the tanh approximation: gelu_new');
  if (!field<boolean>(r, path, 'scale_attn_weights', true)) unsupported(path, 'scale_attn_weights', false, 'attention is always scaled by 1/√d');
  if (field<boolean>(r, path, 'scale_attn_by_inverse_layer_idx', false)) unsupported(path, 'scale_attn_by_inverse_layer_idx', true, 'not implemented');
  if (field<boolean>(r, path, 'add_cross_attention', false)) unsupported(path, 'add_cross_attention', true, 'decoder-only models only');
  const nEmbd = field<number>(r, path, 'n_embd', 768);
  const nHead = field<number>(r, path, 'n_head', 12);
  return {
    family: 'gpt2',
    vocabSize: field<number>(r, path, 'vocab_size', 50257),
    contextLength: field<number>(r, path, 'n_positions', 1024),
    nLayer: field<number>(r, path, 'n_layer', 12),
    nHead,
    nKvHead: nHead,
    nEmbd,
    mlpHidden: field<number>(r, path, 'n_inner', 4 * nEmbd),
    bias: true,
    tiedEmbeddings: field<boolean>(r, path, 'tie_word_embeddings', true),
    normEps: field<number>(r, path, 'layer_norm_epsilon', 1e-5),
    ropeTheta: 10000,
  };
}

function llamaConfig(r: Json, path: string): GPTConfig {
  const act = field<string>(r, path, 'hidden_act', 'silu');
  if (act !== 'silu') unsupported(path, 'hidden_act', act, 'llmforge\'s llama MLP is SwiGLU with SiLU');
  if (r.rope_scaling !== undefined && r.rope_scaling !== null) unsupported(path, 'rope_scaling', r.rope_scaling, 'only plain RoPE is implemented');
  if (field<boolean>(r, path, 'attention_bias', false)) unsupported(path, 'attention_bias', true, 'llama-family layers have no biases here');
  if (field<boolean>(r, path, 'mlp_bias', false)) unsupported(path, 'mlp_bias', true, 'llama-family layers have no biases here');
  const nEmbd = field<number>(r, path, 'hidden_size', 4096);
  const nHead = field<number>(r, path, 'num_attention_heads', 32);
  const headDim = field(r, path, 'head_dim', nEmbd / nHead);
  if (headDim !== nEmbd / nHead) unsupported(path, 'head_dim', headDim, `must equal hidden_size / num_attention_heads = ${nEmbd / nHead}`);
  const partial = r.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) unsupported(path, 'partial_rotary_factor', partial, 'RoPE covers the whole head');
  return {
    family: 'llama',
    vocabSize: field<number>(r, path, 'vocab_size', 32000),
    contextLength: field<number>(r, path, 'max_position_embeddings', 2048),
    nLayer: field<number>(r, path, 'num_hidden_layers', 32),
    nHead,
    nKvHead: field(r, path, 'num_key_value_heads', nHead),
    nEmbd,
    mlpHidden: field<number>(r, path, 'intermediate_size', 11008),
    bias: false,
    tiedEmbeddings: field<boolean>(r, path, 'tie_word_embeddings', false),
    normEps: field<number>(r, path, 'rms_norm_eps', 1e-6),
    ropeTheta: field<number>(r, path, 'rope_theta', 10000),
  };
}
