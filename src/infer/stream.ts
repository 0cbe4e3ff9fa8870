/**
 * Streaming text out of a token stream. Two small pieces:
 * - StreamDecoder turns ids into text as they arrive without ever splitting a UTF-8
 *   character: the bytes of an incomplete character stay pending until the token that
 *   completes it (byte-level BPE tokens often end mid-character). The concatenated output
 *   equals the tokenizer's decode of all the ids (invalid bytes → U+FFFD in both).
 * - StopMatcher holds back text that could be the start of a stop string, so a stop
 *   string is never shown, not even in part, and cuts the text where one appears.
 */

/** The part of a tokenizer streaming needs. */
export interface ByteDecoder {
  decodeBytes(ids: ArrayLike<number>): Uint8Array;
  /** Ids it can decode (0..vocabSize-1); a model's vocabulary may be padded beyond it. */
  readonly vocabSize?: number;
}

export class StreamDecoder {
  private utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private readonly one = [0];

  constructor(private readonly tokenizer: ByteDecoder) {}

  /** The text completed by one more token ('' while a character is still incomplete). */
  push(id: number): string {
    this.one[0] = id;
    return this.utf8.decode(this.tokenizer.decodeBytes(this.one), { stream: true });
  }

  /** The end of the stream: pending bytes of an unfinished character become U+FFFD. */
  flush(): string {
    const rest = this.utf8.decode();
    this.utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    return rest;
  }
}

export class StopMatcher {
  private held = '';
  private readonly stops: string[];

  constructor(stops: readonly string[]) {
    for (const s of stops) if (s.length === 0) throw new RangeError('stop strings must not be empty');
    this.stops = [...stops];
  }

  /**
   * Adds text; returns what can be shown now and whether a stop string has appeared
   * (then `text` ends just before it and nothing more should be pushed).
   */
  push(text: string): { text: string; stopped: boolean } {
    if (this.stops.length === 0) return { text, stopped: false };
    const buf = this.held + text;
    let cut = -1;
    for (const s of this.stops) {
      const at = buf.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.held = '';
      return { text: buf.slice(0, cut), stopped: true };
    }
    // Hold back the longest suffix that is a proper prefix of some stop string.
    let hold = 0;
    for (const s of this.stops) {
      for (let len = Math.min(s.length - 1, buf.length); len > hold; len--) {
        if (buf.endsWith(s.slice(0, len))) {
          hold = len;
          break;
        }
      }
    }
    this.held = buf.slice(buf.length - hold);
    return { text: buf.slice(0, buf.length - hold), stopped: false };
  }

  /** Text held back at the end of generation (it never became a stop string). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}
