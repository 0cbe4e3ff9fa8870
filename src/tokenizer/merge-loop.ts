/**
 * The BPE training loop (JavaScript reference; native/src/bpe_train.cc is its twin).
 *
 * Input: the distinct pre-tokens ("words") as byte strings with their counts. Each word is a linked
 * list of symbols; a hash table holds every adjacent pair's total count and the words it occurs in;
 * a max-heap with lazy deletion finds the most frequent pair. Merging a pair only touches the words
 * that contain it, so a step costs what it changes, not the corpus size.
 *
 * Rule, documented because the output must be reproducible: at each step the pair with the highest
 * count is merged; ties go to the pair with the smallest left id, then the smallest right id (ids
 * 0–255 are the bytes, merged tokens number from 256 in the order they are made). A merge whose bytes
 * equal an existing token reuses that token's id. Training stops at `numTokens` tokens or when no
 * pair occurs at least `minFrequency` times.
 */

export interface Words {
  /** UTF-8 bytes of all words, back to back. */
  bytes: Uint8Array;
  /** Start of each word in `bytes`, plus the end: length = words + 1. */
  offsets: Uint32Array;
  counts: Float64Array;
}

export interface MergeResult {
  /** Flat (a, b) id pairs in merge order. */
  merges: Int32Array;
  /** The id each merge produces. */
  results: Int32Array;
  /** Bytes of each token id (0–255 single bytes first). */
  tokens: Uint8Array[];
}

export function trainMergesJs(
  words: Words,
  numTokens: number,
  minFrequency: number,
  onProgress: (tokens: number) => void = () => {},
): MergeResult {
  const W = words.counts.length;
  const total = words.offsets[W];
  const sym = new Int32Array(total);
  const nxt = new Int32Array(total);
  const prv = new Int32Array(total);
  for (let w = 0; w < W; w++) {
    const s = words.offsets[w];
    const e = words.offsets[w + 1];
    for (let i = s; i < e; i++) {
      sym[i] = words.bytes[i];
      nxt[i] = i + 1 < e ? i + 1 : -1;
      prv[i] = i > s ? i - 1 : -1;
    }
  }
  const cnt = words.counts;

  // Pair table: open addressing; a slot keeps its pair forever once created.
  let cap = 1 << 16;
  let mask = cap - 1;
  let pa = new Int32Array(cap).fill(-1);
  let pb = new Int32Array(cap);
  let pc = new Float64Array(cap);
  let head = new Int32Array(cap).fill(-1); // occurrence list head (pool index)
  let mark = new Int32Array(cap).fill(-1); // step at which the slot was last increased
  let used = 0;
  // Occurrence pool: (word, next) entries; lists are prepended.
  let poolWord = new Int32Array(1 << 16);
  let poolNext = new Int32Array(1 << 16);
  let poolLen = 0;
  let heapLive = false;

  const hash = (a: number, b: number): number => (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b)) >>> 0;

  const grow = (): void => {
    const oa = pa;
    const ob = pb;
    const oc = pc;
    const oh = head;
    const om = mark;
    cap *= 2;
    mask = cap - 1;
    pa = new Int32Array(cap).fill(-1);
    pb = new Int32Array(cap);
    pc = new Float64Array(cap);
    head = new Int32Array(cap).fill(-1);
    mark = new Int32Array(cap).fill(-1);
    // Slot numbers change: the heap is rebuilt by the caller.
    for (let s = 0; s < oa.length; s++) {
      if (oa[s] < 0) continue;
      let h = hash(oa[s], ob[s]) & mask;
      while (pa[h] >= 0) h = (h + 1) & mask;
      pa[h] = oa[s];
      pb[h] = ob[s];
      pc[h] = oc[s];
      head[h] = oh[s];
      mark[h] = om[s];
    }
    if (heapLive) heapRebuild();
  };

  const slotOf = (a: number, b: number): number => {
    let h = hash(a, b) & mask;
    for (;;) {
      const ka = pa[h];
      if (ka === a && pb[h] === b) return h;
      if (ka < 0) {
        if ((used + 1) * 2 > cap) {
          grow();
          return slotOf(a, b);
        }
        pa[h] = a;
        pb[h] = b;
        pc[h] = 0;
        head[h] = -1;
        mark[h] = -1;
        used++;
        return h;
      }
      h = (h + 1) & mask;
    }
  };

  const addOcc = (s: number, w: number): void => {
    const h = head[s];
    if (h >= 0 && poolWord[h] === w) return;
    if (poolLen === poolWord.length) {
      const nw = new Int32Array(poolLen * 2);
      nw.set(poolWord);
      poolWord = nw;
      const nn = new Int32Array(poolLen * 2);
      nn.set(poolNext);
      poolNext = nn;
    }
    poolWord[poolLen] = w;
    poolNext[poolLen] = h;
    head[s] = poolLen++;
  };

  // Max-heap of slots keyed by (count desc, a asc, b asc); entries may be stale.
  let hSlot = new Int32Array(1 << 16);
  let hCount = new Float64Array(1 << 16);
  let hSize = 0;
  const better = (i: number, j: number): boolean => {
    const ci = hCount[i];
    const cj = hCount[j];
    if (ci !== cj) return ci > cj;
    const si = hSlot[i];
    const sj = hSlot[j];
    if (pa[si] !== pa[sj]) return pa[si] < pa[sj];
    return pb[si] < pb[sj];
  };
  const hSwap = (i: number, j: number): void => {
    const s = hSlot[i];
    hSlot[i] = hSlot[j];
    hSlot[j] = s;
    const c = hCount[i];
    hCount[i] = hCount[j];
    hCount[j] = c;
  };
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < hSize && better(l, m)) m = l;
      if (r < hSize && better(r, m)) m = r;
      if (m === i) return;
      hSwap(i, m);
      i = m;
    }
  };
  const heapPush = (s: number, c: number): void => {
    if (hSize === hSlot.length) {
      const ns = new Int32Array(hSize * 2);
      ns.set(hSlot);
      hSlot = ns;
      const nc = new Float64Array(hSize * 2);
      nc.set(hCount);
      hCount = nc;
    }
    let i = hSize++;
    hSlot[i] = s;
    hCount[i] = c;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!better(i, p)) break;
      hSwap(i, p);
      i = p;
    }
  };
  const heapPop = (): void => {
    hSize--;
    if (hSize > 0) {
      hSwap(0, hSize);
      siftDown(0);
    }
  };
  // After a rehash, slots moved: rebuild from the table's current counts.
  function heapRebuild(): void {
    hSize = 0;
    if (hSlot.length < used) {
      hSlot = new Int32Array(used * 2);
      hCount = new Float64Array(used * 2);
    }
    for (let s = 0; s < cap; s++) {
      if (pa[s] >= 0 && pc[s] > 0) {
        hSlot[hSize] = s;
        hCount[hSize] = pc[s];
        hSize++;
      }
    }
    for (let i = (hSize >> 1) - 1; i >= 0; i--) siftDown(i);
  }

  // Initial pair counts.
  for (let w = 0; w < W; w++) {
    const c = cnt[w];
    for (let i = words.offsets[w]; i + 1 < words.offsets[w + 1]; i++) {
      const s = slotOf(sym[i], sym[i + 1]);
      pc[s] += c;
      addOcc(s, w);
    }
  }
  heapLive = true;
  heapRebuild();

  const tokens: Uint8Array[] = [];
  const byKey = new Map<string, number>();
  for (let b = 0; b < 256; b++) {
    tokens.push(Uint8Array.of(b));
    byKey.set(String.fromCharCode(b), b);
  }
  const merges: number[] = [];
  const results: number[] = [];
  const visited = new Int32Array(W).fill(-1);
  const changed: number[] = [];
  let step = 0;

  const bump = (x: number, y: number, delta: number, w: number): void => {
    const s = slotOf(x, y);
    pc[s] += delta;
    if (delta > 0) {
      addOcc(s, w);
      if (mark[s] !== step) {
        mark[s] = step;
        changed.push(pa[s], pb[s]);
      }
    }
  };

  while (tokens.length < numTokens) {
    let best = -1;
    while (hSize > 0) {
      const s = hSlot[0];
      const c = hCount[0];
      heapPop();
      if (c === pc[s]) {
        if (c >= minFrequency && c > 0) {
          best = s;
          break;
        }
        continue;
      }
      if (pc[s] > 0) heapPush(s, pc[s]);
    }
    if (best < 0) break;
    const a = pa[best];
    const b = pb[best];
    const ta = tokens[a];
    const tb = tokens[b];
    const merged = new Uint8Array(ta.length + tb.length);
    merged.set(ta, 0);
    merged.set(tb, ta.length);
    let key = '';
    for (let i = 0; i < merged.length; i++) key += String.fromCharCode(merged[i]);
    let id = byKey.get(key);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(merged);
      byKey.set(key, id);
    }
    merges.push(a, b);
    results.push(id);
    step++;
    changed.length = 0;
    // Walk the occurrence list of (a, b). Its slot number is stable during the walk unless the
    // table grows; re-find it by key after each word to be safe.
    let e = head[best];
    head[best] = -1;
    while (e >= 0) {
      const w = poolWord[e];
      e = poolNext[e];
      if (visited[w] === step) continue;
      visited[w] = step;
      const c = cnt[w];
      let i = words.offsets[w];
      while (i >= 0) {
        const j = nxt[i];
        if (j < 0) break;
        if (sym[i] === a && sym[j] === b) {
          const p = prv[i];
          const q = nxt[j];
          if (p >= 0) {
            bump(sym[p], a, -c, w);
            bump(sym[p], id, c, w);
          }
          if (q >= 0) {
            bump(b, sym[q], -c, w);
            bump(id, sym[q], c, w);
          }
          bump(a, b, -c, w);
          sym[i] = id;
          sym[j] = -1;
          nxt[i] = q;
          if (q >= 0) prv[q] = i;
          i = q;
        } else i = j;
      }
    }
    const sAB = slotOf(a, b);
    pc[sAB] = 0;
    head[sAB] = -1;
    for (let k = 0; k < changed.length; k += 2) {
      const s = slotOf(changed[k], changed[k + 1]);
      if (pc[s] > 0) heapPush(s, pc[s]);
    }
    onProgress(tokens.length);
  }
  return { merges: Int32Array.from(merges), results: Int32Array.from(results), tokens };
}
