/**
 * The chat format, in one place: SFT, eval, `generate --chat`, `chat` and the server all
 * render conversations here, and the same format ships as a Hugging Face Jinja template so
 * `apply_chat_template` and llama.cpp produce exactly the ids we train on.
 *
 *   <|bos|><|system|>You are…<|end|><|user|>Hi<|end|><|assistant|>Hello!<|end|>
 *
 * No newlines or spaces are added around the role tokens: every byte of the text is the
 * message's own. Content is encoded as plain text, so a user who types "<|assistant|>"
 * gets the characters, never the token.
 */
import { join } from 'node:path';
import type { Tokenizer } from '../tokenizer/types.js';
import { writeFileAtomic } from '../util/atomic.js';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Ids of the reserved chat tokens; chatTokens() throws naming the missing token if the tokenizer lacks one. */
export interface ChatTokens {
  bos: number;
  system: number;
  user: number;
  assistant: number;
  end: number;
  pad: number | null;
}

export const CHAT_ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

/** The special-token strings of the format. */
export const CHAT_SPECIALS = {
  bos: '<|bos|>',
  system: '<|system|>',
  user: '<|user|>',
  assistant: '<|assistant|>',
  end: '<|end|>',
  pad: '<|pad|>',
} as const;

export function isChatRole(x: unknown): x is ChatRole {
  return x === 'system' || x === 'user' || x === 'assistant';
}

export function chatTokens(t: Tokenizer): ChatTokens {
  const get = (name: string): number => {
    const id = t.specialTokens.get(name);
    if (id === undefined) {
      throw new Error(
        `the tokenizer has no '${name}' special token, which the chat format needs ` +
          `(tokenizers trained by llmforge reserve <|bos|> <|system|> <|user|> <|assistant|> <|end|> by default)`,
      );
    }
    return id;
  };
  return {
    bos: get(CHAT_SPECIALS.bos),
    system: get(CHAT_SPECIALS.system),
    user: get(CHAT_SPECIALS.user),
    assistant: get(CHAT_SPECIALS.assistant),
    end: get(CHAT_SPECIALS.end),
    pad: t.specialTokens.get(CHAT_SPECIALS.pad) ?? null,
  };
}

export interface RenderedChat {
  ids: number[];
  /** 1 where the token is trained on: every assistant turn's content tokens and its closing <|end|>. */
  mask: Uint8Array;
}

/**
 * <|bos|> then each message as <|role|>content<|end|>; with addGenerationPrompt a final <|assistant|>.
 * Content is encoded as plain text (special-token strings typed by a user stay text).
 *
 * mask[i] = 1 means ids[i] is a target: the loss on predicting ids[i] from ids[0..i-1] counts.
 * The <|assistant|> token itself is context (the renderer, not the model, writes it).
 */
export function renderChat(
  t: Tokenizer,
  messages: readonly ChatMessage[],
  opts: { addGenerationPrompt?: boolean } = {},
): RenderedChat {
  const tok = chatTokens(t);
  const roleId: Record<ChatRole, number> = { system: tok.system, user: tok.user, assistant: tok.assistant };
  const ids: number[] = [tok.bos];
  const mask: number[] = [0];
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object') throw new TypeError(`renderChat: message ${i} is not an object`);
    if (!isChatRole(m.role)) {
      throw new TypeError(`renderChat: message ${i} has role ${JSON.stringify(m.role)}; expected system, user or assistant`);
    }
    if (typeof m.content !== 'string') throw new TypeError(`renderChat: message ${i} (${m.role}) content is not a string`);
    const trained = m.role === 'assistant' ? 1 : 0;
    ids.push(roleId[m.role]);
    mask.push(0);
    // No allowedSpecial: special-token strings in the content are encoded as ordinary text.
    for (const id of t.encode(m.content)) {
      ids.push(id);
      mask.push(trained);
    }
    ids.push(tok.end);
    mask.push(trained);
  });
  if (opts.addGenerationPrompt) {
    ids.push(tok.assistant);
    mask.push(0);
  }
  return { ids, mask: Uint8Array.from(mask) };
}

/**
 * The same format as a Hugging Face Jinja chat template. The token strings are literals (not
 * bos_token etc.) so the template renders the same whatever special-token map a consumer passes.
 * HF tokenizes the rendered string by splitting on added tokens, so contents that contain a
 * special-token string are the one place HF and renderChat differ (renderChat keeps them text).
 */
export const CHAT_TEMPLATE: string =
  "{{- '<|bos|>' -}}" +
  '{%- for message in messages -%}' +
  "{%- if message['role'] not in ['system', 'user', 'assistant'] -%}" +
  "{{- raise_exception('Conversation roles must be system, user or assistant') -}}" +
  '{%- endif -%}' +
  "{{- '<|' + message['role'] + '|>' + message['content'] + '<|end|>' -}}" +
  '{%- endfor -%}' +
  "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- endif -%}";

/** tokenizer_config.json contents: chat_template, bos_token <|bos|>, eos_token <|end|>, pad_token, model_max_length. */
export function tokenizerConfig(t: Tokenizer, contextLength: number): Record<string, unknown> {
  if (!Number.isInteger(contextLength) || contextLength < 1) {
    throw new RangeError(`tokenizerConfig: context length must be a positive integer, got ${contextLength}`);
  }
  const tok = chatTokens(t);
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: CHAT_SPECIALS.bos,
    // A reply ends with <|end|>: generation stops there, so it is the end-of-sequence token.
    eos_token: CHAT_SPECIALS.end,
    pad_token: tok.pad === null ? null : CHAT_SPECIALS.pad,
    model_max_length: contextLength,
    // The template writes <|bos|> itself; the tokenizer must not add another.
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    chat_template: CHAT_TEMPLATE,
  };
}

/** Writes DIR/tokenizer_config.json atomically. */
export function writeTokenizerConfig(dir: string, t: Tokenizer, contextLength: number): void {
  const text = JSON.stringify(tokenizerConfig(t, contextLength), null, 2) + '\n';
  writeFileAtomic(join(dir, 'tokenizer_config.json'), text);
}
