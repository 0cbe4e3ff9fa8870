/**
 * Character classes the native pre-tokenizer needs (letter, number, white space), computed from this
 * JavaScript engine's own Unicode tables so the native scanner and the RegExp path always agree.
 */

export const CLASS_LETTER = 1;
export const CLASS_NUMBER = 2;
export const CLASS_SPACE = 3;

let cached: Uint32Array | undefined;

/** Runs of code points as (start, end exclusive, class) triples, sorted, covering every classed code point. */
export function unicodeClassRanges(): Uint32Array {
  if (cached) return cached;
  const tests: Array<[RegExp, number]> = [
    [/\p{L}/u, CLASS_LETTER],
    [/\p{N}/u, CLASS_NUMBER],
    [/\p{White_Space}/u, CLASS_SPACE],
  ];
  const runs: number[] = [];
  // Scan in blocks of 4096 code points with one global regex per class and block.
  const BLOCK = 4096;
  const cls = new Uint8Array(0x110000);
  for (let base = 0; base < 0x110000; base += BLOCK) {
    if (base >= 0xd800 && base < 0xe000) continue;
    let s = '';
    for (let cp = base; cp < base + BLOCK; cp++) s += String.fromCodePoint(cp);
    for (const [re, c] of tests) {
      const g = new RegExp(`${re.source}+`, 'gu');
      for (const m of s.matchAll(g)) {
        for (const ch of m[0]) {
          const cp = ch.codePointAt(0) ?? 0;
          if (cls[cp] === 0) cls[cp] = c;
        }
      }
    }
  }
  let start = -1;
  let cur = 0;
  for (let cp = 0; cp <= 0x110000; cp++) {
    const c = cp < 0x110000 ? cls[cp] : 0;
    if (c !== cur) {
      if (cur !== 0) runs.push(start, cp, cur);
      start = cp;
      cur = c;
    }
  }
  cached = Uint32Array.from(runs);
  return cached;
}
