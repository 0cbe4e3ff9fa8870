// Command-line flags of the bench scripts: `--name value` pairs, nothing else.
const args = process.argv.slice(2);

/** The value after `name`, or `fallback` when the flag is absent; a flag without a value throws. */
export function flag(name, fallback) {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

/** Whether a value-less switch (`--no-recompute`) was given. */
export const hasFlag = (name) => args.includes(name);
