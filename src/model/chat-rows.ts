/**
 * Rendered conversations (ids + loss mask, src/model/chat.ts) laid out as training rows of
 * T positions. A conversation of n tokens gives n - 1 (input, target) pairs; the target is
 * -1 (ignored) where the mask is 0, so only assistant tokens and their <|end|> are learned.
 *
 *   packed: conversations follow each other in a row until the next one does not fit; each
 *           position carries the start of its conversation (segStart) and its position
 *           within it, so attention and position embeddings never cross conversations.
 *   padded: one conversation per row, the rest ignored padding.
 *
 * SFT and the chat eval's val loss both lay out rows here.
 */
import type { GPT } from '../nn/gpt.js';
import type { Tensor } from '../tensor/tensor.js';
import type { RenderedChat } from './chat.js';

export type RowLayout = 'packed' | 'padded';

export interface ChatRows {
  B: number;
  T: number;
  inputs: Int32Array; // (B·T)
  targets: Int32Array; // (B·T), -1 = not trained
  /** Position of each token within its conversation (B·T). */
  positions: Int32Array;
  /** Row offset where each position's conversation starts (B·T): attention sees keys segStart..t. */
  segStart: Int32Array;
  /** Positions holding a real token (not padding). */
  tokens: number;
  /** Positions with a target (assistant tokens). */
  trained: number;
}

export function emptyRows(B: number, T: number): ChatRows {
  const n = B * T;
  return {
    B, T, inputs: new Int32Array(n), targets: new Int32Array(n), positions: new Int32Array(n), segStart: new Int32Array(n), tokens: 0, trained: 0,
  };
}

/** Pairs a conversation contributes to a row of T positions (longer ones are cut at T). */
export function pairCount(c: RenderedChat, T: number): number {
  return Math.min(T, Math.max(0, c.ids.length - 1));
}

/**
 * Lays conversations `idx` one after another into row `b` of `out` (they must fit: the
 * sum of their pair counts ≤ T); the rest of the row is padding, with input `pad`, target
 * -1 and a segment of its own (so it is invisible to everything). Adds to tokens/trained.
 */
export function layRow(convs: readonly RenderedChat[], idx: ArrayLike<number>, out: ChatRows, b: number, pad: number): void {
  const { T, inputs, targets, positions, segStart } = out;
  const row = b * T;
  let t = 0;
  for (let k = 0; k < idx.length; k++) {
    const c = convs[idx[k]];
    const n = pairCount(c, T);
    if (t + n > T) throw new RangeError(`layRow: conversations of ${t + n} positions do not fit a row of ${T}`);
    for (let i = 0; i < n; i++) {
      const p = row + t + i;
      inputs[p] = c.ids[i];
      targets[p] = c.mask[i + 1] === 1 ? c.ids[i + 1] : -1;
      positions[p] = i;
      segStart[p] = t;
      if (targets[p] >= 0) out.trained++;
    }
    out.tokens += n;
    t += n;
  }
  for (let p = row + t; p < row + T; p++) {
    inputs[p] = pad;
    targets[p] = -1;
    positions[p] = p - row - t;
    segStart[p] = t;
  }
}

/**
 * Fills `out` from conversations `order[next], order[next + 1], …` in order (packed: as
 * many as fit per row; padded: one per row) and returns the index of the first one not
 * placed. Conversations longer than T are cut; empty ones are skipped.
 */
export function fillRows(convs: readonly RenderedChat[], order: ArrayLike<number>, next: number, out: ChatRows, layout: RowLayout, pad: number): number {
  out.tokens = 0;
  out.trained = 0;
  for (let b = 0; b < out.B; b++) {
    const idx: number[] = [];
    let t = 0;
    while (next < order.length) {
      const n = pairCount(convs[order[next]], out.T);
      if (n > 0) {
        if (idx.length > 0 && (layout === 'padded' || t + n > out.T)) break;
        idx.push(order[next]);
        t += n;
      }
      next++;
      if (layout === 'padded' && idx.length > 0) break;
    }
    layRow(convs, idx, out, b, pad);
  }
  return next;
}

/**
 * Mean cross-entropy over the rows' trained positions. Packed rows pass their position
 * ids and segment starts (GPT.loss's PackedRows); padded rows are ordinary causal rows (a
 * conversation starts at position 0, padding only follows it).
 */
export function rowsLoss(model: GPT, rows: ChatRows, layout: RowLayout): Tensor {
  const packed = layout === 'packed' ? { positions: rows.positions, segStart: rows.segStart } : {};
  return model.loss(rows.inputs, rows.targets, rows.B, rows.T, packed);
}
