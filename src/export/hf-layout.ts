/**
 * Hugging Face's tensor layout, both ways. Our parameter names already are HF's
 * (GPT2LMHeadModel / LlamaForCausalLM), so the map is:
 *
 *   gpt2   attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj weights: HF's Conv1D stores (in, out),
 *          we store (out, in) → transposed both ways. A bias-free model gets zero biases
 *          (HF's GPT-2 always has them: every Linear/Conv1D and LayerNorm bias).
 *   llama  identical names and layouts; q/k/v are three tensors in HF and three views of one
 *          packed buffer here, so each is simply copied.
 *   both   lm_head.weight only when untied (HF re-ties it from the embedding on load).
 */
import type { GPT } from '../nn/gpt.js';
import type { GPTConfig } from '../nn/config.js';
import { shapeString } from '../tensor/tensor.js';
import type { NamedTensor, TensorMap } from '../tensor/safetensors.js';

const CONV1D = /^transformer\.h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
/** Weights of gpt2 layers that have a bias in HF: Conv1D projections and LayerNorms. */
const GPT2_BIASED = /^transformer\.(h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj|ln_1|ln_2)|ln_f)\.weight$/;
/** Buffers older transformers versions saved with GPT-2 / Llama weights: not parameters. */
const BUFFERS = /(\.attn\.bias|\.attn\.masked_bias|\.rotary_emb\.inv_freq)$/;

/** (rows, cols) → (cols, rows). */
export function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** The model's tensors under HF names and layouts, in HF's state_dict order. */
export function toHfTensors(model: GPT): Array<[string, NamedTensor]> {
  const c = model.config;
  const zeroBiases = c.family === 'gpt2' && !c.bias;
  const out: Array<[string, NamedTensor]> = [];
  for (const [name, t] of model.params.named()) {
    if (CONV1D.test(name)) {
      const [rows, cols] = t.shape;
      out.push([name, { shape: [cols, rows], data: transpose(t.data, rows, cols) }]);
    } else {
      out.push([name, { shape: [...t.shape], data: t.data }]);
    }
    if (zeroBiases && GPT2_BIASED.test(name)) {
      const n = t.shape[0]; // LayerNorm (C) or Linear (out, in): the bias has `out` entries
      out.push([name.replace(/\.weight$/, '.bias'), { shape: [n], data: new Float32Array(n) }]);
    }
  }
  return out;
}

/**
 * Tensor names with the base model's prefix (`transformer.` for gpt2, `model.` for llama). Checkpoints saved
 * from the headless model (GPT2Model / LlamaModel, e.g. OpenAI's gpt2 on the Hub) lack it; transformers adds
 * it on load, and so do we.
 */
export function withBasePrefix(tensors: TensorMap, family: GPTConfig['family']): TensorMap {
  const prefix = family === 'gpt2' ? 'transformer.' : 'model.';
  if ([...tensors.keys()].every((n) => n.startsWith(prefix) || n === 'lm_head.weight')) return tensors;
  return new Map([...tensors].map(([n, t]) => [n.startsWith(prefix) || n === 'lm_head.weight' ? n : prefix + n, t]));
}

/** Whether a gpt2 checkpoint's biases are all absent or exactly zero (a bias-free model). */
export function gpt2BiasesAreZero(tensors: TensorMap): boolean {
  for (const [name, t] of tensors) {
    if (!name.endsWith('.bias') || BUFFERS.test(name)) continue;
    if (!GPT2_BIASED.test(name.replace(/\.bias$/, '.weight'))) continue;
    for (let i = 0; i < t.data.length; i++) if (t.data[i] !== 0) return false;
  }
  return true;
}

/**
 * Copies HF tensors into the model's parameters (inverse of toHfTensors). Every parameter
 * must be present with HF's shape; a tensor the model has no place for is an error naming
 * it (zero biases of a bias-free gpt2 and a tied lm_head equal to the embedding excepted).
 */
export function loadHfTensors(model: GPT, tensors: TensorMap, source: string): void {
  const c: GPTConfig = model.config;
  const used = new Set<string>();
  for (const [name, t] of model.params.named()) {
    const src = tensors.get(name);
    if (!src) throw new Error(`${source}: missing tensor ${name} (the ${c.family} model of config.json needs it)`);
    used.add(name);
    const conv = CONV1D.test(name);
    const want = conv ? [t.shape[1], t.shape[0]] : [...t.shape];
    if (src.shape.length !== want.length || src.shape.some((d, i) => d !== want[i])) {
      throw new Error(`${source}: tensor ${name} has shape ${shapeString(src.shape)}, config.json implies ${shapeString(want)}`);
    }
    t.data.set(conv ? transpose(src.data, want[0], want[1]) : src.data);
  }
  for (const [name, t] of tensors) {
    if (used.has(name) || BUFFERS.test(name)) continue;
    if (c.family === 'gpt2' && !c.bias && name.endsWith('.bias') && GPT2_BIASED.test(name.replace(/\.bias$/, '.weight'))) continue;
    if (name === 'lm_head.weight' && c.tiedEmbeddings) {
      const emb = model.tokenEmbedding.weight.data;
      if (t.data.length === emb.length && t.data.every((v, i) => v === emb[i])) continue;
      throw new Error(`${source}: lm_head.weight differs from the token embedding but config.json has tie_word_embeddings: true`);
    }
    throw new Error(`${source}: unexpected tensor ${name} (not part of a ${c.family} model as config.json describes it)`);
  }
}
