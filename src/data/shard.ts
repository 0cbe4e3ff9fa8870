/**
 * Token shard files.
 *
 * Layout (all little-endian), 32-byte header then the tokens:
 *   0  8 bytes  magic "LLMFTOKS"
 *   8  u32      format version (1)
 *  12  u32      bytes per token: 2 (uint16) or 4 (uint32)
 *  16  u64      token count
 *  24  u32      tokenizer vocab size
 *  28  u32      documents that start in this shard
 *  32  tokens   count × bytes-per-token
 * Documents are preceded by the separator token; a document may continue into the
 * next shard of its split (the shards of a split form one stream).
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from './errors.js';

export const SHARD_MAGIC = 'LLMFTOKS';
export const SHARD_VERSION = 1;
export const HEADER_BYTES = 32;

export type TokenDtype = 'uint16' | 'uint32';

export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

export function bytesPerToken(dtype: TokenDtype): 2 | 4 {
  return dtype === 'uint16' ? 2 : 4;
}

export interface ShardHeader {
  version: number;
  dtype: TokenDtype;
  tokens: number;
  vocabSize: number;
  documents: number;
}

export function encodeHeader(h: ShardHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.write(SHARD_MAGIC, 0, 'latin1');
  b.writeUInt32LE(h.version, 8);
  b.writeUInt32LE(bytesPerToken(h.dtype), 12);
  b.writeBigUInt64LE(BigInt(h.tokens), 16);
  b.writeUInt32LE(h.vocabSize, 24);
  b.writeUInt32LE(h.documents, 28);
  return b;
}

/** Parses and checks a header; `file` names the shard in errors. */
export function decodeHeader(b: Uint8Array, file: string): ShardHeader {
  if (b.length < HEADER_BYTES) throw new DataError(`${file}: too short for a shard header (${b.length} bytes)`);
  const buf = Buffer.from(b.buffer, b.byteOffset, HEADER_BYTES);
  const magic = buf.toString('latin1', 0, 8);
  if (magic !== SHARD_MAGIC) throw new DataError(`${file}: not a llmforge token shard (magic '${magic}')`);
  const version = buf.readUInt32LE(8);
  if (version !== SHARD_VERSION) throw new DataError(`${file}: shard version ${version} is not supported (expected ${SHARD_VERSION})`);
  const bpt = buf.readUInt32LE(12);
  if (bpt !== 2 && bpt !== 4) throw new DataError(`${file}: header field bytes_per_token is ${bpt}, expected 2 or 4`);
  const tokens = buf.readBigUInt64LE(16);
  if (tokens > BigInt(Number.MAX_SAFE_INTEGER)) throw new DataError(`${file}: header field tokens is too large (${tokens})`);
  return {
    version,
    dtype: bpt === 2 ? 'uint16' : 'uint32',
    tokens: Number(tokens),
    vocabSize: buf.readUInt32LE(24),
    documents: buf.readUInt32LE(28),
  };
}

/** Reads the header of a shard file and checks that its size matches the token count. */
export function readShardHeader(path: string): ShardHeader {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(HEADER_BYTES);
    const n = readSync(fd, b, 0, HEADER_BYTES, 0);
    const h = decodeHeader(b.subarray(0, n), path);
    const size = fstatSync(fd).size;
    const expected = HEADER_BYTES + h.tokens * bytesPerToken(h.dtype);
    if (size !== expected) {
      throw new DataError(`${path}: file is ${size} bytes but its header says ${h.tokens} tokens (${expected} bytes): truncated or damaged`);
    }
    return h;
  } finally {
    closeSync(fd);
  }
}

/** Reads a whole shard's tokens (tests and small splits). */
export function readShardTokens(path: string): Uint16Array | Uint32Array {
  const h = readShardHeader(path);
  const fd = openSync(path, 'r');
  try {
    const out = h.dtype === 'uint16' ? new Uint16Array(h.tokens) : new Uint32Array(h.tokens);
    const bytes = new Uint8Array(out.buffer);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, HEADER_BYTES + done);
      if (n === 0) throw new DataError(`${path}: unexpected end of file`);
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Read size of verifyShard: big enough for the hash to run at full speed, small for memory. */
const VERIFY_CHUNK = 4 << 20;

export interface ShardExpectation {
  /** The file's sha256 in manifest.json. */
  sha256: string;
  dtype: TokenDtype;
  /** Every token id must be below this. */
  vocabSize: number;
}

// One loop per array type: V8 keeps each monomorphic (about twice as fast as one shared loop).
function max16(ids: Uint16Array): number {
  let m = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] > m) m = ids[i];
  return m;
}

function max32(ids: Uint32Array): number {
  let m = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i] > m) m = ids[i];
  return m;
}

function readFully(fd: number, path: string, dest: Uint8Array, position: number): void {
  let done = 0;
  while (done < dest.length) {
    const n = readSync(fd, dest, done, dest.length - done, position + done);
    if (n === 0) throw new DataError(`${path}: unexpected end of file (shard changed while it was read?)`);
    done += n;
  }
}

/**
 * Reads a shard once, whole: its sha256 must be the manifest's (a flipped byte is caught
 * before it trains), and every token id must be inside the vocabulary (a shard that is
 * consistent but wrong would index past the embedding). With `into`, the tokens are copied
 * there at `intoOffset` as they stream by — the loader's in-memory split costs no second read.
 * About 300 MB/s on the 2-core dev machine (sha256 ~500 MB/s plus the id scan): a second per
 * 128M tokens, which training at ~13k tokens/s takes hours to consume.
 */
export function verifyShard(path: string, want: ShardExpectation, into?: Uint8Array, intoOffset = 0): void {
  const bpt = bytesPerToken(want.dtype);
  const fd = openSync(path, 'r');
  try {
    const hash = createHash('sha256');
    const header = new Uint8Array(HEADER_BYTES);
    readFully(fd, path, header, 0);
    hash.update(header);
    const size = fstatSync(fd).size - HEADER_BYTES;
    // A fresh (aligned) buffer, so the chunk can be viewed as uint16/uint32 tokens.
    const chunk = into ? null : new Uint8Array(Math.min(VERIFY_CHUNK, Math.max(size, bpt)));
    let bad = -1;
    let badId = 0;
    for (let pos = 0; pos < size; pos += VERIFY_CHUNK) {
      const n = Math.min(VERIFY_CHUNK, size - pos);
      const dest = into ? into.subarray(intoOffset + pos, intoOffset + pos + n) : (chunk as Uint8Array).subarray(0, n);
      readFully(fd, path, dest, HEADER_BYTES + pos);
      hash.update(dest);
      if (bad < 0) {
        const ids = bpt === 2 ? new Uint16Array(dest.buffer, dest.byteOffset, n / 2) : new Uint32Array(dest.buffer, dest.byteOffset, n / 4);
        const max = bpt === 2 ? max16(ids as Uint16Array) : max32(ids as Uint32Array);
        if (max >= want.vocabSize) {
          const i = ids.findIndex((id) => id >= want.vocabSize);
          bad = pos / bpt + i;
          badId = ids[i];
        }
      }
    }
    const got = hash.digest('hex');
    if (got !== want.sha256) {
      throw new DataError(
        `${path}: sha256 ${got.slice(0, 16)}… does not match manifest.json (${want.sha256.slice(0, 16)}…): ` +
          'the shard is damaged or was changed after `data prepare`; prepare the data again',
      );
    }
    if (bad >= 0) throw new DataError(`${path}: token ${bad} is id ${badId}, outside the vocabulary (${want.vocabSize} ids)`);
  } finally {
    closeSync(fd);
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface ShardInfo {
  file: string;
  split: 'train' | 'val';
  tokens: number;
  documents: number;
  bytes: number;
  sha256: string;
}

/**
 * Writes one split as a sequence of shards `${split}-00000.bin`, … of at most
 * `maxTokens` tokens each, through a fixed-size buffer.
 */
export class ShardWriter {
  private fd = -1;
  private filePos = 0;
  private index = 0;
  private shardTokens = 0;
  private shardDocs = 0;
  private readonly buf: Buffer;
  private bufLen = 0;
  private readonly bpt: 2 | 4;
  private readonly done: Omit<ShardInfo, 'sha256'>[] = [];
  tokens = 0;
  documents = 0;

  constructor(
    private readonly dir: string,
    readonly split: 'train' | 'val',
    readonly dtype: TokenDtype,
    private readonly vocabSize: number,
    private readonly maxTokens: number,
    bufferBytes = 1 << 20,
  ) {
    this.bpt = bytesPerToken(dtype);
    this.buf = Buffer.alloc(Math.max(bufferBytes - (bufferBytes % 4), 64));
  }

  private fileName(i: number): string {
    return `${this.split}-${String(i).padStart(5, '0')}.bin`;
  }

  /** Runs a file operation, naming the shard in any error (disk full, …). */
  private io<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof DataError) throw err;
      throw new DataError(`${join(this.dir, this.fileName(this.index))}: cannot write shard: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private open(): void {
    this.io(() => this.openFile());
  }

  private openFile(): void {
    this.fd = openSync(join(this.dir, this.fileName(this.index)), 'wx');
    writeSync(this.fd, Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
    this.filePos = HEADER_BYTES;
    this.shardTokens = 0;
    this.shardDocs = 0;
  }

  private flush(): void {
    this.io(() => this.flushBuffer());
  }

  private flushBuffer(): void {
    let off = 0;
    while (off < this.bufLen) {
      const n = writeSync(this.fd, this.buf, off, this.bufLen - off, this.filePos);
      off += n;
      this.filePos += n;
    }
    this.bufLen = 0;
  }

  private closeShard(): void {
    this.flush();
    const header = encodeHeader({
      version: SHARD_VERSION,
      dtype: this.dtype,
      tokens: this.shardTokens,
      vocabSize: this.vocabSize,
      documents: this.shardDocs,
    });
    this.io(() => {
      writeSync(this.fd, header, 0, HEADER_BYTES, 0);
      closeSync(this.fd);
    });
    this.fd = -1;
    this.done.push({
      file: this.fileName(this.index),
      split: this.split,
      tokens: this.shardTokens,
      documents: this.shardDocs,
      bytes: HEADER_BYTES + this.shardTokens * this.bpt,
    });
    this.index++;
  }

  /** Appends one document (its tokens, separator included). */
  writeDocument(ids: ArrayLike<number>): void {
    if (this.fd < 0 || this.shardTokens >= this.maxTokens) {
      if (this.fd >= 0) this.closeShard();
      this.open();
    }
    this.shardDocs++;
    this.documents++;
    let i = 0;
    while (i < ids.length) {
      if (this.shardTokens >= this.maxTokens) {
        this.closeShard();
        this.open();
      }
      const room = Math.min(ids.length - i, this.maxTokens - this.shardTokens, (this.buf.length - this.bufLen) / this.bpt);
      if (room === 0) {
        this.flush();
        continue;
      }
      const end = i + room;
      let off = this.bufLen;
      if (this.bpt === 2) {
        for (; i < end; i++, off += 2) {
          const id = ids[i];
          if (id >= this.vocabSize || id < 0) throw new DataError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
          this.buf[off] = id & 0xff;
          this.buf[off + 1] = id >>> 8;
        }
      } else {
        for (; i < end; i++, off += 4) {
          const id = ids[i];
          if (id >= this.vocabSize || id < 0) throw new DataError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
          this.buf.writeUInt32LE(id, off);
        }
      }
      this.bufLen = off;
      this.shardTokens += room;
      this.tokens += room;
    }
  }

  /** Closes the last shard and returns every shard with its checksum. */
  async finish(): Promise<ShardInfo[]> {
    if (this.fd >= 0) this.closeShard();
    const out: ShardInfo[] = [];
    for (const s of this.done) out.push({ ...s, sha256: await sha256File(join(this.dir, s.file)) });
    return out;
  }

  /** Closes the open file without finishing (on failure). */
  abort(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = -1;
    }
  }
}
