/**
 * Greedy replies for many prompts at once, on the inference engine: each chunk of up to
 * `batch` prompts is prefilled row by row, then decoded together one token per step.
 * Unlike `Generation`, every row records *why* it stopped — the chat eval's format check
 * needs to tell a closed turn (<|end|>) from a role token the model should never emit.
 */
import type { GPT } from '../nn/gpt.js';
import { InferenceEngine } from '../infer/index.js';

/** end: the stop token; role: one of the forbidden tokens; length: the token budget; context: the context filled. */
export type ReplyEnd = 'end' | 'role' | 'length' | 'context';

export interface GreedyReply {
  ids: number[];
  /** The token that ended it (end or role), else null. */
  stopToken: number | null;
  ended: ReplyEnd;
}

export interface GreedyOptions {
  maxNewTokens: number;
  /** Token that closes a turn. */
  end: number;
  /** Tokens that must not appear in a reply; generating one ends it. */
  forbidden: readonly number[];
  /** Only ids below this are chosen (the tokenizer's vocabulary; the model's may be padded). */
  vocabLimit: number;
  /** Rows decoded together. */
  batch?: number;
  onProgress?: (done: number) => void;
}

function argmax(x: Float32Array, limit: number): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < limit; i++) {
    if (x[i] > bv) {
      bv = x[i];
      best = i;
    }
  }
  return best;
}

export function greedyReplies(model: GPT, prompts: readonly number[][], o: GreedyOptions): GreedyReply[] {
  const B = Math.max(1, Math.min(o.batch ?? 32, prompts.length));
  const engine = new InferenceEngine(model, { maxBatch: B });
  const cap = engine.capacity;
  const V = engine.vocabSize;
  const limit = Math.min(V, o.vocabLimit);
  const forbidden = new Set(o.forbidden);
  const out: GreedyReply[] = [];
  for (let first = 0; first < prompts.length; first += B) {
    const chunk = prompts.slice(first, first + B);
    engine.reset();
    const replies: GreedyReply[] = chunk.map(() => ({ ids: [], stopToken: null, ended: 'length' }));
    const next = new Int32Array(chunk.length);
    const live: number[] = [];
    chunk.forEach((p, row) => {
      if (p.length >= cap) {
        replies[row].ended = 'context';
        return;
      }
      next[row] = argmax(engine.prefill(row, p), limit);
      live.push(row);
    });
    let active = live;
    while (active.length > 0) {
      const rows: number[] = [];
      const ids: number[] = [];
      for (const row of active) {
        const id = next[row];
        const r = replies[row];
        if (id === o.end || forbidden.has(id)) {
          r.stopToken = id;
          r.ended = id === o.end ? 'end' : 'role';
          continue;
        }
        r.ids.push(id);
        if (r.ids.length >= o.maxNewTokens) continue; // 'length'
        if (chunk[row].length + r.ids.length >= cap) {
          r.ended = 'context';
          continue;
        }
        rows.push(row);
        ids.push(id);
      }
      if (rows.length > 0) {
        const logits = engine.decode(rows, ids);
        rows.forEach((row, i) => (next[row] = argmax(logits.subarray(i * V, (i + 1) * V), limit)));
      }
      active = rows;
    }
    out.push(...replies);
    o.onProgress?.(out.length);
  }
  return out;
}
