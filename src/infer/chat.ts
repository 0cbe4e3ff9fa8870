/**
 * A conversation in the chat format (src/model/chat.ts): an optional system prompt and the
 * user/assistant turns so far, rendered with the template before every reply
 *
 *   <|bos|><|system|>…<|end|><|user|>…<|end|><|assistant|>…<|end|><|user|>new<|end|><|assistant|>
 *
 * and continued until the model closes its turn with <|end|>. Before each reply the oldest
 * exchanges are dropped until the rendered history plus the reply budget fits the context
 * (the system prompt always stays). The engine keeps the rendered prefix's keys and values
 * cached, so each turn only computes its new tokens unless turns were dropped.
 */
import { chatTokens, renderChat, type ChatMessage } from '../model/chat.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { InferenceEngine } from './engine.js';
import { Generation, generateOptions, type GenerateOptions, type SequenceResult } from './generate.js';

/**
 * Ids that end an assistant turn: <|end|>, and the tokens that could only follow one
 * (another role, a new document). A model that skips <|end|> and starts writing the
 * user's next turn is stopped there instead of talking to itself.
 */
export function chatStopTokens(t: Tokenizer): number[] {
  const c = chatTokens(t);
  return [c.end, c.user, c.system, c.assistant, c.bos];
}

/** The ids of a one-turn prompt awaiting the assistant's reply: [system], user, <|assistant|>. */
export function chatPromptIds(t: Tokenizer, prompt: string, system?: string): number[] {
  const messages: ChatMessage[] = system !== undefined && system.length > 0 ? [{ role: 'system', content: system }] : [];
  messages.push({ role: 'user', content: prompt });
  return renderChat(t, messages, { addGenerationPrompt: true }).ids;
}

export interface ChatReply extends SequenceResult {
  /** User/assistant messages dropped from the front of the history to make room. */
  droppedTurns: number;
}

export class ChatSession {
  readonly options: GenerateOptions;
  private history: ChatMessage[] = [];
  private systemPrompt: string | null;
  private replies = 0;

  constructor(
    private readonly engine: InferenceEngine,
    private readonly tokenizer: Tokenizer,
    options: Partial<GenerateOptions> = {},
    opts: { system?: string } = {},
  ) {
    chatTokens(tokenizer); // fails early, naming the missing token, for a tokenizer without the chat tokens
    // Stop tokens given explicitly win (--ignore-eos passes none); otherwise the turn ends at <|end|>.
    this.options = generateOptions({ ...options, stopTokens: options.stopTokens ?? chatStopTokens(tokenizer) });
    this.systemPrompt = opts.system !== undefined && opts.system.length > 0 ? opts.system : null;
  }

  /** The conversation as rendered next (system prompt first), without the pending reply. */
  get messages(): ChatMessage[] {
    return [...(this.systemPrompt !== null ? [{ role: 'system' as const, content: this.systemPrompt }] : []), ...this.history];
  }

  get system(): string | null {
    return this.systemPrompt;
  }

  /** Tokens of the history as it stands (template tokens included). */
  get historyTokens(): number {
    return renderChat(this.tokenizer, this.messages).ids.length;
  }

  /** Positions the engine holds: the most a conversation can take. */
  get capacity(): number {
    return this.engine.capacity;
  }

  /** User and assistant messages currently kept. */
  get turnCount(): number {
    return this.history.length;
  }

  /** Forgets the conversation (the system prompt stays). */
  reset(): void {
    this.history = [];
    this.engine.reset(0);
  }

  /** Sets (or, with null or '', removes) the system prompt; the history is kept. */
  setSystem(text: string | null): void {
    this.systemPrompt = text !== null && text.length > 0 ? text : null;
  }

  /** Adds the user's message and generates the assistant's reply, streaming it through onText. */
  async reply(text: string, onText?: (text: string) => void, signal?: AbortSignal): Promise<ChatReply> {
    if (text.trim().length === 0) throw new RangeError('empty message');
    this.history.push({ role: 'user', content: text });
    let prompt: number[];
    let dropped: number;
    try {
      ({ prompt, dropped } = this.fit());
    } catch (err) {
      this.history.pop();
      throw err;
    }
    // Sequences differ per reply (reply k draws with seed + k) but a session replays exactly.
    const o = { ...this.options, seed: (this.options.seed + this.replies++) >>> 0 };
    const g = new Generation(this.engine, [prompt], o, { tokenizer: this.tokenizer, onText: (_, t) => onText?.(t) });
    const [r] = await g.runAsync(signal);
    this.history.push({ role: 'assistant', content: r.text });
    return { ...r, droppedTurns: dropped };
  }

  /** Drops the oldest exchanges until the rendered prompt plus the reply budget fits. */
  private fit(): { prompt: number[]; dropped: number } {
    const cap = this.engine.capacity;
    const budget = Math.max(1, cap - Math.min(this.options.maxNewTokens, Math.floor(cap / 2)));
    let dropped = 0;
    for (;;) {
      const ids = renderChat(this.tokenizer, this.messages, { addGenerationPrompt: true }).ids;
      if (ids.length <= budget) return { prompt: ids, dropped };
      if (this.history.length <= 1) {
        throw new RangeError(`the message is too long: ${ids.length} tokens with the template${this.systemPrompt !== null ? ' and system prompt' : ''}, ` +
          `but the context holds ${cap} and ${cap - budget} are kept for the reply`);
      }
      // One exchange at a time (a user message and the reply to it), so turns never start with the assistant.
      this.history.shift();
      dropped++;
      if (this.history.length > 1 && this.history[0].role === 'assistant') {
        this.history.shift();
        dropped++;
      }
    }
  }
}
