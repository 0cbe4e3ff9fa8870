/** The building blocks: Linear, Embedding, and the two norms, each owning its parameters. */
import type { Tensor } from '../tensor/tensor.js';
import type { Kernels } from '../tensor/kernels.js';
import * as ops from '../autograd/ops.js';
import { ParameterStore, initNormal, initOnes, initZeros } from './parameters.js';
import { loraTerms, type LoraAdapter } from './lora.js';

export class Linear {
  readonly weight: Tensor; // (out, in), as torch.nn.Linear
  readonly bias: Tensor | null;
  /** LoRA adapters on this layer (none unless the model was built with options.lora). */
  readonly lora: LoraAdapter[] = [];

  constructor(store: ParameterStore, readonly name: string, readonly nIn: number, readonly nOut: number, bias: boolean, std = 0.02) {
    this.weight = store.declare(`${name}.weight`, [nOut, nIn], 'decay', initNormal(std));
    this.bias = bias ? store.declare(`${name}.bias`, [nOut], 'noDecay', initZeros) : null;
  }

  forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias, loraTerms(this.lora));
  }

  /**
   * The same layer without autograd, for the inference engine: out (n, out) = x·Wᵀ + b +
   * adapters, or out += that when `accumulate` (a residual add folded into the matmul).
   */
  inferInto(K: Kernels, x: Float32Array, out: Float32Array, n: number, accumulate: boolean): void {
    inferLinear(K, x, this.weight, this.bias, this.lora, out, n, accumulate);
  }
}

/** Linear's no-grad forward, shared by Linear and the packed qkv projection. */
export function inferLinear(
  K: Kernels, x: Float32Array, w: Tensor, b: Tensor | null, lora: readonly LoraAdapter[], out: Float32Array, n: number, accumulate: boolean,
): void {
  const [nOut, nIn] = w.shape;
  K.matmul(x, w.data, out, 1, n, nOut, nIn, false, true, accumulate);
  if (b !== null) K.addBias(out, b.data, n, nOut);
  if (lora.length > 0) ops.loraForward(K, x, n, nIn, out, nOut, loraTerms(lora), false);
}

export class Embedding {
  readonly weight: Tensor; // (vocab, dim)

  constructor(store: ParameterStore, name: string, vocab: number, dim: number, std = 0.02) {
    this.weight = store.declare(`${name}.weight`, [vocab, dim], 'noDecay', initNormal(std));
  }

  forward(ids: Int32Array): Tensor {
    return ops.embedding(ids, this.weight);
  }
}

export class LayerNorm {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(store: ParameterStore, name: string, dim: number, bias: boolean, readonly eps: number) {
    this.weight = store.declare(`${name}.weight`, [dim], 'noDecay', initOnes);
    this.bias = bias ? store.declare(`${name}.bias`, [dim], 'noDecay', initZeros) : null;
  }

  forward(x: Tensor): Tensor {
    return ops.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class RMSNorm {
  readonly weight: Tensor;

  constructor(store: ParameterStore, name: string, dim: number, readonly eps: number) {
    this.weight = store.declare(`${name}.weight`, [dim], 'noDecay', initOnes);
  }

  forward(x: Tensor): Tensor {
    return ops.rmsNorm(x, this.weight, this.eps);
  }
}

export type Norm = LayerNorm | RMSNorm;
