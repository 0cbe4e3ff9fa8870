/** Shape checks shared by the ops: every failure names the op and the shapes involved. */
import { Tensor, shapeString } from '../tensor/tensor.js';

export class ShapeError extends RangeError {
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.name = 'ShapeError';
  }
}

export function lastDim(t: Tensor): number {
  return t.shape.length === 0 ? 1 : t.shape[t.shape.length - 1];
}

/** Number of rows when the last dim is the feature dim. */
export function rows(t: Tensor): number {
  const d = lastDim(t);
  return d === 0 ? 0 : t.size / d;
}

export function checkSameSize(op: string, a: Tensor, b: Tensor): void {
  if (a.size !== b.size) {
    throw new ShapeError(op, `shapes ${shapeString(a.shape)} and ${shapeString(b.shape)} differ in size`);
  }
}

export function checkShape(op: string, name: string, t: Tensor, expected: readonly number[]): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(op, `${name} has shape ${shapeString(t.shape)}, expected ${shapeString(expected)}`);
  }
}

export function checkPositiveInt(op: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new ShapeError(op, `${name} must be a positive integer, got ${v}`);
}
