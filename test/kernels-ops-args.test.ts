/**
 * Bad arguments: every native kernel validates sizes, types and indices and throws a
 * JS error naming the kernel before touching memory; the references throw on bad
 * token ids and targets.
 */
import { describe, expect, it } from 'vitest';
import { native } from './kernels-ops-util.js';
import { embeddingForward, embeddingBackward } from '../src/tensor/ref/embedding.js';
import { crossEntropyForwardBackward, logprobForward } from '../src/tensor/ref/loss.js';
import { ropeForward } from '../src/tensor/ref/rope.js';
import { adamw } from '../src/tensor/ref/adamw.js';
import { nativeAddon } from '../src/tensor/native.js';

const f = (n: number): Float32Array => new Float32Array(n);

describe('reference kernels reject bad indices', () => {
  it('embedding ids out of range name the id and the vocabulary', () => {
    const ids = new Int32Array([0, 5]);
    expect(() => embeddingForward(ids, f(10), f(4), 2, 2, 5)).toThrow(RangeError);
    expect(() => embeddingForward(ids, f(10), f(4), 2, 2, 5)).toThrow(/id 5 .*\[0, 5\)/);
    expect(() => embeddingForward(new Int32Array([-1]), f(10), f(2), 1, 2, 5)).toThrow(/id -1/);
    const dtable = f(10);
    expect(() => embeddingBackward(new Int32Array([1, 9]), new Float32Array(4).fill(1), dtable, 2, 2, 5))
      .toThrow(/id 9/);
    expect(dtable.every((v) => v === 0)).toBe(true);
  });

  it('targets >= vocab, rope tables too short, adamw step < 1', () => {
    expect(() => crossEntropyForwardBackward(f(6), new Int32Array([0, 3]), f(2), null, 2, 3, 1)).toThrow(/target 3/);
    expect(() => logprobForward(f(6), new Int32Array([7, 0]), f(2), 2, 3)).toThrow(RangeError);
    expect(() => ropeForward(f(8), f(8), f(2), f(2), 2, 2, 4, 1, 4, 0)).toThrow(/position 1/);
    expect(() => ropeForward(f(8), f(8), f(8), f(8), 2, 2, 4, 1, 3, 0)).toThrow(/even/);
    expect(() => adamw(f(1), f(1), f(1), f(1), 1, 0.1, 0.9, 0.99, 1e-8, 0, 0, 1)).toThrow(/step/);
  });
});

describe.skipIf(!native)('native kernels reject bad arguments', () => {
  const k = native!;
  // Calls with deliberately wrong types go through an untyped view of the addon.
  const raw = nativeAddon() as unknown as Record<string, (...args: unknown[]) => unknown>;

  it('buffers shorter than the sizes', () => {
    expect(() => k.add(f(3), f(4), f(4), 4)).toThrow(/add: a has 3 elements, needs 4/);
    expect(() => k.mulBackward(f(4), f(4), f(4), f(4), f(3), 4)).toThrow(/db/);
    expect(() => k.axpy(f(4), f(3), 1, 4)).toThrow(RangeError);
    expect(() => k.scaleInPlace(f(3), 2, 4)).toThrow(RangeError);
    expect(() => k.addBias(f(11), f(4), 3, 4)).toThrow(/addBias: x/);
    expect(() => k.biasBackward(f(12), f(3), 3, 4)).toThrow(/dbias/);
    expect(() => k.sum(f(3), 4)).toThrow(RangeError);
    expect(() => k.sumSquares(f(3), 4)).toThrow(RangeError);
    expect(() => k.geluForward(f(4), f(3), 4)).toThrow(/geluForward: out/);
    expect(() => k.geluBackward(f(4), f(4), f(3), 4)).toThrow(/dx/);
    expect(() => k.siluForward(f(3), f(4), 4)).toThrow(/siluForward: x/);
    expect(() => k.siluBackward(f(4), f(3), f(4), 4)).toThrow(/dout/);
    expect(() => k.swigluForward(f(4), f(3), f(4), 4)).toThrow(/up/);
    expect(() => k.swigluBackward(f(4), f(4), f(4), f(4), f(3), 4)).toThrow(/dup/);
    expect(() => k.layernormForward(f(6), f(3), f(2), f(6), f(2), f(2), 2, 3, 1e-5)).toThrow(/bias/);
    expect(() => k.layernormForward(f(6), f(3), null, f(6), f(1), f(2), 2, 3, 1e-5)).toThrow(/mean/);
    expect(() => k.layernormBackward(f(6), f(6), f(3), f(2), f(2), f(6), f(3), f(2), 2, 3)).toThrow(/dbias/);
    expect(() => k.layernormBackward(f(6), f(6), f(3), f(2), f(1), f(6), f(3), null, 2, 3)).toThrow(/rstd/);
    expect(() => k.rmsnormForward(f(6), f(2), f(6), f(2), 2, 3, 1e-5)).toThrow(/weight/);
    expect(() => k.rmsnormBackward(f(6), f(6), f(3), f(2), f(6), f(2), 2, 3)).toThrow(/dweight/);
    expect(() => k.embeddingForward(new Int32Array(2), f(9), f(4), 2, 2, 5)).toThrow(/table/);
    expect(() => k.embeddingBackward(new Int32Array(1), f(4), f(10), 2, 2, 5)).toThrow(/ids/);
    expect(() => k.crossEntropyForwardBackward(f(6), new Int32Array(2), f(2), f(5), 2, 3, 1)).toThrow(/dlogits/);
    expect(() => k.crossEntropyForwardBackward(f(6), new Int32Array(1), f(2), null, 2, 3, 1)).toThrow(/targets/);
    expect(() => k.logprobForward(f(6), new Int32Array(2), f(1), 2, 3)).toThrow(/logp/);
    expect(() => k.logprobBackward(f(6), new Int32Array(2), f(2), f(5), 2, 3)).toThrow(/dlogits/);
    expect(() => k.adamw(f(4), f(4), f(4), f(3), 4, 0.1, 0.9, 0.99, 1e-8, 0, 1, 1)).toThrow(/adamw: v/);
    expect(() => k.ropeForward(f(8), f(7), f(8), f(8), 2, 2, 4, 1, 4, 0)).toThrow(/ropeForward: out/);
    expect(() => k.ropeBackward(f(7), f(8), f(8), f(8), 2, 2, 4, 1, 4, 0)).toThrow(/ropeBackward: dout/);
  });

  it('ids and targets out of range, leaving outputs untouched', () => {
    const dtable = f(10);
    expect(() => k.embeddingBackward(new Int32Array([1, 5]), new Float32Array(4).fill(1), dtable, 2, 2, 5))
      .toThrow(/embeddingBackward: token id 5 at position 1 is out of range \[0, 5\)/);
    expect(dtable.every((v) => v === 0)).toBe(true);
    expect(() => k.embeddingForward(new Int32Array([-3]), f(10), f(2), 1, 2, 5)).toThrow(/id -3/);
    const dl = f(6);
    expect(() => k.crossEntropyForwardBackward(new Float32Array(6).fill(1), new Int32Array([0, 3]), f(2), dl, 2, 3, 1))
      .toThrow(/target 3 at row 1/);
    expect(dl.every((v) => v === 0)).toBe(true);
    expect(() => k.logprobForward(f(6), new Int32Array([0, 99]), f(2), 2, 3)).toThrow(/target 99/);
    expect(() => k.logprobBackward(f(6), new Int32Array([9, 0]), f(2), f(6), 2, 3)).toThrow(/target 9/);
  });

  it('rope shapes that do not fit', () => {
    expect(() => k.ropeForward(f(8), f(8), f(8), f(8), 2, 2, 4, 1, 3, 0)).toThrow(/headDim must be a positive even/);
    expect(() => k.ropeForward(f(8), f(8), f(8), f(8), 2, 2, 4, 2, 4, 0)).toThrow(/do not fit/);
    expect(() => k.ropeForward(f(8), f(8), f(8), f(8), 2, 0, 4, 1, 4, 0)).toThrow(/seq/);
    // Positions 3 and 4 need 5 rows of 2 table entries.
    expect(() => k.ropeBackward(f(8), f(8), f(8), f(8), 2, 2, 4, 1, 4, 3)).toThrow(/position 4 needs/);
  });

  it('wrong types, negative or fractional sizes, missing arguments', () => {
    expect(() => raw.add(new Float64Array(4), f(4), f(4), 4)).toThrow(/add: argument 0 must be a Float32Array/);
    expect(() => raw.embeddingForward(new Float32Array(2), f(4), f(4), 2, 2, 2)).toThrow(/Int32Array/);
    expect(() => raw.crossEntropyForwardBackward(f(4), new Int32Array(2), f(2), 'x', 2, 2, 1)).toThrow(TypeError);
    expect(() => raw.add(f(4), f(4), f(4), -1)).toThrow(/must be >= 0/);
    expect(() => raw.add(f(4), f(4), f(4), 1.5)).toThrow(/integer/);
    expect(() => raw.add(f(4), f(4), f(4), '4')).toThrow(/integer/);
    expect(() => raw.scaleInPlace(f(4), undefined, 4)).toThrow(/number/);
    expect(() => raw.adamw(f(4), f(4), f(4), f(4), 4, 0.1, 0.9, 0.99, 1e-8, 0, 0, 1)).toThrow(/argument 10/);
    expect(() => raw.layernormForward(f(4), f(2), null, f(4), f(2), f(2), 2, 0, 1e-5)).toThrow(/argument 7/);
    expect(() => raw.sum(f(4))).toThrow(TypeError);
    expect(() => raw.geluForward()).toThrow(TypeError);
  });

  it('sizes whose product overflows', () => {
    expect(() => k.addBias(f(4), f(4), 2 ** 40, 2 ** 40)).toThrow(/too large/);
    expect(() => k.embeddingForward(new Int32Array(1), f(4), f(4), 1, 2 ** 31, 2 ** 31)).toThrow(/too large/);
    expect(() => k.crossEntropyForwardBackward(f(4), new Int32Array(1), f(1), null, 2 ** 33, 2 ** 33, 1))
      .toThrow(/too large/);
  });

  it('zero sizes are fine', () => {
    k.add(f(0), f(0), f(0), 0);
    expect(k.sum(f(0), 0)).toBe(0);
    k.biasBackward(f(0), f(4), 0, 4);
    k.layernormForward(f(0), f(3), null, f(0), f(0), f(0), 0, 3, 1e-5);
    k.embeddingBackward(new Int32Array(0), f(0), f(4), 0, 2, 2);
    k.ropeForward(f(0), f(0), f(0), f(0), 0, 1, 8, 1, 8, 0);
    expect(k.crossEntropyForwardBackward(f(0), new Int32Array(0), f(0), null, 0, 5, 1)).toBe(0);
  });
});
