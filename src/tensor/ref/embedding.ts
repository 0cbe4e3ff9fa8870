/** Token embedding lookup and its gradient (reference kernels). */
import type { FloatArray, I32 } from '../kernels.js';

/** The id at ids[i], or a RangeError naming it: a bad id must never read or write outside the table. */
function tokenId(op: string, ids: I32, i: number, vocab: number): number {
  const id = ids[i];
  if (!(id >= 0 && id < vocab)) {
    throw new RangeError(`${op}: token id ${id} at position ${i} is out of range [0, ${vocab})`);
  }
  return id;
}

/** out[i, :] = table[ids[i], :] for i < n; table is vocab×dim. */
export function embeddingForward(ids: I32, table: FloatArray, out: FloatArray, n: number, dim: number,
  vocab: number): void {
  for (let i = 0; i < n; i++) {
    const src = tokenId('embeddingForward', ids, i, vocab) * dim;
    for (let j = 0; j < dim; j++) out[i * dim + j] = table[src + j];
  }
}

/** dtable[ids[i], :] += dout[i, :]. Repeated ids accumulate in order of i. */
export function embeddingBackward(ids: I32, dout: FloatArray, dtable: FloatArray, n: number, dim: number,
  vocab: number): void {
  // Validate every id first, so a bad one leaves dtable untouched.
  for (let i = 0; i < n; i++) tokenId('embeddingBackward', ids, i, vocab);
  for (let i = 0; i < n; i++) {
    const dst = ids[i] * dim;
    for (let j = 0; j < dim; j++) dtable[dst + j] += dout[i * dim + j];
  }
}
