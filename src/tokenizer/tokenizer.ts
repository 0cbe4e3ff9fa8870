/**
 * BpeTokenizer: the one implementation of the Tokenizer interface. Byte-level BPE with a split
 * pattern, special tokens, a JavaScript encoder with a piece cache, and the native encoder
 * (pre-tokenizer + BPE in C++, batches on the addon's thread pool) when the addon provides it.
 */
import { createHash } from 'node:crypto';
import type { EncodeOptions, Tokenizer } from './types.js';
import { bpeEncodeBytes, PairTable, type BpeModel } from './bpe.js';
import { bytesKey, utf8, utf8Decoder, utf8Into } from './bytes.js';
import { compilePattern, type Pattern } from './pretokenize.js';
import { bpeNative, type NativeEncoderHandle } from './native.js';
import { unicodeClassRanges } from './unicode.js';
import { writeTokenizerJson } from './hf-json.js';
import { encodeBatchInWorkers } from './batch.js';

export type Normalizer = 'none' | 'nfc';

export interface BpeTokenizerInit {
  model: BpeModel;
  pattern: Pattern;
  /** Special (added) tokens by content → id. Their ids must not be BPE tokens reachable by merges. */
  specialTokens: ReadonlyMap<string, number>;
  normalizer?: Normalizer;
}

/** Entries kept in the JavaScript piece cache before it is cleared. */
const CACHE_LIMIT = 1 << 18;

export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly model: BpeModel;
  readonly pattern: Pattern;
  readonly normalizer: Normalizer;

  private readonly table: PairTable;
  private readonly re: RegExp;
  private readonly cache = new Map<string, number | Uint32Array>();
  private readonly specialById = new Map<number, string>();
  private readonly decodeOffsets: Uint32Array;
  private readonly decodeFlat: Uint8Array;
  private readonly byteLengths: Uint32Array;
  private tokenIndex: Map<string, number> | undefined;
  private specialRegexAll: RegExp | undefined;
  private readonly specialRegexBySet = new Map<string, RegExp>();
  private nativeHandle: NativeEncoderHandle | null | undefined;
  private json: string | undefined;
  private hashHex: string | undefined;
  private scratch = new Uint8Array(1024);

  constructor(init: BpeTokenizerInit) {
    this.model = init.model;
    this.pattern = init.pattern;
    this.normalizer = init.normalizer ?? 'none';
    this.specialTokens = new Map(init.specialTokens);
    this.table = new PairTable(init.model.merges);
    this.re = compilePattern(init.pattern);
    let size = init.model.tokens.length;
    for (const [content, id] of this.specialTokens) {
      this.specialById.set(id, content);
      size = Math.max(size, id + 1);
    }
    this.vocabSize = size;
    // Decode table: bytes of every id (special tokens decode to their text).
    const parts: Uint8Array[] = new Array<Uint8Array>(size);
    this.byteLengths = new Uint32Array(size);
    let total = 0;
    for (let id = 0; id < size; id++) {
      const special = this.specialById.get(id);
      const bytes = special !== undefined ? utf8(special) : init.model.tokens[id];
      parts[id] = bytes ?? new Uint8Array(0);
      if (special === undefined && bytes) this.byteLengths[id] = bytes.length;
      total += parts[id].length;
    }
    this.decodeOffsets = new Uint32Array(size + 1);
    this.decodeFlat = new Uint8Array(total);
    let off = 0;
    for (let id = 0; id < size; id++) {
      this.decodeOffsets[id] = off;
      this.decodeFlat.set(parts[id], off);
      off += parts[id].length;
    }
    this.decodeOffsets[size] = off;
  }

  encode(text: string, options?: EncodeOptions): Uint32Array {
    if (typeof text !== 'string') throw new TypeError('encode: text must be a string');
    const norm = this.normalize(text);
    const segments = this.splitSpecial(norm, options);
    if (segments === null) return this.encodeOrdinary(norm);
    const pieces: Uint32Array[] = [];
    for (const seg of segments) {
      pieces.push(typeof seg === 'number' ? Uint32Array.of(seg) : this.encodeOrdinary(seg));
    }
    return concatIds(pieces);
  }

  async encodeBatch(texts: readonly string[], options?: EncodeOptions): Promise<Uint32Array[]> {
    for (const t of texts) if (typeof t !== 'string') throw new TypeError('encodeBatch: every text must be a string');
    const native = this.native();
    if (native) {
      // Split out allowed special tokens here, encode every ordinary segment in one native batch.
      const flat: string[] = [];
      const plans: Array<Array<string | number> | null> = [];
      for (const t of texts) {
        const norm = this.normalize(t);
        const segs = this.splitSpecial(norm, options);
        plans.push(segs);
        if (segs === null) flat.push(norm);
        else for (const s of segs) if (typeof s === 'string') flat.push(s);
      }
      const encoded = bpeNative()!.bpeEncodeBatch(native, flat);
      let k = 0;
      return plans.map((segs) => {
        if (segs === null) return encoded[k++];
        return concatIds(segs.map((s) => (typeof s === 'number' ? Uint32Array.of(s) : encoded[k++])));
      });
    }
    const viaWorkers = await encodeBatchInWorkers(this, texts, options);
    if (viaWorkers) return viaWorkers;
    return texts.map((t) => this.encode(t, options));
  }

  decode(ids: ArrayLike<number>): string {
    return utf8Decoder.decode(this.decodeBytes(ids));
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const offsets = this.decodeOffsets;
    const size = this.vocabSize;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < size) || !Number.isInteger(id)) {
        throw new RangeError(`decode: id ${id} at position ${i} is not in the vocabulary (0..${size - 1})`);
      }
      total += offsets[id + 1] - offsets[id];
    }
    const out = new Uint8Array(total);
    const flat = this.decodeFlat;
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const s = offsets[id];
      const e = offsets[id + 1];
      if (e - s === 1) out[n++] = flat[s];
      else {
        out.set(flat.subarray(s, e), n);
        n += e - s;
      }
    }
    return out;
  }

  tokenByteLength(id: number): number {
    if (!(id >= 0 && id < this.vocabSize)) throw new RangeError(`tokenByteLength: id ${id} is not in the vocabulary`);
    return this.byteLengths[id];
  }

  /** The bytes of a BPE token (undefined for special tokens and unused ids). */
  tokenBytes(id: number): Uint8Array | undefined {
    if (this.specialById.has(id)) return undefined;
    return this.model.tokens[id];
  }

  toTokenizerJson(): string {
    this.json ??= writeTokenizerJson(this);
    return this.json;
  }

  get hash(): string {
    this.hashHex ??= createHash('sha256').update(this.toTokenizerJson()).digest('hex');
    return this.hashHex;
  }

  /** Which encoder runs: 'native' (addon) or 'js'. */
  get backend(): 'native' | 'js' {
    return this.native() ? 'native' : 'js';
  }

  /** Encodes text with no special-token handling, using the native encoder when possible. */
  encodeOrdinary(text: string): Uint32Array {
    const native = this.native();
    if (native) return bpeNative()!.bpeEncode(native, text);
    return this.encodeOrdinaryJs(text);
  }

  /** The JavaScript encoder (the reference the native one is tested against). */
  encodeOrdinaryJs(text: string): Uint32Array {
    let out = new Uint32Array(Math.min(text.length + 16, 1 << 20));
    let n = 0;
    const re = this.re;
    const cache = this.cache;
    re.lastIndex = 0;
    let last = 0;
    const piece = (s: string): void => {
      // Worst case 3 ids per UTF-16 unit.
      if (n + 3 * s.length > out.length) {
        const bigger = new Uint32Array(Math.max(out.length * 2, n + 3 * s.length));
        bigger.set(out.subarray(0, n));
        out = bigger;
      }
      const hit = cache.get(s);
      if (hit !== undefined) {
        if (typeof hit === 'number') out[n++] = hit;
        else {
          out.set(hit, n);
          n += hit.length;
        }
        return;
      }
      const before = n;
      n = this.encodePiece(s, out, n);
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(s, n - before === 1 ? out[before] : out.slice(before, n));
    };
    for (;;) {
      const m = re.exec(text);
      if (m === null) break;
      const s = m[0];
      if (s.length === 0) {
        re.lastIndex = m.index + 1;
        continue;
      }
      if (m.index > last) piece(text.slice(last, m.index));
      piece(s);
      last = m.index + s.length;
    }
    if (last < text.length) piece(text.slice(last));
    return out.slice(0, n);
  }

  private encodePiece(s: string, out: Uint32Array, n: number): number {
    if (this.scratch.length < s.length * 3) this.scratch = new Uint8Array(s.length * 3 + 64);
    const len = utf8Into(s, this.scratch);
    if (this.model.ignoreMerges) {
      const id = this.tokenLookup(this.scratch.subarray(0, len));
      if (id !== undefined) {
        out[n] = id;
        return n + 1;
      }
    }
    return bpeEncodeBytes(this.table, this.model.byteIds, this.scratch, len, out, n);
  }

  private tokenLookup(bytes: Uint8Array): number | undefined {
    if (!this.tokenIndex) {
      this.tokenIndex = new Map();
      this.model.tokens.forEach((t, id) => {
        if (t && !this.specialById.has(id) && !this.tokenIndex!.has(bytesKey(t))) this.tokenIndex!.set(bytesKey(t), id);
      });
    }
    return this.tokenIndex.get(bytesKey(bytes));
  }

  private normalize(text: string): string {
    return this.normalizer === 'nfc' ? text.normalize('NFC') : text;
  }

  /**
   * Splits text at the allowed special tokens: an array of text segments and special ids, or null
   * when no allowed special token occurs (the common case, no copy made).
   */
  private splitSpecial(text: string, options?: EncodeOptions): Array<string | number> | null {
    const allowed = options?.allowedSpecial;
    if (allowed === undefined || this.specialTokens.size === 0) return null;
    let re: RegExp;
    if (allowed === 'all') {
      this.specialRegexAll ??= specialRegex([...this.specialTokens.keys()]);
      re = this.specialRegexAll;
    } else {
      const names = [...allowed].filter((s) => this.specialTokens.has(s)).sort();
      if (names.length === 0) return null;
      const key = names.join('\u0000');
      let cached = this.specialRegexBySet.get(key);
      if (!cached) {
        cached = specialRegex(names);
        if (this.specialRegexBySet.size > 64) this.specialRegexBySet.clear();
        this.specialRegexBySet.set(key, cached);
      }
      re = cached;
    }
    re.lastIndex = 0;
    let m = re.exec(text);
    if (m === null) return null;
    const out: Array<string | number> = [];
    let last = 0;
    while (m !== null) {
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(this.specialTokens.get(m[0])!);
      last = m.index + m[0].length;
      m = re.exec(text);
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  private native(): NativeEncoderHandle | null {
    if (this.nativeHandle !== undefined) {
      // The native paths can be switched off at run time (tests); re-check availability.
      return this.nativeHandle && bpeNative() ? this.nativeHandle : null;
    }
    this.nativeHandle = null;
    const addon = bpeNative();
    const kind = this.pattern.name === 'gpt2' ? 0 : this.pattern.name === 'gpt4' ? 1 : -1;
    if (!addon || kind < 0 || this.model.ignoreMerges) return null;
    const merges = this.model.merges;
    const a = new Int32Array(merges.length);
    const b = new Int32Array(merges.length);
    const r = new Int32Array(merges.length);
    merges.forEach((m, i) => {
      a[i] = m.a;
      b[i] = m.b;
      r[i] = m.result;
    });
    this.nativeHandle = addon.bpeCreate(kind, this.model.byteIds, a, b, r, unicodeClassRanges());
    return this.nativeHandle;
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Longest first, so a special token that is a prefix of another never shadows it. */
function specialRegex(names: string[]): RegExp {
  const sorted = [...names].sort((x, y) => y.length - x.length || (x < y ? -1 : x > y ? 1 : 0));
  return new RegExp(sorted.map(escapeRegex).join('|'), 'gu');
}

export function concatIds(parts: readonly Uint32Array[]): Uint32Array {
  if (parts.length === 1) return parts[0];
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint32Array(total);
  let n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}
