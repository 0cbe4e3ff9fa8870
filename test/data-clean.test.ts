import { describe, expect, it } from 'vitest';
import { Sectioner, TextCleaner, cleanText, findCut, hasMinChars, sniffBinary } from '../src/data/clean.js';
import { formatOf, globToRegExp } from '../src/data/discover.js';
import { Utf8StreamDecoder, countInvalidUtf8 } from '../src/data/utf8.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('UTF-8 decoding', () => {
  it('counts invalid bytes and replaces them', () => {
    expect(countInvalidUtf8(Buffer.from('héllo ✓ 😀'))).toBe(0);
    expect(countInvalidUtf8(bytes(0x61, 0xff, 0x62))).toBe(1);
    // E2 82 is a truncated 3-byte sequence: one maximal subpart of 2 bytes.
    expect(countInvalidUtf8(bytes(0xe2, 0x82, 0x41))).toBe(2);
    // Overlong encoding and surrogates are invalid.
    expect(countInvalidUtf8(bytes(0xc0, 0xaf))).toBe(2);
    expect(countInvalidUtf8(bytes(0xed, 0xa0, 0x80))).toBe(3);
    const d = new Utf8StreamDecoder();
    const s = d.decode(bytes(0x61, 0xff, 0x62), true);
    expect(s).toBe('a\uFFFDb');
    expect(d.invalidBytes).toBe(1);
  });

  it('keeps characters cut by chunk boundaries whole', () => {
    const text = 'naïve — 😀 ok';
    const all = Buffer.from(text);
    for (let cut = 1; cut < all.length; cut++) {
      const d = new Utf8StreamDecoder();
      const s = d.decode(all.subarray(0, cut)) + d.decode(all.subarray(cut)) + d.end();
      expect(s).toBe(text);
      expect(d.invalidBytes).toBe(0);
    }
  });

  it('counts a truncated sequence at the end of the stream', () => {
    const d = new Utf8StreamDecoder();
    const s = d.decode(bytes(0x61, 0xf0, 0x9f)) + d.end();
    expect(s).toBe('a\uFFFD');
    expect(d.invalidBytes).toBe(2);
  });
});

describe('cleaning', () => {
  it('normalizes newlines across chunks, drops controls but keeps \\n and \\t, drops a BOM', () => {
    const c = new TextCleaner();
    const out = c.push('\uFEFFa\r') + c.push('\nb\rc\u0000d\u0007\te\u0085f') + c.end();
    expect(out).toBe('a\nb\ncd\tef');
    expect(c.controlChars).toBe(3);
  });

  it('applies NFC and trims', () => {
    const r = cleanText('\n\n  cafe\u0301 \r\n\u0001');
    expect(r.text).toBe('  café');
    expect(r.controlChars).toBe(1);
  });

  it('sniffs binary files', () => {
    expect(sniffBinary(Buffer.from('plain text\n'))).toBeNull();
    expect(sniffBinary(bytes(0x50, 0x4b, 0x03, 0x04, 0x00, 0x00))).toMatch(/NUL/);
    const noise = new Uint8Array(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = i % 2 ? 0xff : 0x01;
    expect(sniffBinary(noise)).toMatch(/mostly non-text/);
    expect(sniffBinary(Buffer.from('ünïcödé '.repeat(2000)))).toBeNull();
  });

  it('counts code points for --min-chars', () => {
    expect(hasMinChars('abc', 3)).toBe(true);
    expect(hasMinChars('ab', 3)).toBe(false);
    expect(hasMinChars('😀😀', 3)).toBe(false); // 4 UTF-16 units, 2 characters
    expect(hasMinChars('😀😀😀', 3)).toBe(true);
  });
});

describe('sectioning', () => {
  it('prefers blank lines and never splits a character from its combining mark', () => {
    const s = 'aaaa\n\nbbbb\ncccc';
    expect(findCut(s, 10)).toBe(6);
    const marks = 'e\u0301'.repeat(50);
    for (let t = 10; t < 60; t++) {
      const cut = findCut(marks, t);
      expect(marks.charCodeAt(cut)).not.toBe(0x0301);
    }
  });

  it('cuts long text into documents of about the target size and loses nothing', () => {
    const para = 'word '.repeat(30).trim();
    const text = Array.from({ length: 200 }, (_, i) => `${i} ${para}`).join('\n\n');
    const sec = new Sectioner(1000);
    const parts: string[] = [];
    for (let i = 0; i < text.length; i += 777) parts.push(...sec.push(text.slice(i, i + 777)));
    parts.push(...sec.end());
    expect(parts.join('')).toBe(text);
    expect(parts.length).toBeGreaterThan(15);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(2000);
  });

  it('keeps short texts whole', () => {
    const sec = new Sectioner(1000);
    expect(sec.push('short')).toEqual([]);
    expect(sec.end()).toEqual(['short']);
  });
});

describe('input formats and globs', () => {
  it('knows the formats', () => {
    expect(formatOf('a/b.txt')).toEqual({ format: 'txt', gzip: false });
    expect(formatOf('x.JSONL.gz')).toEqual({ format: 'jsonl', gzip: true });
    expect(formatOf('notes.md.gz')).toEqual({ format: 'md', gzip: true });
    expect(formatOf('image.png')).toBeNull();
    expect(formatOf('README')).toBeNull();
  });

  it('matches globs', () => {
    expect(globToRegExp('data/*.txt').test('data/a.txt')).toBe(true);
    expect(globToRegExp('data/*.txt').test('data/sub/a.txt')).toBe(false);
    expect(globToRegExp('data/**/*.txt').test('data/a.txt')).toBe(true);
    expect(globToRegExp('data/**/*.txt').test('data/x/y/a.txt')).toBe(true);
    expect(globToRegExp('data/*.{md,txt}').test('data/a.md')).toBe(true);
    expect(globToRegExp('data/file-[0-9].txt').test('data/file-7.txt')).toBe(true);
    expect(globToRegExp('data/file-[!0-9].txt').test('data/file-7.txt')).toBe(false);
    expect(globToRegExp('a.b/?.txt').test('axb/c.txt')).toBe(false);
  });
});
