/**
 * A conversation kept within the model's context: the history is a list of turns (user
 * text, model continuation), fed as one running text. Before each reply the oldest turns
 * are dropped until the history plus the reply budget fits the context; the newest user
 * turn is cut from the front if it alone is too long. The engine keeps the history's keys
 * and values cached, so each turn only computes its new tokens (unless turns were dropped).
 *
 * Chat templates arrive with alignment; until then the model simply continues the text.
 */
import type { Tokenizer } from '../tokenizer/types.js';
import type { InferenceEngine } from './engine.js';
import { Generation, generateOptions, type GenerateOptions, type SequenceResult } from './generate.js';

export interface ChatOptions {
  /** Token that starts the text (document start), or null. */
  documentStart?: number | null;
}

export class ChatSession {
  readonly options: GenerateOptions;
  private turns: number[][] = [];
  private replies = 0;

  constructor(
    private readonly engine: InferenceEngine,
    private readonly tokenizer: Tokenizer,
    options: Partial<GenerateOptions> = {},
    private readonly chat: ChatOptions = {},
  ) {
    this.options = generateOptions(options);
  }

  /** Tokens of the history as it stands (document start included). */
  get historyTokens(): number {
    return this.prefix().length + this.turns.reduce((n, t) => n + t.length, 0);
  }

  /** Turns currently kept. */
  get turnCount(): number {
    return this.turns.length;
  }

  /** Forgets the conversation. */
  reset(): void {
    this.turns = [];
    this.engine.reset(0);
  }

  /** Adds the user's text and generates the model's continuation, streaming it through onText. */
  async reply(text: string, onText?: (text: string) => void, signal?: AbortSignal): Promise<SequenceResult & { droppedTurns: number }> {
    if (text.trim().length === 0) throw new RangeError('empty message');
    const sep = this.turns.length > 0 && !/\s$/.test(this.tokenizer.decode(this.turns[this.turns.length - 1])) ? '\n' : '';
    this.turns.push(Array.from(this.tokenizer.encode(sep + text)));
    const dropped = this.fit();
    const prompt = [...this.prefix(), ...this.turns.flat()];
    // Sequences differ per reply (reply k draws with seed + k) but a session replays exactly.
    const o = { ...this.options, seed: (this.options.seed + this.replies++) >>> 0 };
    const g = new Generation(this.engine, [prompt], o, { tokenizer: this.tokenizer, onText: (_, t) => onText?.(t) });
    const [r] = await g.runAsync(signal);
    const tokens = r.finishReason === 'stop' && this.options.stop.length > 0 ? Array.from(this.tokenizer.encode(r.text)) : r.tokens;
    if (tokens.length > 0) this.turns.push(tokens);
    return { ...r, droppedTurns: dropped };
  }

  private prefix(): number[] {
    const s = this.chat.documentStart ?? null;
    return s === null ? [] : [s];
  }

  /** Drops the oldest turns (and trims the newest if needed) so history + reply budget fit. */
  private fit(): number {
    const cap = this.engine.capacity;
    const budget = Math.max(1, cap - Math.min(this.options.maxNewTokens, Math.floor(cap / 2)));
    let dropped = 0;
    while (this.historyTokens > budget && this.turns.length > 1) {
      this.turns.shift();
      dropped++;
    }
    const over = this.historyTokens - budget;
    if (over > 0) this.turns[0] = this.turns[0].slice(over);
    return dropped;
  }
}
