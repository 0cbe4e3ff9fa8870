/**
 * Loads the native addon (build/Release/llmforge_native.node). If it is missing or
 * fails to load, the engine runs on the JS reference kernels and says so once.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
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

let addon: NativeAddon | null | undefined;
let loadError: string | undefined;

/** The addon, or null when it cannot be loaded (LLMFORGE_NATIVE=0 disables it on purpose). */
export function nativeAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env.LLMFORGE_NATIVE === '0') return addon;
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
