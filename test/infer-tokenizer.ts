/**
 * A byte-level test tokenizer for the generation tests: ids 0..255 are the bytes, 256 is
 * '<|endoftext|>'. It implements the whole Tokenizer interface so the engine and CLI code
 * can be tested without the real BPE tokenizer.
 */
import { createHash } from 'node:crypto';
import type { EncodeOptions, Tokenizer } from '../src/tokenizer/types.js';

export const EOS = 256;

export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = 257;
  readonly specialTokens: ReadonlyMap<string, number> = new Map([['<|endoftext|>', EOS]]);

  encode(text: string, options?: EncodeOptions): Uint32Array {
    const out: number[] = [];
    const parts = options?.allowedSpecial !== undefined ? text.split('<|endoftext|>') : [text];
    parts.forEach((p, i) => {
      if (i > 0) out.push(EOS);
      for (const b of Buffer.from(p, 'utf8')) out.push(b);
    });
    return Uint32Array.from(out);
  }

  encodeBatch(texts: readonly string[], options?: EncodeOptions): Promise<Uint32Array[]> {
    return Promise.resolve(texts.map((t) => this.encode(t, options)));
  }

  decode(ids: ArrayLike<number>): string {
    return new TextDecoder().decode(this.decodeBytes(ids));
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === EOS) out.push(...Buffer.from('<|endoftext|>'));
      else out.push(id);
    }
    return Uint8Array.from(out);
  }

  tokenByteLength(id: number): number {
    return id === EOS ? 0 : 1;
  }

  toTokenizerJson(): string {
    return JSON.stringify({ model: { type: 'bytes' } });
  }

  get hash(): string {
    return createHash('sha256').update(this.toTokenizerJson()).digest('hex');
  }
}
