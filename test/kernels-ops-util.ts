/**
 * Shared by the kernels-ops*.test.ts files: the native kernels (if the addon loads),
 * a loop over every ISA path × thread count, and labelled closeness checks.
 */
import { expect } from 'vitest';
import type { Kernels } from '../src/tensor/kernels.js';
import { nativeAddon } from '../src/tensor/native.js';
import { getThreads, setIsa, setThreads } from '../src/tensor/registry.js';

/** The addon's kernels, typed by the contract; null when the addon is unavailable. */
export const native: Kernels | null = (() => {
  const addon = nativeAddon();
  return addon ? (addon as unknown as Kernels) : null;
})();

/** CI sets LLMFORGE_REQUIRE_NATIVE=1: there a missing addon is a failure, not a skip. */
export const requireNative = process.env.LLMFORGE_REQUIRE_NATIVE === '1';

export const THREADS = [1, 2, 3];
const ISAS = ['avx512', 'avx2', 'portable'] as const;

/** Sets the pool size (a no-op when it already has that many threads). */
export function resizePool(threads: number): void {
  if (getThreads() !== threads) setThreads(threads);
}

/**
 * Runs fn under every thread count in THREADS and every distinct ISA path this CPU
 * has (setIsa caps to what it supports), then restores the best ISA and 2 threads.
 */
export function eachConfig(fn: (label: string, threads: number) => void): void {
  try {
    for (const t of THREADS) {
      resizePool(t);
      const seen = new Set<string>();
      for (const want of ISAS) {
        const isa = setIsa(want);
        if (seen.has(isa)) continue;
        seen.add(isa);
        fn(`${isa}, ${t} thread${t > 1 ? 's' : ''}`, t);
      }
    }
  } finally {
    setIsa('avx512');
    resizePool(2);
  }
}

/** Asserts |got - want| <= atol + rtol·|want| elementwise; the message names the case. */
export function checkClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, atol = 1e-5,
  rtol = 1e-4): void {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= atol + rtol * Math.abs(want[i]))) {
      expect.fail(`${label}: index ${i}: got ${got[i]}, want ${want[i]} (atol ${atol}, rtol ${rtol})`);
    }
  }
}

/** Asserts two arrays hold exactly the same bits (determinism checks). */
export function checkIdentical(label: string, a: Float32Array, b: Float32Array): void {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  expect(ua.length, label).toBe(ub.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) expect.fail(`${label}: index ${i} differs: ${a[i]} vs ${b[i]}`);
  }
}

export function copy(a: Float32Array): Float32Array {
  return new Float32Array(a);
}
