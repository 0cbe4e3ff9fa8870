/**
 * The autograd graph of one step: a tape of backward closures plus two arenas
 * (activations and their gradients). The same model run on the same shapes asks
 * the arenas for the same sizes in the same order every step, so after the first
 * step every buffer is reused and nothing new is allocated.
 */
import { Tensor } from '../tensor/tensor.js';

export class Arena {
  private slots: Float32Array[] = [];
  private cursor = 0;
  /** Buffers created so far (tests assert it stops growing after the first step). */
  allocations = 0;

  alloc(n: number): Float32Array {
    let slot = this.slots[this.cursor];
    if (slot === undefined || slot.length !== n) {
      slot = new Float32Array(n);
      this.slots[this.cursor] = slot;
      this.allocations++;
    }
    this.cursor++;
    return slot;
  }

  allocZeroed(n: number): Float32Array {
    const slot = this.alloc(n);
    slot.fill(0);
    return slot;
  }

  reset(): void {
    this.cursor = 0;
  }
}

export class Graph {
  readonly activations = new Arena();
  readonly gradients = new Arena();
  private tape: Array<() => void> = [];

  /** @param recording false for inference: ops skip the tape and never need gradients. */
  constructor(public recording = true) {}

  /** Starts a new step: forgets the tape, rewinds both arenas. */
  reset(): void {
    this.tape.length = 0;
    this.activations.reset();
    this.gradients.reset();
  }

  /** A fresh activation tensor from the arena (contents undefined until written). */
  tensor(shape: readonly number[], requiresGrad: boolean): Tensor {
    let n = 1;
    for (const d of shape) n *= d;
    return new Tensor(this.activations.alloc(n), shape, requiresGrad && this.recording);
  }

  /** The gradient buffer of t, created zeroed on first use. */
  gradOf(t: Tensor): Float32Array {
    if (t.grad === null) t.grad = this.gradients.allocZeroed(t.size);
    return t.grad;
  }

  push(backward: () => void): void {
    if (this.recording) this.tape.push(backward);
  }

  /** Backpropagates from a scalar: d(loss)/d(loss) = scale (1 unless accumulating). */
  backward(loss: Tensor, scale = 1): void {
    if (!this.recording) throw new Error('backward(): this graph was built without recording (no-grad mode)');
    if (loss.size !== 1) throw new RangeError(`backward(): loss must be a scalar, got shape [${loss.shape.join(', ')}]`);
    this.gradOf(loss)[0] = scale;
    for (let i = this.tape.length - 1; i >= 0; i--) this.tape[i]();
    this.tape.length = 0;
  }

  get allocations(): number {
    return this.activations.allocations + this.gradients.allocations;
  }
}

let active: Graph = new Graph(false);

/** The graph ops record into. Defaults to a non-recording (inference) graph. */
export function graph(): Graph {
  return active;
}

/** Makes g the active graph for fn, restoring the previous one after. */
export function withGraph<T>(g: Graph, fn: () => T): T {
  const prev = active;
  active = g;
  try {
    return fn();
  } finally {
    active = prev;
  }
}
