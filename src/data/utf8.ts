/**
 * Streaming UTF-8 decoding that counts what it had to replace.
 *
 * Input arrives in arbitrary chunks; a multi-byte character cut by a chunk boundary
 * is carried over to the next chunk. Invalid bytes become U+FFFD (one per maximal
 * invalid subpart, as the WHATWG decoder does) and are counted: `invalidBytes` is the
 * number of bytes that were not part of a well-formed UTF-8 sequence (Unicode table 3-7).
 */
import { isUtf8 } from 'node:buffer';

/** Length of the sequence a lead byte starts (0: not a valid lead byte). */
function sequenceLength(b: number): number {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) return 2;
  if (b >= 0xe0 && b <= 0xef) return 3;
  if (b >= 0xf0 && b <= 0xf4) return 4;
  return 0;
}

/** Number of bytes of `d` that are not part of a well-formed UTF-8 sequence. */
export function countInvalidUtf8(d: Uint8Array): number {
  let invalid = 0;
  const n = d.length;
  let i = 0;
  while (i < n) {
    const b = d[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) {
      need = 2;
      lo = 0xa0;
    } else if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) need = 2;
    else if (b === 0xed) {
      need = 2;
      hi = 0x9f;
    } else if (b === 0xf0) {
      need = 3;
      lo = 0x90;
    } else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else if (b === 0xf4) {
      need = 3;
      hi = 0x8f;
    } else {
      invalid++;
      i++;
      continue;
    }
    let j = 1;
    for (; j <= need; j++) {
      if (i + j >= n) break;
      const c = d[i + j];
      const okLo = j === 1 ? lo : 0x80;
      const okHi = j === 1 ? hi : 0xbf;
      if (c < okLo || c > okHi) break;
    }
    if (j > need) {
      i += need + 1;
    } else {
      // The lead byte and the continuation bytes that were still valid form one maximal subpart.
      invalid += j;
      i += j;
    }
  }
  return invalid;
}

/**
 * Where to cut `d` so that no character is split: the start of a trailing sequence that
 * could still be completed by more bytes, else `d.length`.
 */
function completeLength(d: Uint8Array): number {
  const n = d.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = d[n - back];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const len = sequenceLength(b);
    return len > back ? n - back : n;
  }
  return n;
}

export class Utf8StreamDecoder {
  private carry: Uint8Array | null = null;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  /** Bytes replaced by U+FFFD so far. */
  invalidBytes = 0;

  /** Decodes the next chunk; `final` flushes a trailing incomplete sequence (counted as invalid). */
  decode(chunk: Uint8Array, final = false): string {
    let data = chunk;
    if (this.carry) {
      data = new Uint8Array(this.carry.length + chunk.length);
      data.set(this.carry, 0);
      data.set(chunk, this.carry.length);
      this.carry = null;
    }
    const cut = final ? data.length : completeLength(data);
    if (cut < data.length) this.carry = data.slice(cut);
    const piece = cut === data.length ? data : data.subarray(0, cut);
    if (piece.length === 0) return '';
    if (!isUtf8(piece)) this.invalidBytes += countInvalidUtf8(piece);
    return this.decoder.decode(piece);
  }

  /** Flushes what is left (an incomplete trailing sequence becomes U+FFFD). */
  end(): string {
    if (!this.carry) return '';
    const rest = this.carry;
    this.carry = null;
    this.invalidBytes += countInvalidUtf8(rest);
    return this.decoder.decode(rest);
  }
}
