/**
 * Text read from stdin is decoded as UTF-8 and invalid bytes become U+FFFD. That is the right
 * way to keep going, but it should not happen silently: the prompt the model sees is not the
 * one that was typed or piped. These helpers say so once.
 */
import { isUtf8 } from 'node:buffer';

export const INVALID_STDIN_WARNING = 'stdin is not valid UTF-8: the invalid bytes were replaced with U+FFFD (\uFFFD)';

/** Decodes a whole buffer, warning once if it is not valid UTF-8. */
export function decodeUtf8Warn(bytes: Uint8Array, warn: (message: string) => void): string {
  if (!isUtf8(bytes)) warn(INVALID_STDIN_WARNING);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** Watches a byte stream chunk by chunk (a character may be cut between chunks) and warns once. */
export class Utf8Watch {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private warned = false;

  constructor(private readonly warn: (message: string) => void) {}

  push(chunk: Uint8Array | string): void {
    if (this.warned || typeof chunk === 'string') return;
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      this.fail();
    }
  }

  /** End of input: a character cut off by the end is invalid too. */
  end(): void {
    if (this.warned) return;
    try {
      this.decoder.decode();
    } catch {
      this.fail();
    }
  }

  private fail(): void {
    this.warned = true;
    this.warn(INVALID_STDIN_WARNING);
  }
}
