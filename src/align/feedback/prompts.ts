/**
 * The prompts file of `feedback serve`: JSON Lines, one conversation awaiting a reply per
 * line — {"messages":[{role, content}, ...]} ending with a user turn, or {"prompt":"..."}
 * (one user turn). Blank lines are skipped; anything else malformed stops with file:line
 * and the field at fault. Other fields on a line are ignored.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isChatRole, type ChatMessage } from '../../model/chat.js';

export interface PromptItem {
  messages: ChatMessage[];
  /** file:line */
  source: string;
  /** sha256 of the messages' JSON: the same conversation is the same prompt across files and runs. */
  hash: string;
}

export function promptHash(messages: readonly ChatMessage[]): string {
  return createHash('sha256').update(JSON.stringify(messages.map((m) => [m.role, m.content]))).digest('hex');
}

/** Parses one line's JSON into messages; throws a message without the location. */
function parseLine(value: unknown): ChatMessage[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a JSON object');
  const o = value as Record<string, unknown>;
  if ('messages' in o) {
    if (!Array.isArray(o.messages) || o.messages.length === 0) throw new Error('"messages" must be a non-empty array');
    const msgs = o.messages.map((m: unknown, i): ChatMessage => {
      const at = `"messages"[${i}]`;
      if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new Error(`${at} must be an object {role, content}`);
      const { role, content } = m as Record<string, unknown>;
      if (!isChatRole(role)) throw new Error(`${at}.role must be "system", "user" or "assistant", got ${JSON.stringify(role)}`);
      if (typeof content !== 'string') throw new Error(`${at}.content must be a string`);
      if (role === 'system' && i > 0) throw new Error(`${at}: a system message may only come first`);
      return { role, content };
    });
    const last = msgs[msgs.length - 1];
    if (last.role !== 'user') throw new Error(`"messages" must end with a user turn (the reply is what is judged), ends with ${last.role}`);
    if (last.content.trim() === '') throw new Error(`"messages"[${msgs.length - 1}].content is empty`);
    return msgs;
  }
  if ('prompt' in o) {
    if (typeof o.prompt !== 'string' || o.prompt.trim() === '') throw new Error('"prompt" must be a non-empty string');
    return [{ role: 'user', content: o.prompt }];
  }
  throw new Error('expected a "messages" array or a "prompt" string');
}

/** Reads the prompts; duplicates (the same conversation twice) are kept once, at their first line. */
export function readPrompts(file: string): PromptItem[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  const out: PromptItem[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${where}: not valid JSON (${(err as Error).message})`);
    }
    let messages: ChatMessage[];
    try {
      messages = parseLine(value);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
    const hash = promptHash(messages);
    if (seen.has(hash)) return;
    seen.add(hash);
    out.push({ messages, source: where, hash });
  });
  if (out.length === 0) throw new Error(`${file}: no prompts (one JSON object per line: {"messages":[...]} or {"prompt":"..."})`);
  return out;
}
