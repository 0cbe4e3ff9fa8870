/** Option parsers shared by every command: each error names the flag and the bad value. */
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
