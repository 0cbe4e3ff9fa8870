/**
 * The key/value cache of the inference engine: per layer, one K and one V buffer laid out
 * (rows, Hkv, capacity, D) — exactly what `Kernels.attentionCached` reads — preallocated to
 * the context length once, so decoding allocates nothing. Grouped-query models store only
 * their Hkv key/value heads. Each row (one sequence of a batch) also remembers the token ids
 * it holds, so a new prompt that starts with the same tokens (a chat's history, a shared
 * system prompt) reuses their entries instead of recomputing them.
 *
 * Rows can also be taken and given back one at a time (acquire / release), for a scheduler
 * whose sequences join and leave the batch at any step (continuous batching). A released
 * row keeps its tokens, so the next sequence that starts the same way reuses them.
 */
export class KVCache {
  readonly k: Float32Array[] = [];
  readonly v: Float32Array[] = [];
  /** Elements of one row's block in a layer buffer: Hkv · capacity · D. */
  readonly rowStride: number;
  /** Tokens held by each row. */
  readonly lengths: Int32Array;
  private readonly ids: Int32Array[] = [];
  private readonly taken: Uint8Array;
  private takenCount = 0;

  constructor(
    readonly nLayer: number,
    readonly rows: number,
    readonly nKvHead: number,
    readonly capacity: number,
    readonly headDim: number,
  ) {
    for (const [name, v] of [['layers', nLayer], ['rows', rows], ['kv heads', nKvHead], ['capacity', capacity], ['head size', headDim]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`KVCache: ${name} must be a positive integer, got ${v}`);
    }
    this.rowStride = nKvHead * capacity * headDim;
    const n = rows * this.rowStride;
    for (let l = 0; l < nLayer; l++) {
      this.k.push(new Float32Array(n));
      this.v.push(new Float32Array(n));
    }
    this.lengths = new Int32Array(rows);
    this.taken = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) this.ids.push(new Int32Array(capacity));
  }

  /** Bytes held by the K and V buffers. */
  get bytes(): number {
    return 2 * this.nLayer * this.rows * this.rowStride * 4;
  }

  /** The token ids row `row` holds (a view, valid until the row changes). */
  tokens(row: number): Int32Array {
    this.checkRow(row);
    return this.ids[row].subarray(0, this.lengths[row]);
  }

  /** Records that `ids` were appended to `row` (their K/V entries are written by the engine). */
  append(row: number, ids: ArrayLike<number>): void {
    this.checkRow(row);
    const len = this.lengths[row];
    if (len + ids.length > this.capacity) {
      throw new RangeError(`KVCache: row ${row} holds ${len} tokens; ${ids.length} more exceed the capacity ${this.capacity}`);
    }
    const dst = this.ids[row];
    for (let i = 0; i < ids.length; i++) dst[len + i] = ids[i];
    this.lengths[row] = len + ids.length;
  }

  /** Forgets all but the first n tokens of a row (later entries are simply overwritten). */
  truncate(row: number, n: number): void {
    this.checkRow(row);
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`KVCache: cannot truncate row ${row} to ${n} tokens`);
    if (n < this.lengths[row]) this.lengths[row] = n;
  }

  /** Empties one row, or every row. */
  reset(row?: number): void {
    if (row === undefined) this.lengths.fill(0);
    else this.truncate(row, 0);
  }

  /** Rows not taken by acquire(). */
  get freeRows(): number {
    return this.rows - this.takenCount;
  }

  /** Whether acquire() handed out this row (and release() has not given it back). */
  isTaken(row: number): boolean {
    this.checkRow(row);
    return this.taken[row] === 1;
  }

  /**
   * Takes a free row, or returns null when every row is taken. With `prefer`, the free row
   * already holding the longest prefix of it wins (lowest row on ties), so a new sequence
   * reuses what a finished one left behind; otherwise the lowest free row.
   */
  acquire(prefer?: ArrayLike<number>): number | null {
    let best = -1;
    let bestLen = -1;
    for (let r = 0; r < this.rows; r++) {
      if (this.taken[r] === 1) continue;
      const len = prefer === undefined ? 0 : this.commonPrefix(r, prefer);
      if (len > bestLen) {
        best = r;
        bestLen = len;
      }
    }
    if (best < 0) return null;
    this.taken[best] = 1;
    this.takenCount++;
    return best;
  }

  /** Gives a row back. Its tokens stay cached for prefix reuse until it is overwritten. */
  release(row: number): void {
    this.checkRow(row);
    if (this.taken[row] === 0) throw new RangeError(`KVCache: row ${row} is not taken`);
    this.taken[row] = 0;
    this.takenCount--;
  }

  /** Length of the longest common prefix of what `row` holds and `ids`. */
  commonPrefix(row: number, ids: ArrayLike<number>): number {
    this.checkRow(row);
    const have = this.ids[row];
    const n = Math.min(this.lengths[row], ids.length);
    let i = 0;
    while (i < n && have[i] === ids[i]) i++;
    return i;
  }

  /** The (n, Hkv, capacity, D) block of rows row0 .. row0+n-1 of one layer. */
  block(layer: number, row0: number, n: number): { k: Float32Array; v: Float32Array } {
    const a = row0 * this.rowStride;
    const b = (row0 + n) * this.rowStride;
    return { k: this.k[layer].subarray(a, b), v: this.v[layer].subarray(a, b) };
  }

  private checkRow(row: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.rows) {
      throw new RangeError(`KVCache: row ${row} is outside 0..${this.rows - 1}`);
    }
  }
}
