/**
 * Next-token sampling on a row of logits (see docs/GENERATION.md for the semantics).
 *
 * Order of the controls (Hugging Face's, which llama.cpp's defaults also follow):
 *   1. repetition penalty on every token already in the sequence (prompt included):
 *      logit > 0 → logit / r, else logit · r (the CTRL rule)
 *   2. temperature 0 → greedy: the highest logit wins (lowest id on ties); steps 3-6 skipped
 *   3. logits / temperature, softmax
 *   4. top-k: keep the k most likely tokens (0 = off)
 *   5. top-p (nucleus): keep the smallest set of most likely tokens whose mass ≥ p (1 = off)
 *   6. min-p: keep tokens with probability ≥ min_p · (probability of the most likely) (0 = off)
 *   7. renormalize what is left and draw with the sequence's own seeded generator.
 * Ties in the ordering are broken by token id, so a seed fully determines the draw.
 */
import { Random } from '../tensor/random.js';

export interface SamplingOptions {
  /** 0 = greedy; otherwise > 0. */
  temperature: number;
  /** Keep the k most likely tokens; 0 = no limit. */
  topK: number;
  /** Nucleus mass in (0, 1]; 1 = off. */
  topP: number;
  /** Minimum probability relative to the most likely token, in [0, 1]; 0 = off. */
  minP: number;
  /** > 0; 1 = off; > 1 discourages tokens already in the sequence. */
  repetitionPenalty: number;
  /** Seed of the random draws (each sequence of a batch derives its own). */
  seed: number;
}

export const SAMPLING_DEFAULTS: Readonly<SamplingOptions> = {
  temperature: 0.8,
  topK: 0,
  topP: 0.95,
  minP: 0.05,
  repetitionPenalty: 1,
  seed: 0,
};

/** Fills in defaults and rejects out-of-range values with one message naming the setting. */
export function samplingOptions(o: Partial<SamplingOptions> = {}): SamplingOptions {
  const s: SamplingOptions = { ...SAMPLING_DEFAULTS };
  for (const k of Object.keys(SAMPLING_DEFAULTS) as Array<keyof SamplingOptions>) {
    const v = o[k];
    if (v !== undefined) s[k] = v;
  }
  const bad = (flag: string, v: number, want: string): never => {
    throw new RangeError(`${flag} must be ${want}, got ${v}`);
  };
  if (!Number.isFinite(s.temperature) || s.temperature < 0) bad('temperature', s.temperature, '>= 0 (0 = greedy)');
  if (!Number.isInteger(s.topK) || s.topK < 0) bad('top-k', s.topK, 'an integer >= 0 (0 = off)');
  if (!Number.isFinite(s.topP) || s.topP <= 0 || s.topP > 1) bad('top-p', s.topP, 'in (0, 1] (1 = off)');
  if (!Number.isFinite(s.minP) || s.minP < 0 || s.minP > 1) bad('min-p', s.minP, 'in [0, 1] (0 = off)');
  if (!Number.isFinite(s.repetitionPenalty) || s.repetitionPenalty <= 0) bad('repetition-penalty', s.repetitionPenalty, '> 0 (1 = off)');
  if (!Number.isSafeInteger(s.seed) || s.seed < 0) bad('seed', s.seed, 'a non-negative integer');
  return s;
}

/** The seed of sequence `index` of a batch: sequence 0 uses the seed itself. */
export function sequenceSeed(seed: number, index: number): number {
  return (seed + Math.imul(index, 0x9e3779b9)) >>> 0;
}

/**
 * The sampler of one sequence: its options, its random generator, and the set of tokens
 * seen so far (for the repetition penalty). Scratch buffers are allocated once.
 */
export class Sampler {
  readonly options: SamplingOptions;
  private readonly rng: Random;
  private readonly seen: Uint8Array;
  private readonly seenList: number[] = [];
  private readonly probs: Float64Array;
  private readonly cand: Int32Array;
  private readonly sel: Float64Array;

  constructor(options: Partial<SamplingOptions>, readonly vocabSize: number, seed?: number) {
    this.options = samplingOptions(options);
    this.rng = new Random(seed ?? this.options.seed);
    this.seen = new Uint8Array(vocabSize);
    this.probs = new Float64Array(vocabSize);
    this.cand = new Int32Array(vocabSize);
    this.sel = new Float64Array(vocabSize);
  }

  /** Marks tokens as part of the sequence (the prompt, then each generated token). */
  observe(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id >= 0 && id < this.vocabSize && this.seen[id] === 0) {
        this.seen[id] = 1;
        this.seenList.push(id);
      }
    }
  }

  /** Forgets the observed tokens (a chat /reset). */
  clearObserved(): void {
    for (const id of this.seenList) this.seen[id] = 0;
    this.seenList.length = 0;
  }

  /** Picks the next token from one row of logits (V values; left unchanged). */
  sample(logits: Float32Array): number {
    const V = this.vocabSize;
    if (logits.length !== V) throw new RangeError(`sample: ${logits.length} logits for a vocabulary of ${V}`);
    const o = this.options;
    // Greedy without a repetition penalty reads the logits as they are (no float64 copy): the
    // server's batched decode picks one token per sequence per step this way.
    if (o.temperature === 0 && o.repetitionPenalty === 1) return argmax(logits, V);
    const p = this.probs;
    for (let i = 0; i < V; i++) p[i] = logits[i];
    if (o.repetitionPenalty !== 1) {
      const r = o.repetitionPenalty;
      for (const id of this.seenList) p[id] = p[id] > 0 ? p[id] / r : p[id] * r;
    }
    if (o.temperature === 0) return argmax(p, V);

    // Softmax numerators relative to the maximum: the most likely token has weight 1.
    const invT = 1 / o.temperature;
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (p[i] > max) max = p[i];
    if (max === -Infinity || Number.isNaN(max)) throw new RangeError('sample: the logits are not finite');
    for (let i = 0; i < V; i++) p[i] = Math.exp((p[i] - max) * invT);

    // Candidates in id order; top-k and top-p reduce them to a prefix sorted by probability.
    const cand = this.cand;
    let n = 0;
    if (o.topK > 0 && o.topK < V) {
      const tau = kthLargest(p, V, o.topK, this.sel);
      let above = 0;
      for (let i = 0; i < V; i++) if (p[i] > tau) above++;
      let ties = o.topK - above; // equal to the threshold: the lowest ids make up the k
      for (let i = 0; i < V; i++) {
        if (p[i] > tau || (p[i] === tau && ties-- > 0)) cand[n++] = i;
      }
    } else {
      for (let i = 0; i < V; i++) cand[n++] = i;
    }
    if (o.topP < 1) {
      // The nucleus: the most likely tokens, in order, until their mass reaches topP of the
      // total. Found by a mass-weighted quickselect (linear time, no sort): the smallest
      // weight it includes and how many tokens of exactly that weight (lowest ids first).
      const a = this.sel;
      let total = 0;
      for (let j = 0; j < n; j++) total += a[j] = p[cand[j]];
      const { cut, ties } = nucleusCut(a, n, o.topP * total);
      let m = 0;
      let t = ties;
      for (let j = 0; j < n; j++) {
        const w = p[cand[j]];
        if (w > cut || (w === cut && t-- > 0)) cand[m++] = cand[j];
      }
      n = m;
    }
    if (o.minP > 0) {
      // The maximum weight is 1 (the most likely token always survives top-k and top-p).
      let m = 0;
      for (let j = 0; j < n; j++) if (p[cand[j]] >= o.minP) cand[m++] = cand[j];
      n = m;
    }
    let total = 0;
    for (let j = 0; j < n; j++) total += p[cand[j]];
    let u = this.rng.next() * total;
    for (let j = 0; j < n; j++) {
      u -= p[cand[j]];
      if (u < 0) return cand[j];
    }
    return cand[n - 1];
  }
}

function argmax(p: Float64Array | Float32Array, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (p[i] > p[best]) best = i;
  return best;
}

/** The k-th largest of p[0..n) (quickselect on a copy in scratch). */
function kthLargest(p: Float64Array, n: number, k: number, scratch: Float64Array): number {
  const a = scratch;
  for (let i = 0; i < n; i++) a[i] = p[i];
  let lo = 0;
  let hi = n - 1;
  const target = k - 1; // index in descending order
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target];
  }
  return a[target];
}

/**
 * For weights a[0..n) and a target mass: the weight `cut` of the last token the nucleus
 * takes when tokens are taken from the most likely down until their mass reaches the
 * target, and how many tokens of weight exactly `cut` it takes. Reorders a.
 */
function nucleusCut(a: Float64Array, n: number, target: number): { cut: number; ties: number } {
  let lo = 0;
  let hi = n;
  let acc = 0; // mass of everything already known to be above a[lo..hi)
  while (lo < hi) {
    const v = a[(lo + hi) >>> 1];
    // Three-way partition of a[lo..hi): > v | == v | < v.
    let gt = lo;
    let i = lo;
    let lt = hi;
    let massGt = 0;
    while (i < lt) {
      const x = a[i];
      if (x > v) {
        a[i] = a[gt];
        a[gt++] = x;
        massGt += x;
        i++;
      } else if (x < v) {
        a[i] = a[--lt];
        a[lt] = x;
      } else i++;
    }
    if (acc + massGt >= target && gt > lo) {
      hi = gt;
      continue;
    }
    const eq = lt - gt;
    if (acc + massGt + eq * v >= target) {
      let ties = 1;
      let mass = acc + massGt + v;
      while (mass < target && ties < eq) {
        mass += v;
        ties++;
      }
      return { cut: v, ties };
    }
    acc += massGt + eq * v;
    lo = lt;
  }
  // Rounding left the target unreached: keep everything.
  return { cut: -Infinity, ties: 0 };
}
