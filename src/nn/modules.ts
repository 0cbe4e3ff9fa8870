/** The building blocks: Linear, Embedding, and the two norms, each owning its parameters. */
import type { Tensor } from '../tensor/tensor.js';
import * as ops from '../autograd/ops.js';
import { ParameterStore, initNormal, initOnes, initZeros } from './parameters.js';

export class Linear {
  readonly weight: Tensor; // (out, in), as torch.nn.Linear
  readonly bias: Tensor | null;

  constructor(store: ParameterStore, name: string, nIn: number, nOut: number, bias: boolean, std = 0.02) {
    this.weight = store.declare(`${name}.weight`, [nOut, nIn], 'decay', initNormal(std));
    this.bias = bias ? store.declare(`${name}.bias`, [nOut], 'noDecay', initZeros) : null;
  }

  forward(x: Tensor): Tensor {
    return ops.linear(x, this.weight, this.bias);
  }
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
