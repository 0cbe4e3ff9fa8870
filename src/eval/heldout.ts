/** The held-out chat set that ships with llmforge: `llmforge eval`'s default --data and the pipeline eval stage's. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The embedded held-out chat set (examples/chat/), .gz or plain. */
export function defaultHeldout(): string {
  // src/eval/ and dist/eval/ are both two folders below the package root.
  const dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'chat');
  for (const f of ['heldout.jsonl.gz', 'heldout.jsonl']) if (existsSync(join(dir, f))) return join(dir, f);
  throw new Error(`no default held-out chat set in ${dir} (pass --data FILE)`);
}
