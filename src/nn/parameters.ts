/**
 * All parameters of a model live in one flat Float32Array (and the trainable ones'
 * gradients in another), grouped so that the optimizer runs one fused AdamW call per group:
 * [decay | noDecay | frozen]. Modules declare parameters by Hugging Face name; the
 * store hands back tensors whose data/grad become views into the flat buffers once
 * the model is complete (finalize).
 */
import { Tensor } from '../tensor/tensor.js';
import { Random } from '../tensor/random.js';

/** decay: matrices; noDecay: norms, biases, embeddings; frozen: not trained (LoRA bases). */
export type ParamGroup = 'decay' | 'noDecay' | 'frozen';
export type Init = (data: Float32Array, rng: Random) => void;

interface Entry {
  name: string;
  tensor: Tensor;
  group: ParamGroup;
  init: Init;
}

const GROUP_ORDER: readonly ParamGroup[] = ['decay', 'noDecay', 'frozen'];

export class ParameterStore {
  private entries: Entry[] = [];
  private finalized = false;
  data = new Float32Array(0);
  grad = new Float32Array(0);
  /** [start, end) of each group in the flat buffers. */
  readonly ranges = new Map<ParamGroup, [number, number]>();
  /** While true, every declared parameter goes to the frozen group (a base model under LoRA). */
  freezing = false;

  declare(name: string, shape: readonly number[], group: ParamGroup, init: Init): Tensor {
    if (this.finalized) throw new Error(`parameter ${name}: declared after the model was finalized`);
    if (this.freezing) group = 'frozen';
    if (this.entries.some((e) => e.name === name)) throw new Error(`parameter ${name}: declared twice`);
    const t = Tensor.zeros(shape, group !== 'frozen');
    this.entries.push({ name, tensor: t, group, init });
    return t;
  }

  /** Allocates the flat buffers and re-points every parameter into them. */
  finalize(): void {
    if (this.finalized) return;
    const total = this.entries.reduce((s, e) => s + e.tensor.size, 0);
    this.data = new Float32Array(total);
    // Frozen parameters come last and have no gradient: the buffer covers the trainable groups only.
    const trainable = this.entries.reduce((s, e) => s + (e.group === 'frozen' ? 0 : e.tensor.size), 0);
    this.grad = new Float32Array(trainable);
    let offset = 0;
    for (const group of GROUP_ORDER) {
      const start = offset;
      for (const e of this.entries) {
        if (e.group !== group) continue;
        const n = e.tensor.size;
        const view = this.data.subarray(offset, offset + n);
        view.set(e.tensor.data);
        e.tensor.data = view;
        e.tensor.grad = group === 'frozen' ? null : this.grad.subarray(offset, offset + n);
        offset += n;
      }
      this.ranges.set(group, [start, offset]);
    }
    this.finalized = true;
  }

  /** Initializes every parameter in declaration order from one seed. */
  initialize(seed: number): void {
    const rng = new Random(seed);
    for (const e of this.entries) e.init(e.tensor.data, rng);
  }

  zeroGrad(): void {
    this.grad.fill(0);
  }

  /** (name, tensor) in declaration order, Hugging Face names. */
  named(): Array<[string, Tensor]> {
    return this.entries.map((e) => [e.name, e.tensor]);
  }

  get(name: string): Tensor {
    const e = this.entries.find((x) => x.name === name);
    if (!e) throw new Error(`no parameter named ${name}`);
    return e.tensor;
  }

  groupOf(name: string): ParamGroup {
    const e = this.entries.find((x) => x.name === name);
    if (!e) throw new Error(`no parameter named ${name}`);
    return e.group;
  }

  /** Number of parameter elements (trainable and frozen). */
  get count(): number {
    return this.data.length;
  }
}

export const initNormal = (std: number): Init => (data, rng) => {
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
};
export const initZeros: Init = (data) => data.fill(0);
export const initOnes: Init = (data) => data.fill(1);
