/**
 * Byte-level helpers: GPT-2's byte ↔ printable-character map (how byte-level BPE vocabularies are
 * written in encoder.json / tokenizer.json), and a small UTF-8 encoder for short strings.
 */

/** GPT-2's bytes_to_unicode: every byte gets a printable character; printable Latin-1 maps to itself. */
function buildByteToChar(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const map: string[] = new Array<string>(256);
  const kept = new Set(keep);
  for (const b of keep) map[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!kept.has(b)) {
      map[b] = String.fromCharCode(256 + n);
      n++;
    }
  }
  return map;
}

export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

const CHAR_TO_BYTE = new Map<number, number>();
for (let b = 0; b < 256; b++) CHAR_TO_BYTE.set(BYTE_TO_CHAR[b].charCodeAt(0), b);

/**
 * The order in which GPT-2 (and tiktoken's data_gym loader) numbers the 256 byte tokens:
 * the printable ones first, then the rest.
 */
export const GPT2_BYTE_ORDER: readonly number[] = (() => {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  const kept = new Set(order);
  for (let b = 0; b < 256; b++) if (!kept.has(b)) order.push(b);
  return order;
})();

/** Bytes → the byte-level string used in vocab files. */
export function bytesToTokenString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** The byte-level string of a vocab entry → bytes, or undefined if a character is not byte-level. */
export function tokenStringToBytes(token: string): Uint8Array | undefined {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token.charCodeAt(i));
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}

const textEncoder = new TextEncoder();
/** Keeps a leading U+FEFF (the default decoder drops it, which would break round trips). */
export const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

/**
 * UTF-8 encodes `s` into `out` (which must hold 3 bytes per UTF-16 unit) and returns the length.
 * Lone surrogates become U+FFFD, as TextEncoder does. Faster than TextEncoder for short strings.
 */
export function utf8Into(s: string, out: Uint8Array): number {
  let n = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 63);
        out[n++] = 0x80 | ((c >> 6) & 63);
        out[n++] = 0x80 | (c & 63);
      } else {
        out[n++] = 0xef;
        out[n++] = 0xbf;
        out[n++] = 0xbd;
      }
    } else {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}

/** A latin1 string with one character per byte: a compact Map key for byte strings. */
export function bytesKey(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
