/** Hugging Face config.json fields for a GPTConfig (GPT2LMHeadModel / LlamaForCausalLM), plus our exact config. */
import type { GPTConfig } from '../nn/config.js';

export function hfConfig(c: GPTConfig): Record<string, unknown> {
  const common = { vocab_size: c.vocabSize, tie_word_embeddings: c.tiedEmbeddings, torch_dtype: 'float32', llmforge: c };
  if (c.family === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', n_positions: c.contextLength, n_ctx: c.contextLength,
      n_embd: c.nEmbd, n_layer: c.nLayer, n_head: c.nHead, n_inner: c.mlpHidden, layer_norm_epsilon: c.normEps,
      activation_function: 'gelu_new', ...common,
    };
  }
  return {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', max_position_embeddings: c.contextLength,
    hidden_size: c.nEmbd, intermediate_size: c.mlpHidden, num_hidden_layers: c.nLayer, num_attention_heads: c.nHead,
    num_key_value_heads: c.nKvHead, rms_norm_eps: c.normEps, rope_theta: c.ropeTheta, hidden_act: 'silu', ...common,
  };
}
