/**
 * Loads the native addon (build/Release/llmforge_native.node). If it is missing or
 * fails to load, the engine runs on the JS reference kernels and says so once.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Native functions are looked up by kernel name; the controls below are always present. */
export interface NativeAddon {
  getThreads(): number;
  setThreads(n: number): number;
  getIsa(): string;
  setIsa(name: string): string;
  [name: string]: unknown;
}

function findAddon(): string | undefined {
  // LLMFORGE_ADDON points at another build (scripts/dev-build.sh makes private ones).
  if (process.env.LLMFORGE_ADDON) return process.env.LLMFORGE_ADDON;
  // src/tensor and dist/tensor are both two levels below the package root.
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const path = join(root, 'build', 'Release', 'llmforge_native.node');
  return existsSync(path) ? path : undefined;
}

let capWarned = false;

/**
 * More threads than cores only adds contention: 1000 threads made training 250× slower. So a
 * request above the core count runs on the core count, and says so once per process.
 * `source` names where the number came from (`--threads 1000`, `LLMFORGE_THREADS=1000`).
 */
export function capThreads(n: number, source: string): number {
  const cores = Math.max(1, availableParallelism());
  if (n <= cores) return n;
  if (!capWarned) {
    capWarned = true;
    process.stderr.write(`llmforge: warning: ${source} is more than the ${cores} cores of this machine; using ${cores} threads\n`);
  }
  return cores;
}

/** LLMFORGE_THREADS as the addon will read it, capped first so its pool never starts oversized. */
function capThreadsEnv(): void {
  const env = process.env.LLMFORGE_THREADS;
  if (env === undefined || !/^[1-9]\d*$/.test(env)) return;
  const n = Number(env);
  const capped = capThreads(n, `LLMFORGE_THREADS=${env}`);
  if (capped !== n) process.env.LLMFORGE_THREADS = String(capped);
}

let addon: NativeAddon | null | undefined;
let loadError: string | undefined;

/** The addon, or null when it cannot be loaded (LLMFORGE_NATIVE=0 disables it on purpose). */
export function nativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.LLMFORGE_NATIVE === '0') return addon;
  capThreadsEnv();
  const path = findAddon();
  if (!path) {
    loadError = 'build/Release/llmforge_native.node not found (run `npm run build:native`)';
  } else {
    try {
      addon = createRequire(import.meta.url)(path) as NativeAddon;
    } catch (err) {
      loadError = err instanceof Error ? err.message : String(err);
    }
  }
  if (!addon) {
    process.stderr.write(`warning: llmforge: native kernels unavailable, using the JavaScript reference kernels (${loadError})\n`);
  }
  return addon;
}
