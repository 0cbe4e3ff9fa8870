/**
 * Text cleaning: newline normalization, control-character removal, Unicode NFC, binary
 * sniffing and cutting long texts into documents at safe places.
 */
import { countInvalidUtf8 } from './utf8.js';

/** How many leading bytes of a file the binary sniff looks at. */
export const SNIFF_BYTES = 8192;
/** Share of suspicious bytes (invalid UTF-8, control bytes) above which a file is called binary. */
export const BINARY_THRESHOLD = 0.3;

/**
 * Returns why the start of a file looks binary, or null when it looks like text.
 * NUL bytes mean binary (as git and grep decide); otherwise a file whose first
 * 8 KiB are more than 30% invalid UTF-8 or control bytes is "mostly non-text".
 */
export function sniffBinary(head: Uint8Array): string | null {
  const d = head.length > SNIFF_BYTES ? head.subarray(0, SNIFF_BYTES) : head;
  if (d.length === 0) return null;
  if (d.indexOf(0) >= 0) {
    const utf16 = d.length >= 2 && ((d[0] === 0xff && d[1] === 0xfe) || (d[0] === 0xfe && d[1] === 0xff));
    return utf16 ? 'binary file (contains NUL bytes; it looks like UTF-16 text: convert it to UTF-8)' : 'binary file (contains NUL bytes)';
  }
  let control = 0;
  for (let i = 0; i < d.length; i++) {
    const b = d[i];
    // Tab, LF, FF, CR and ESC occur in real text files; other C0 bytes and DEL do not.
    if ((b < 0x20 && b !== 9 && b !== 10 && b !== 12 && b !== 13 && b !== 27) || b === 0x7f) control++;
  }
  // Do not count a multi-byte character cut by the sniff window as invalid.
  let end = d.length;
  if (head.length > d.length) {
    for (let back = 1; back <= 3 && back <= d.length; back++) {
      const b = d[d.length - back];
      if ((b & 0xc0) !== 0x80) {
        if (b >= 0xc0) end = d.length - back;
        break;
      }
    }
  }
  const invalid = countInvalidUtf8(d.subarray(0, end));
  const share = (control + invalid) / d.length;
  if (share > BINARY_THRESHOLD) {
    return `binary file (mostly non-text: ${Math.round(share * 100)}% of the first ${d.length} bytes are invalid UTF-8 or control bytes)`;
  }
  return null;
}

// C0 controls except \t and \n (\r is handled before), DEL and the C1 controls.
const CONTROL_RE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
const CR_RE = /\r\n?/g;

/**
 * Streaming cleaner for decoded text: CRLF and lone CR become LF, control characters
 * other than \n and \t are dropped, a leading byte-order mark is dropped. NFC is applied
 * later, on whole documents (normalizing arbitrary chunks could split a character from
 * its combining marks).
 */
export class TextCleaner {
  private pendingCR = false;
  private atStart = true;
  /** Control characters dropped so far. */
  controlChars = 0;

  push(text: string, final = false): string {
    let s = this.pendingCR ? '\r' + text : text;
    this.pendingCR = false;
    if (!final && s.length > 0 && s.charCodeAt(s.length - 1) === 13) {
      s = s.slice(0, -1);
      this.pendingCR = true;
    }
    if (this.atStart && s.length > 0) {
      this.atStart = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    return this.clean(s);
  }

  end(): string {
    return this.push('', true);
  }

  private clean(s: string): string {
    if (s.indexOf('\r') >= 0) s = s.replace(CR_RE, '\n');
    const before = s.length;
    s = s.replace(CONTROL_RE, '');
    this.controlChars += before - s.length;
    return s;
  }
}

/** Cleans one whole string (a JSONL text field): newlines, controls, NFC, trimmed. */
export function cleanText(text: string): { text: string; controlChars: number } {
  const c = new TextCleaner();
  const s = c.push(text, true);
  return { text: finishDocument(s), controlChars: c.controlChars };
}

/** NFC, then blank leading lines and trailing whitespace removed. */
export function finishDocument(s: string): string {
  return s.normalize('NFC').replace(/^(?:[ \t]*\n)+/, '').trimEnd();
}

/** True when `s` has at least `min` Unicode code points (cheap for long strings). */
export function hasMinChars(s: string, min: number): boolean {
  if (s.length >= 2 * min) return true;
  if (s.length < min) return false;
  let n = 0;
  for (const _ of s) {
    if (++n >= min) return true;
  }
  return false;
}

/** The form exact dedup hashes: whitespace runs collapsed to one space, trimmed. */
export function dedupForm(s: string): string {
  return s.replace(/\s{2,}|[^\S ]/g, ' ').trim();
}

const UNSAFE_CUT = /[\p{M}\u1160-\u11FF\uDC00-\uDFFF]/u;

/**
 * A cut position in (min, max] that splits neither a character nor a character from
 * its combining marks, preferring a blank line, then a newline, then a space.
 */
export function findCut(s: string, target: number): number {
  const max = Math.min(target, s.length);
  const min = Math.floor(max / 2);
  const para = s.lastIndexOf('\n\n', max - 2);
  if (para >= min) {
    let end = para + 2;
    while (end < s.length && s.charCodeAt(end) === 10) end++;
    return end;
  }
  const line = s.lastIndexOf('\n', max - 1);
  if (line >= min) return line + 1;
  const space = s.lastIndexOf(' ', max - 1);
  if (space >= min && s.charCodeAt(space + 1) < 128) return space + 1;
  for (let i = max; i > min; i--) {
    // Between two ASCII characters nothing composes or reorders under NFC.
    if (s.charCodeAt(i - 1) < 128 && s.charCodeAt(i) < 128) return i;
  }
  for (let i = max; i > min; i--) {
    if (!UNSAFE_CUT.test(s[i])) return i;
  }
  return max;
}

/**
 * Cuts a stream of cleaned text into documents of about `target` characters (UTF-16
 * units): a text shorter than 2×target stays whole; longer ones are cut near every
 * `target` characters, preferably at a blank line.
 */
export class Sectioner {
  private buf = '';
  constructor(private readonly target: number) {}

  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    while (this.buf.length >= 2 * this.target) {
      const cut = findCut(this.buf, this.target);
      out.push(this.buf.slice(0, cut));
      this.buf = this.buf.slice(cut);
    }
    return out;
  }

  end(): string[] {
    const rest = this.buf;
    this.buf = '';
    if (rest.length > this.target) {
      const cut = findCut(rest, Math.ceil(rest.length / 2));
      return [rest.slice(0, cut), rest.slice(cut)];
    }
    return rest.length > 0 ? [rest] : [];
  }
}
