/** Option parsers shared by every command: each error names the flag and the bad value. */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';

/** Every command's --threads; it lives with the thread setting (src/tensor) because the pipeline's stages apply it too. */
export { applyThreads } from '../tensor/registry.js';

/** Parser for an integer flag with a lower bound (and optional upper bound). */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`expected an integer, got '${value}'`);
    }
    if (n < min || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? `must be >= ${min}, got ${n}` : `must be between ${min} and ${max}, got ${n}`,
      );
    }
    return n;
  };
}

/** Parser for a finite number flag within [min, max]. */
export function numberArg(min = -Infinity, max = Infinity): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}, got ${n}`);
    return n;
  };
}

/** A `--config FILE`: a JSON object, or one error naming the flag, the file and what is wrong. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`--config ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`--config ${path}: invalid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`--config ${path}: expected a JSON object`);
  return value as Record<string, unknown>;
}
