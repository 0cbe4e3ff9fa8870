/**
 * A tensor is a row-major Float32Array with a shape. Parameters own long-lived views
 * into one flat buffer (see nn/parameters.ts); activations borrow buffers from the
 * step arena (autograd/context.ts), so steady-state training allocates nothing.
 */
export class Tensor {
  /** Gradient of the same size as data, or null until something needs it. */
  grad: Float32Array | null = null;

  constructor(
    public data: Float32Array,
    public readonly shape: readonly number[],
    public readonly requiresGrad = false,
  ) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new RangeError(`Tensor: data has ${data.length} elements but shape [${shape.join(', ')}] needs ${size}`);
    }
  }

  get size(): number {
    return this.data.length;
  }

  /** Reads the single element of a scalar tensor. */
  item(): number {
    if (this.data.length !== 1) throw new RangeError(`item(): tensor of shape [${this.shape.join(', ')}] is not a scalar`);
    return this.data[0];
  }

  static zeros(shape: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(new Float32Array(shapeSize(shape)), shape, requiresGrad);
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid shape [${shape.join(', ')}]: sizes must be non-negative integers`);
    n *= d;
  }
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
