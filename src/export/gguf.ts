/**
 * GGUF v3, the file format of llama.cpp (ggml's docs/gguf.md), little-endian:
 *
 *   magic "GGUF", version u32 = 3, tensor count u64, metadata count u64
 *   metadata: key (string), value type u32, value          string = u64 length + UTF-8 bytes
 *   tensor infos: name, n_dims u32, dims u64[n_dims] (innermost first), ggml type u32,
 *                 offset u64 (from the start of the data section, a multiple of the alignment)
 *   padding to general.alignment (32), then the tensor data, each tensor padded likewise.
 *
 * Shapes are given here in PyTorch order (outermost first) and reversed on the way in and out.
 */

export enum GgufType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9,
  UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

/** The ggml tensor types we write. */
export enum GgmlType { F32 = 0, F16 = 1, Q8_0 = 8 }

export const GGUF_ALIGNMENT = 32;
const MAGIC = 0x46554747; // "GGUF" read as a little-endian u32

export type GgufScalar =
  | { type: GgufType.UINT32 | GgufType.INT32 | GgufType.FLOAT32 | GgufType.UINT64; value: number }
  | { type: GgufType.BOOL; value: boolean }
  | { type: GgufType.STRING; value: string };
export type GgufArray =
  | { type: GgufType.ARRAY; itemType: GgufType.STRING; value: readonly string[] }
  | { type: GgufType.ARRAY; itemType: GgufType.INT32 | GgufType.UINT32 | GgufType.FLOAT32; value: readonly number[] };
export type GgufValue = GgufScalar | GgufArray;

export const u32 = (value: number): GgufValue => ({ type: GgufType.UINT32, value });
export const i32 = (value: number): GgufValue => ({ type: GgufType.INT32, value });
export const f32 = (value: number): GgufValue => ({ type: GgufType.FLOAT32, value });
export const bool = (value: boolean): GgufValue => ({ type: GgufType.BOOL, value });
export const str = (value: string): GgufValue => ({ type: GgufType.STRING, value });
export const strings = (value: readonly string[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.STRING, value });
export const i32s = (value: readonly number[]): GgufValue => ({ type: GgufType.ARRAY, itemType: GgufType.INT32, value });

export interface GgufTensor {
  name: string;
  /** PyTorch order: outermost dimension first. */
  shape: readonly number[];
  type: GgmlType;
  data: Uint8Array;
}

/** Grows a byte buffer as values are appended. */
class Writer {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  u64(v: number): void { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  result(): Uint8Array { return this.buf.subarray(0, this.length); }
}

function writeScalar(w: Writer, type: GgufType, v: number | boolean | string, key: string): void {
  switch (type) {
    case GgufType.UINT32: w.u32(v as number); break;
    case GgufType.INT32: w.i32(v as number); break;
    case GgufType.FLOAT32: w.f32(v as number); break;
    case GgufType.UINT64: w.u64(v as number); break;
    case GgufType.BOOL: w.u8(v ? 1 : 0); break;
    case GgufType.STRING: w.string(v as string); break;
    default: throw new Error(`gguf: metadata ${key}: unsupported value type ${type}`);
  }
}

/** Bytes of a ggml tensor of `count` elements. */
export function ggmlBytes(type: GgmlType, count: number): number {
  if (type === GgmlType.F32) return count * 4;
  if (type === GgmlType.F16) return count * 2;
  if (type === GgmlType.Q8_0) return (count / 32) * 34;
  throw new Error(`ggml type ${type as number} is not one llmforge reads or writes (F32, F16, Q8_0)`);
}

/** Serialises a GGUF file as chunks (header, then each tensor's bytes and padding). */
export function encodeGguf(metadata: ReadonlyArray<readonly [string, GgufValue]>, tensors: readonly GgufTensor[]): Uint8Array[] {
  const w = new Writer();
  w.u32(MAGIC);
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  const keys = new Set<string>();
  for (const [key, v] of metadata) {
    if (keys.has(key)) throw new Error(`gguf: metadata key ${key} given twice`);
    keys.add(key);
    w.string(key);
    w.u32(v.type);
    if (v.type === GgufType.ARRAY) {
      w.u32(v.itemType);
      w.u64(v.value.length);
      for (const item of v.value) writeScalar(w, v.itemType, item, key);
    } else {
      writeScalar(w, v.type, v.value, key);
    }
  }
  let offset = 0;
  const pads: number[] = [];
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== ggmlBytes(t.type, count)) {
      throw new Error(`gguf: tensor ${t.name}: ${t.data.length} bytes for shape [${t.shape.join(', ')}] of type ${GgmlType[t.type]}`);
    }
    w.string(t.name);
    w.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) w.u64(t.shape[d]);
    w.u32(t.type);
    w.u64(offset);
    const pad = (GGUF_ALIGNMENT - (t.data.length % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;
    pads.push(pad);
    offset += t.data.length + pad;
  }
  w.pad(GGUF_ALIGNMENT);
  const chunks: Uint8Array[] = [w.result()];
  tensors.forEach((t, i) => {
    chunks.push(t.data);
    if (pads[i] > 0) chunks.push(new Uint8Array(pads[i]));
  });
  return chunks;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, unknown>;
  tensors: Array<{ name: string; shape: number[]; type: number; data: Uint8Array }>;
}

/** Parses a GGUF file (for checks and inspection); errors name `source` and what is wrong. */
export function decodeGguf(buf: Uint8Array, source: string): GgufFile {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const need = (n: number): void => {
    if (p + n > buf.length) throw new Error(`${source}: truncated GGUF (needs ${p + n} bytes, has ${buf.length})`);
  };
  const rdU32 = (): number => { need(4); const v = view.getUint32(p, true); p += 4; return v; };
  const rdU64 = (): number => { need(8); const v = Number(view.getBigUint64(p, true)); p += 8; return v; };
  const rdStr = (): string => {
    const n = rdU64();
    need(n);
    const s = Buffer.from(buf.buffer, buf.byteOffset + p, n).toString('utf8');
    p += n;
    return s;
  };
  const rdValue = (type: number): unknown => {
    switch (type) {
      case GgufType.UINT8: need(1); return view.getUint8(p++);
      case GgufType.INT8: need(1); return view.getInt8(p++);
      case GgufType.UINT16: need(2); p += 2; return view.getUint16(p - 2, true);
      case GgufType.INT16: need(2); p += 2; return view.getInt16(p - 2, true);
      case GgufType.UINT32: return rdU32();
      case GgufType.INT32: need(4); p += 4; return view.getInt32(p - 4, true);
      case GgufType.FLOAT32: need(4); p += 4; return view.getFloat32(p - 4, true);
      case GgufType.BOOL: need(1); return view.getUint8(p++) !== 0;
      case GgufType.STRING: return rdStr();
      case GgufType.UINT64: return rdU64();
      case GgufType.INT64: need(8); p += 8; return Number(view.getBigInt64(p - 8, true));
      case GgufType.FLOAT64: need(8); p += 8; return view.getFloat64(p - 8, true);
      case GgufType.ARRAY: {
        const itemType = rdU32();
        const n = rdU64();
        const items: unknown[] = [];
        for (let i = 0; i < n; i++) items.push(rdValue(itemType));
        return items;
      }
      default: throw new Error(`${source}: unknown GGUF value type ${type} at byte ${p}`);
    }
  };
  if (rdU32() !== MAGIC) throw new Error(`${source}: not a GGUF file (bad magic)`);
  const version = rdU32();
  if (version !== 3) throw new Error(`${source}: GGUF version ${version}, only 3 is read`);
  const nTensors = rdU64();
  const nKv = rdU64();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < nKv; i++) {
    const key = rdStr();
    metadata.set(key, rdValue(rdU32()));
  }
  const infos: Array<{ name: string; shape: number[]; type: number; offset: number }> = [];
  for (let i = 0; i < nTensors; i++) {
    const name = rdStr();
    const nd = rdU32();
    const dims: number[] = [];
    for (let d = 0; d < nd; d++) dims.push(rdU64());
    infos.push({ name, shape: dims.reverse(), type: rdU32(), offset: rdU64() });
  }
  const alignment = Number(metadata.get('general.alignment') ?? GGUF_ALIGNMENT);
  const dataStart = Math.ceil(p / alignment) * alignment;
  const tensors = infos.map((t) => {
    const bytes = ggmlBytes(t.type as GgmlType, t.shape.reduce((a, b) => a * b, 1));
    const start = dataStart + t.offset;
    if (start + bytes > buf.length) throw new Error(`${source}: tensor ${t.name} runs past the end of the file (truncated?)`);
    return { name: t.name, shape: t.shape, type: t.type, data: buf.subarray(start, start + bytes) };
  });
  return { version, metadata, tensors };
}
