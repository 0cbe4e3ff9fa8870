/**
 * Character classes the native pre-tokenizer needs (letter, number, white space), computed from this
 * JavaScript engine's own Unicode tables so the native scanner and the RegExp path always agree.
 */

export const CLASS_LETTER = 1;
export const CLASS_NUMBER = 2;
export const CLASS_SPACE = 3;

let cached: Uint32Array | undefined;

/**
 * Runs of code points as (start, end exclusive, class) triples, sorted by start. Built by running
 * RegExps over strings holding every code point: the BMP at index = code point (2 ms), and planes
 * 1–3 as surrogate pairs (about 40 ms; supplementary code points are slow for the RegExp engine).
 * Planes 4–16 hold no letters, numbers or spaces as of Unicode 17 and are taken as "other".
 */
export function unicodeClassRanges(): Uint32Array {
  if (cached) return cached;
  const dec = new TextDecoder('utf-16le');
  const bmpUnits = new Uint16Array(0x10000);
  for (let cp = 0; cp < 0x10000; cp++) bmpUnits[cp] = cp >= 0xd800 && cp < 0xe000 ? 0 : cp;
  const bmp = dec.decode(bmpUnits);
  const SUP_END = 0x40000;
  const supUnits = new Uint16Array(2 * (SUP_END - 0x10000));
  for (let k = 0; k < SUP_END - 0x10000; k++) {
    supUnits[2 * k] = 0xd800 + (k >> 10);
    supUnits[2 * k + 1] = 0xdc00 + (k & 0x3ff);
  }
  const sup = dec.decode(supUnits);
  const runs: Array<[number, number, number]> = [];
  const classes: Array<[string, number]> = [
    [String.raw`\p{L}+`, CLASS_LETTER],
    [String.raw`\p{N}+`, CLASS_NUMBER],
    [String.raw`\p{White_Space}+`, CLASS_SPACE],
  ];
  for (const [src, cls] of classes) {
    for (const m of bmp.matchAll(new RegExp(src, 'gu'))) runs.push([m.index, m.index + m[0].length, cls]);
  }
  // Planes 1–3: one pass for letters and numbers together, then split each run by class.
  const numbers = /\p{N}+/gu;
  for (const m of sup.matchAll(/[\p{L}\p{N}]+/gu)) {
    const base = 0x10000 + m.index / 2;
    let at = 0;
    for (const n of m[0].matchAll(numbers)) {
      if (n.index > at) runs.push([base + at / 2, base + n.index / 2, CLASS_LETTER]);
      runs.push([base + n.index / 2, base + (n.index + n[0].length) / 2, CLASS_NUMBER]);
      at = n.index + n[0].length;
    }
    if (at < m[0].length) runs.push([base + at / 2, base + m[0].length / 2, CLASS_LETTER]);
  }
  runs.sort((a, b) => a[0] - b[0]);
  cached = Uint32Array.from(runs.flat());
  return cached;
}
