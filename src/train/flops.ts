/** Model FLOPs utilization: achieved training FLOP/s over the machine's measured peak. */
import { nativeAddon } from '../tensor/native.js';
import { getThreads } from '../tensor/registry.js';

let cachedPeak: { threads: number; flops: number } | undefined;

/**
 * Peak FP32 FLOP/s of this machine at the current thread count, measured once by a
 * register-only FMA loop in the best instruction set (native/src/peak.cc). Without the
 * addon there is no meaningful peak to compare JS against; returns 0.
 */
export function peakFlops(): number {
  const threads = getThreads();
  if (cachedPeak?.threads === threads) return cachedPeak.flops;
  const addon = nativeAddon();
  const fn = addon?.peakFlops;
  if (typeof fn !== 'function') return 0;
  const measure = fn as (iters: number) => number;
  let best = 0;
  for (let i = 0; i < 3; i++) best = Math.max(best, measure(4_000_000));
  cachedPeak = { threads, flops: best };
  return best;
}

export function mfu(tokensPerSecond: number, flopsPerToken: number): number {
  const peak = peakFlops();
  return peak > 0 ? (tokensPerSecond * flopsPerToken) / peak : 0;
}
