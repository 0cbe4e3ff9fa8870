/**
 * Picks the implementation of each kernel: the native twin when the addon provides
 * it, else the JS reference. `useBackend('js')` forces the references (tests compare
 * the two this way).
 */
import type { Kernels, KernelName } from './kernels.js';
import { refKernels } from './ref/index.js';
import { availableParallelism } from 'node:os';
import { capThreads, nativeAddon } from './native.js';

export type Backend = 'native' | 'js';

function buildNative(): Kernels | null {
  const addon = nativeAddon();
  if (!addon) return null;
  const merged = { ...refKernels } as Record<KernelName, unknown>;
  for (const name of Object.keys(refKernels) as KernelName[]) {
    const fn = addon[name];
    if (typeof fn === 'function') merged[name] = fn;
  }
  return merged as unknown as Kernels;
}

let nativeKernels: Kernels | null | undefined;
let active: Kernels | undefined;
let activeBackend: Backend = 'js';

/** The active kernels. The first call loads the addon. */
export function kernels(): Kernels {
  if (active) return active;
  useBackend(process.env.LLMFORGE_NATIVE === '0' ? 'js' : 'native');
  return active as unknown as Kernels;
}

/** Switches backend; 'native' falls back to 'js' when the addon is unavailable. */
export function useBackend(backend: Backend): Backend {
  if (backend === 'native') {
    if (nativeKernels === undefined) nativeKernels = buildNative();
    if (nativeKernels) {
      active = nativeKernels;
      activeBackend = 'native';
      return activeBackend;
    }
  }
  active = refKernels;
  activeBackend = 'js';
  return activeBackend;
}

export function backend(): Backend {
  kernels();
  return activeBackend;
}

/** Kernel names the addon implements natively (empty without the addon). */
export function nativeKernelNames(): KernelName[] {
  const addon = nativeAddon();
  if (!addon) return [];
  return (Object.keys(refKernels) as KernelName[]).filter((name) => typeof addon[name] === 'function');
}

/**
 * Threads used by native kernels. The JS reference kernels are single-threaded. `source` names
 * the user's setting the count came from (`--threads 1000`, `LLMFORGE_THREADS=1000`): then a count
 * above the core count runs on the core count, with one warning. Without it (library calls, the
 * kernel tests that split work three ways on two cores) the count is taken as given.
 */
export function setThreads(n: number, source?: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--threads must be a positive integer, got ${n}`);
  const addon = nativeAddon();
  const count = source === undefined ? n : capThreads(n, source);
  return addon ? addon.setThreads(count) : 1;
}

/**
 * Applies a --threads setting (or LLMFORGE_THREADS, read by the addon itself; else every core) and
 * returns the count in use. The CLI and the pipeline's stages both call it, so errors name the flag.
 */
export function applyThreads(threads: number | undefined): number {
  // Named by their source, user settings are capped at the core count (with one warning).
  if (threads !== undefined) return setThreads(threads, `--threads ${threads}`);
  const env = process.env.LLMFORGE_THREADS;
  if (env !== undefined && !/^[1-9]\d*$/.test(env)) {
    throw new Error(`LLMFORGE_THREADS must be a positive integer, got '${env}'`);
  }
  return env ? setThreads(Number(env), `LLMFORGE_THREADS=${env}`) : setThreads(Math.max(1, availableParallelism()));
}

export function getThreads(): number {
  const addon = nativeAddon();
  return addon ? addon.getThreads() : 1;
}

/** The native instruction set in use ('avx512', 'avx2', 'neon', 'portable'), or 'js'. */
export function isa(): string {
  const addon = nativeAddon();
  return addon ? addon.getIsa() : 'js';
}

/** Caps the native instruction set (tests use it to run every code path). */
export function setIsa(name: 'avx512' | 'avx2' | 'neon' | 'portable'): string {
  const addon = nativeAddon();
  return addon ? addon.setIsa(name) : 'js';
}
