/**
 * Preference pairs laid out in training rows, for DPO and the reward model.
 *
 * Each pair is two sequences, prompt + chosen reply + <|end|> and prompt + rejected reply
 * + <|end|> (rendered with the chat template, the reply and its <|end|> masked in). A
 * micro-batch is B rows of T positions, exactly SFT's shape, so the two stages cost the
 * same memory at the same batch: sequences are packed one after another (each attending
 * only to itself), and pairs are added while both of their sequences still fit. A batch
 * therefore holds a varying number of pairs, interleaved: sequence 2k is pair k's chosen,
 * 2k + 1 its rejected. `seg` marks which sequence each trained position belongs to (-1:
 * prompt or padding), `last` the position of each sequence's final input token.
 *
 * The batch source shuffles pairs per epoch (a pure function of seed and epoch); its
 * position {epoch, next} makes resume exact.
 */
import type { RenderedChat } from '../model/chat.js';
import { emptyRows, layRow, pairCount, type ChatRows } from '../model/chat-rows.js';
import { Random } from '../tensor/random.js';
import { epochPosition, type BatchSource } from '../train/index.js';

export interface PairRows extends ChatRows {
  /** (B·T) sequence index within the batch of each trained position; -1 elsewhere. */
  seg: Int32Array;
  /** (2·capacity) row-major position of each sequence's last input token. */
  last: Int32Array;
  /** (capacity) index into the data of each pair in the batch. */
  pairIndex: Int32Array;
  /** (2·capacity) the reference model's summed reply log-probs, chosen/rejected interleaved (DPO). */
  ref: Float32Array;
  /** (2·capacity) trained tokens (reply and <|end|>) of each sequence. */
  lengths: Int32Array;
  /** Pairs in this batch. */
  pairs: number;
}

/** The most pairs a batch can hold: every sequence needs at least one position. */
export function pairCapacity(B: number, T: number): number {
  return Math.floor((B * T) / 2);
}

export function emptyPairRows(B: number, T: number): PairRows {
  const cap = pairCapacity(B, T);
  return { ...emptyRows(B, T), seg: new Int32Array(B * T), last: new Int32Array(2 * cap), pairIndex: new Int32Array(cap), ref: new Float32Array(2 * cap), lengths: new Int32Array(2 * cap), pairs: 0 };
}

/** Rows a pair of sequences needs on its own: 1 when both fit one row. */
function rowsNeeded(seqs: readonly RenderedChat[], p: number, T: number): number {
  return pairCount(seqs[2 * p], T) + pairCount(seqs[2 * p + 1], T) <= T ? 1 : 2;
}

/**
 * Checks that every pair fits an empty batch of B rows (a pair whose two sequences do not
 * share a row needs two), naming the first that does not.
 */
export function checkPairsFit(seqs: readonly RenderedChat[], B: number, T: number, where: (p: number) => string): void {
  if (B >= 2) return;
  for (let p = 0; p < seqs.length / 2; p++) {
    if (rowsNeeded(seqs, p, T) > B) {
      throw new Error(`${where(p)}: the chosen and rejected sequences need ${pairCount(seqs[2 * p], T) + pairCount(seqs[2 * p + 1], T)} positions, ` +
        `more than one row of ${T}; use --batch 2 or more`);
    }
  }
}

/**
 * Fills `out` with pairs order[next], order[next + 1], … while both sequences of the next
 * pair still fit (each in the current row, else the next one); returns the index of the
 * first pair not placed. `ref` (2 per pair, interleaved) is copied in when given.
 */
export function fillPairRows(seqs: readonly RenderedChat[], order: ArrayLike<number>, next: number, out: PairRows, pad: number,
  ref: Float64Array | null): number {
  const { B, T } = out;
  const rows: number[][] = Array.from({ length: B }, () => []);
  let row = 0;
  let used = 0;
  out.pairs = 0;
  while (next < order.length) {
    const p = order[next];
    const n0 = pairCount(seqs[2 * p], T);
    const n1 = pairCount(seqs[2 * p + 1], T);
    // Simulate the placement first: a pair goes in whole or not at all.
    let r = row;
    let u = used;
    const at: number[] = [];
    for (const n of [n0, n1]) {
      if (u + n > T) {
        r++;
        u = 0;
      }
      at.push(r);
      u += n;
    }
    if (r >= B) break;
    rows[at[0]].push(2 * p);
    rows[at[1]].push(2 * p + 1);
    out.pairIndex[out.pairs] = p;
    if (ref !== null) {
      out.ref[2 * out.pairs] = ref[2 * p];
      out.ref[2 * out.pairs + 1] = ref[2 * p + 1];
    }
    out.pairs++;
    row = r;
    used = u;
    next++;
  }
  // Local sequence index of each data sequence placed.
  const local = new Map<number, number>();
  for (let k = 0; k < out.pairs; k++) {
    local.set(2 * out.pairIndex[k], 2 * k);
    local.set(2 * out.pairIndex[k] + 1, 2 * k + 1);
  }
  out.tokens = 0;
  out.trained = 0;
  for (let b = 0; b < B; b++) {
    layRow(seqs, rows[b], out, b, pad);
    let t = 0;
    for (const s of rows[b]) {
      const n = pairCount(seqs[s], T);
      const k = local.get(s) as number;
      out.lengths[k] = 0;
      for (let i = 0; i < n; i++) {
        const q = b * T + t + i;
        out.seg[q] = out.targets[q] >= 0 ? k : -1;
        if (out.targets[q] >= 0) out.lengths[k]++;
      }
      out.last[k] = b * T + t + n - 1;
      t += n;
    }
    for (let q = b * T + t; q < (b + 1) * T; q++) out.seg[q] = -1;
  }
  return next;
}

export interface PairPosition {
  epoch: number;
  /** Next pair of the epoch's order. */
  next: number;
}

function shuffled(n: number, seed: number, epoch: number): number[] {
  const rng = new Random((seed * 1000003 + epoch * 7919 + 29) >>> 0);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Training pairs, shuffled per epoch; a batch never spans two epochs. */
export class PairBatchSource implements BatchSource<PairRows> {
  private order: number[];
  private epoch = 0;
  private next = 0;

  constructor(
    readonly seqs: readonly RenderedChat[],
    readonly ref: Float64Array | null,
    readonly batchSize: number,
    readonly seqLen: number,
    readonly seed: number,
    readonly pad: number,
  ) {
    if (seqs.length === 0 || seqs.length % 2 !== 0) throw new Error('preference batches need a chosen and a rejected sequence per pair');
    this.order = shuffled(seqs.length / 2, seed, 0);
  }

  get pairCount(): number {
    return this.seqs.length / 2;
  }

  allocate(): PairRows {
    return emptyPairRows(this.batchSize, this.seqLen);
  }

  fill(batch: PairRows): void {
    if (this.next >= this.order.length) this.startEpoch(this.epoch + 1);
    this.next = fillPairRows(this.seqs, this.order, this.next, batch, this.pad, this.ref);
  }

  position(): PairPosition {
    return { epoch: this.epoch, next: this.next };
  }

  restore(position: unknown): void {
    const p = epochPosition(position, 'next', 'a pair');
    this.startEpoch(p.epoch);
    if (p.index > this.order.length) throw new Error(`trainer_state.json: data_position pair ${p.index} is past the epoch's ${this.order.length} pairs (was the data changed?)`);
    this.next = p.index;
  }

  private startEpoch(e: number): void {
    this.order = shuffled(this.seqs.length / 2, this.seed, e);
    this.epoch = e;
    this.next = 0;
  }
}

/** Every pair once, in data order, batch by batch (reference log-probs, held-out metrics). */
export function* allPairBatches(seqs: readonly RenderedChat[], B: number, T: number, pad: number, ref: Float64Array | null): Generator<PairRows> {
  const rows = emptyPairRows(B, T);
  const order = Array.from({ length: seqs.length / 2 }, (_, i) => i);
  for (let next = 0; next < order.length;) {
    next = fillPairRows(seqs, order, next, rows, pad, ref);
    yield rows;
  }
}
