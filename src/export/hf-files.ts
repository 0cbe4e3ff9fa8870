/**
 * Hugging Face weight files: writing model.safetensors in F32, F16 or BF16, and reading a
 * model folder's weights from one model.safetensors or the shards listed in
 * model.safetensors.index.json (F32/F16/BF16; src/tensor/safetensors.ts decodes them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, type NamedTensor, type TensorMap } from '../tensor/safetensors.js';
import { toBf16Bytes, toF16Bytes, toF32Bytes } from './quant.js';

export type HfDtype = 'f32' | 'f16' | 'bf16';
const DTYPE_NAME: Record<HfDtype, string> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };
export const TORCH_DTYPE = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' } as const;

/** safetensors bytes (as chunks) with every tensor in `dtype`; metadata format "pt" as torch writes. */
export function encodeHfSafetensors(tensors: ReadonlyArray<readonly [string, NamedTensor]>, dtype: HfDtype,
  onTensor?: (done: number, total: number) => void): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const datas: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = dtype === 'f32' ? toF32Bytes(t.data) : dtype === 'f16' ? toF16Bytes(t.data) : toBf16Bytes(t.data);
    header[name] = { dtype: DTYPE_NAME[dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    datas.push(bytes);
    offset += bytes.length;
    onTensor?.(datas.length, tensors.length);
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // data 8-byte aligned, as the reference writer does
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return [prefix, Buffer.from(json, 'utf8'), ...datas];
}

/** All weights of an HF model folder, by tensor name. Errors name the file and the problem. */
export function readHfWeights(dir: string): TensorMap {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(single)) return readSafetensors(single).tensors;
  if (existsSync(index)) return readSharded(dir, index);
  const bin = ['pytorch_model.bin', 'pytorch_model.bin.index.json'].find((f) => existsSync(join(dir, f)));
  if (bin !== undefined) {
    throw new Error(`${join(dir, bin)}: PyTorch pickle weights are not read (unsafe to unpickle); save them as safetensors first: ` +
      'model.save_pretrained(dir, safe_serialization=True)');
  }
  throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json`);
}

function readSharded(dir: string, indexPath: string): TensorMap {
  let index: { weight_map?: unknown };
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: unknown };
  } catch (err) {
    throw new Error(`${indexPath}: cannot read the shard index (${(err as Error).message})`);
  }
  const map = index.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new Error(`${indexPath}: field "weight_map" must be an object of tensor → file`);
  const byFile = new Map<string, string[]>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) throw new Error(`${indexPath}: weight_map.${name} must be a file name in the folder, got ${JSON.stringify(file)}`);
    byFile.set(file, [...(byFile.get(file) ?? []), name]);
  }
  const out: TensorMap = new Map();
  for (const [file, names] of byFile) {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${indexPath}: shard ${file} is listed but missing`);
    const { tensors } = readSafetensors(path);
    for (const name of names) {
      const t = tensors.get(name);
      if (!t) throw new Error(`${path}: tensor ${name} is listed in ${indexPath} but not in the shard`);
      out.set(name, t);
    }
  }
  return out;
}
