/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header
 * ({name: {dtype, shape, data_offsets}}, plus optional "__metadata__" of strings),
 * then the raw little-endian tensor bytes. We write F32 and read F32/F16/BF16.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';

export interface NamedTensor {
  shape: readonly number[];
  data: Float32Array;
  /** The dtype stored in the file (decoded tensors only; data is always float32 in memory). */
  dtype?: string;
}

export type TensorMap = Map<string, NamedTensor>;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Serialises tensors (in the given order) into safetensors bytes, as chunks. */
export function encodeSafetensors(tensors: Iterable<[string, NamedTensor]>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, HeaderEntry | Record<string, string>> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    datas.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad so the data starts 8-byte aligned (what the reference implementation does).
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));
  return [prefix, headerBytes, ...datas];
}

export function writeSafetensors(path: string, tensors: Iterable<[string, NamedTensor]>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export interface Safetensors {
  tensors: TensorMap;
  metadata: Record<string, string>;
}

/** Parses safetensors bytes; every inconsistency is an error naming `source`. */
export function decodeSafetensors(buf: Uint8Array, source: string): Safetensors {
  const fail = (msg: string): never => {
    throw new Error(`${source}: not a valid safetensors file (${msg})`);
  };
  if (buf.length < 8) fail(`${buf.length} bytes, too short for a header`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > buf.length - 8) fail(`header length ${headerLen} exceeds the file size ${buf.length} (truncated?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, headerLen).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    return fail(`header is not JSON: ${(err as Error).message}`);
  }
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as Partial<HeaderEntry>;
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) fail(`tensor ${name}: malformed entry`);
    const [begin, end] = e.data_offsets as [number, number];
    const count = (e.shape as number[]).reduce((a, b) => a * b, 1);
    const width = e.dtype === 'F32' ? 4 : e.dtype === 'F16' || e.dtype === 'BF16' ? 2 : fail(`tensor ${name}: unsupported dtype ${e.dtype}`);
    if (!(begin >= 0 && end <= dataLen && end - begin === count * width)) {
      fail(`tensor ${name}: data_offsets [${begin}, ${end}] do not fit shape [${e.shape}] ${e.dtype} in ${dataLen} data bytes (truncated?)`);
    }
    tensors.set(name, { shape: e.shape as number[], data: toF32(buf, dataStart + begin, count, e.dtype as string), dtype: e.dtype as string });
  }
  return { tensors, metadata };
}

export function readSafetensors(path: string): Safetensors {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new Error(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return decodeSafetensors(buf, path);
}

function toF32(buf: Uint8Array, offset: number, count: number, dtype: string): Float32Array {
  const out = new Float32Array(count);
  const view = new DataView(buf.buffer, buf.byteOffset + offset, count * (dtype === 'F32' ? 4 : 2));
  if (dtype === 'F32') {
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  } else if (dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) u32[i] = view.getUint16(i * 2, true) << 16;
  } else {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}
