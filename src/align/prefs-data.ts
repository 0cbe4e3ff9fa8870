/**
 * Preference data: JSONL pairs for DPO and the reward model, and JSONL prompts for
 * `prefs generate`. Files, folders, globs, .jsonl and .jsonl.gz are found like chat data.
 *
 * A pair line (what `feedback export` and `prefs generate` write):
 *   {"prompt":[{"role","content"},…] | "text", "chosen":"…", "rejected":"…",
 *    "annotator":"…", "source":"human" | "rules"}
 * The prompt is the conversation up to (and including) the user turn the replies answer.
 *
 * A prompt line: {"messages":[…]} ending with a user turn, {"prompt":"…"}, or a chat
 * example with its reference reply (the instruction set: the reply, task and label let
 * the rules check the answer).
 */
import { describeJson, LineError, parseChatRecord, readJsonlRecords, type JsonlOptions } from '../data/index.js';
import type { ChatMessage } from '../model/chat.js';

export interface PreferencePair {
  prompt: ChatMessage[];
  chosen: string;
  rejected: string;
  /** file:line */
  where: string;
  /** The record's "source" ("human", "rules"), when it has one. */
  origin?: string;
  annotator?: string;
}

export interface PromptRecord {
  prompt: ChatMessage[];
  /** The reference reply, when the record has one. */
  reference?: string;
  task?: string;
  label?: string;
  where: string;
}

export type ReadOptions = JsonlOptions;

const describe = describeJson;

/** Messages up to a final user turn, validated like chat data (roles, content parts). */
function promptMessages(v: unknown, field: string): ChatMessage[] {
  let messages: ChatMessage[];
  if (typeof v === 'string') {
    if (v.trim() === '') throw new LineError(`'${field}' is empty`);
    messages = [{ role: 'user', content: v }];
  } else if (Array.isArray(v)) {
    if (v.length === 0) throw new LineError(`'${field}' is empty`);
    try {
      // The chat reader validates messages; a placeholder reply makes it accept a prompt.
      messages = parseChatRecord({ messages: [...(v as unknown[]), { role: 'assistant', content: '' }] }).messages.slice(0, -1);
    } catch (err) {
      throw new LineError((err as Error).message.replace(/'messages'|messages\[/g, (m) => (m === 'messages[' ? `${field}[` : `'${field}'`)));
    }
  } else {
    throw new LineError(`'${field}': expected an array of messages or a string, got ${describe(v)}`);
  }
  if (messages[messages.length - 1].role !== 'user') throw new LineError(`'${field}' must end with a user message (the turn the replies answer)`);
  return messages;
}

export function parsePairRecord(value: unknown): Omit<PreferencePair, 'where'> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new LineError(`expected a JSON object, got ${describe(value)}`);
  const o = value as Record<string, unknown>;
  if (!('prompt' in o)) throw new LineError(`'prompt' is missing`);
  const prompt = promptMessages(o.prompt, 'prompt');
  for (const f of ['chosen', 'rejected'] as const) {
    if (!(f in o)) throw new LineError(`'${f}' is missing`);
    if (typeof o[f] !== 'string') throw new LineError(`'${f}': expected a string, got ${describe(o[f])}`);
  }
  const pair: Omit<PreferencePair, 'where'> = { prompt, chosen: o.chosen as string, rejected: o.rejected as string };
  if (pair.chosen === pair.rejected) throw new LineError(`'chosen' and 'rejected' are the same reply`);
  if (typeof o.source === 'string') pair.origin = o.source;
  if (typeof o.annotator === 'string') pair.annotator = o.annotator;
  return pair;
}

export function parsePromptRecord(value: unknown): Omit<PromptRecord, 'where'> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new LineError(`expected a JSON object, got ${describe(value)}`);
  const o = value as Record<string, unknown>;
  const extra = { ...(typeof o.task === 'string' ? { task: o.task } : {}), ...(typeof o.label === 'string' ? { label: o.label } : {}) };
  if ('prompt' in o && !('completion' in o)) return { prompt: promptMessages(o.prompt, 'prompt'), ...extra };
  if (Array.isArray(o.messages) && o.messages.length > 0) {
    const last = o.messages[o.messages.length - 1] as { role?: unknown } | null;
    if (last !== null && typeof last === 'object' && last.role === 'user') return { prompt: promptMessages(o.messages, 'messages'), ...extra };
  }
  let rec;
  try {
    rec = parseChatRecord(value);
  } catch (err) {
    throw new LineError((err as Error).message);
  }
  const lastReply = rec.messages.map((m) => m.role).lastIndexOf('assistant');
  const prompt = rec.messages.slice(0, lastReply);
  if (prompt.length === 0 || prompt[prompt.length - 1].role !== 'user') throw new LineError(`the last assistant message must answer a user message`);
  return { prompt, reference: rec.messages[lastReply].content, ...extra };
}

/** Parsed records of JSONL files, folders or globs, in input order then line order. */
async function readRecords<R>(paths: readonly string[], what: string, parse: (v: unknown) => R, opts: ReadOptions): Promise<Array<R & { where: string }>> {
  return (await readJsonlRecords(paths, what, parse, opts)).map(({ record, where }) => ({ ...record, where }));
}

export function readPreferencePairs(paths: readonly string[], opts: ReadOptions = {}): Promise<PreferencePair[]> {
  return readRecords(paths, 'preference pairs', parsePairRecord, opts);
}

export function readPrompts(paths: readonly string[], opts: ReadOptions = {}): Promise<PromptRecord[]> {
  return readRecords(paths, 'prompts', parsePromptRecord, opts);
}
