/**
 * Layout of packed rows: several sequences laid end to end in one row of T tokens
 * (SFT packs short conversations this way). Each sequence restarts its positions at 0
 * and attends only to itself; the GPT takes the two arrays built here as PackedRows.
 */
import type { PackedRows } from './gpt.js';

export interface PackedLayout extends Required<PackedRows> {
  positions: Int32Array;
  segStart: Int32Array;
}

/**
 * From the sequence lengths of each row (rows.length = B), the position ids and segment
 * starts (B·T each). A row whose lengths sum to less than T is padded: the padding is
 * one more segment (give its targets -1). Lengths must be positive integers.
 */
export function packedLayout(rows: ReadonlyArray<readonly number[]>, T: number): PackedLayout {
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`packedLayout: T must be a positive integer, got ${T}`);
  const B = rows.length;
  const positions = new Int32Array(B * T);
  const segStart = new Int32Array(B * T);
  rows.forEach((lengths, b) => {
    let t = 0;
    const place = (n: number) => {
      for (let i = 0; i < n; i++, t++) {
        positions[b * T + t] = i;
        segStart[b * T + t] = t - i;
      }
    };
    for (const [k, n] of lengths.entries()) {
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`packedLayout: row ${b}, sequence ${k}: length must be a positive integer, got ${n}`);
      if (t + n > T) throw new RangeError(`packedLayout: row ${b}: sequences of ${lengths.join(' + ')} tokens exceed T = ${T}`);
      place(n);
    }
    place(T - t); // padding
  });
  return { positions, segStart };
}
