/**
 * Chat data: JSONL conversations for SFT and the chat eval. Inputs are found like `data prepare`
 * finds them (files, folders, globs; `.jsonl` and `.jsonl.gz`); each line is one conversation in
 * OpenAI form, `{"messages":[{"role","content"},…]}`, or `{"prompt","completion"}` (one user turn
 * and its reply). String fields `task` and `label` ride along for per-family eval reports.
 */
import { isChatRole, type ChatMessage } from '../model/chat.js';
import { describeJson, LineError, readJsonlRecords, type JsonlOptions } from './jsonl.js';

export interface ChatExample {
  messages: ChatMessage[];
  /** file:line */
  source: string;
  task?: string;
  label?: string;
}

export type ReadChatOptions = JsonlOptions;

const describe = describeJson;

/** OpenAI content: a string, or an array of {type:'text', text} parts (joined). */
function content(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    return v
      .map((part: unknown, k) => {
        if (part !== null && typeof part === 'object' && !Array.isArray(part)) {
          const p = part as Record<string, unknown>;
          if (p.type === 'text' && typeof p.text === 'string') return p.text;
        }
        throw new LineError(`${field}[${k}]: only text parts ({"type":"text","text":"…"}) are supported`);
      })
      .join('');
  }
  throw new LineError(`${field}: expected a string, got ${describe(v)}`);
}


/** Parses one record; throws LineError naming the field at fault. */
export function parseChatRecord(value: unknown): Omit<ChatExample, 'source'> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new LineError(`expected a JSON object, got ${describe(value)}`);
  }
  const obj = value as Record<string, unknown>;
  let messages: ChatMessage[];
  if ('messages' in obj) {
    if ('prompt' in obj || 'completion' in obj) {
      throw new LineError(`has both 'messages' and 'prompt'/'completion'; use one form`);
    }
    const raw = obj.messages;
    if (!Array.isArray(raw)) throw new LineError(`'messages': expected an array, got ${describe(raw)}`);
    if (raw.length === 0) throw new LineError(`'messages' is empty`);
    messages = raw.map((m: unknown, i): ChatMessage => {
      const at = `messages[${i}]`;
      if (m === null || typeof m !== 'object' || Array.isArray(m)) throw new LineError(`${at}: expected an object, got ${describe(m)}`);
      const msg = m as Record<string, unknown>;
      if (!('role' in msg)) throw new LineError(`${at}.role is missing`);
      if (!isChatRole(msg.role)) {
        throw new LineError(`${at}.role: expected "system", "user" or "assistant", got ${JSON.stringify(msg.role)}`);
      }
      if (!('content' in msg)) throw new LineError(`${at}.content is missing`);
      return { role: msg.role, content: content(msg.content, `${at}.content`) };
    });
  } else if ('prompt' in obj || 'completion' in obj) {
    if (!('prompt' in obj)) throw new LineError(`'prompt' is missing (it has 'completion')`);
    if (!('completion' in obj)) throw new LineError(`'completion' is missing (it has 'prompt')`);
    if (typeof obj.prompt !== 'string') throw new LineError(`'prompt': expected a string, got ${describe(obj.prompt)}`);
    if (typeof obj.completion !== 'string') throw new LineError(`'completion': expected a string, got ${describe(obj.completion)}`);
    messages = [
      { role: 'user', content: obj.prompt },
      { role: 'assistant', content: obj.completion },
    ];
  } else {
    throw new LineError(`expected a 'messages' array or 'prompt' and 'completion' strings`);
  }
  if (!messages.some((m) => m.role === 'assistant')) {
    throw new LineError(`'messages' has no assistant message (nothing to train on or check)`);
  }
  const out: Omit<ChatExample, 'source'> = { messages };
  if (typeof obj.task === 'string') out.task = obj.task;
  if (typeof obj.label === 'string') out.label = obj.label;
  return out;
}

/**
 * Files, folders, globs, .jsonl and .jsonl.gz; {"messages":[...]} or {"prompt","completion"}; extra
 * fields kept as task/label when strings. A file named explicitly is read as JSONL whatever its
 * extension; inside folders and globs only .jsonl/.ndjson (optionally .gz) files are read, so a
 * README beside the data is ignored. Examples come in input order, then line order.
 */
export async function readChatExamples(paths: string[], opts: ReadChatOptions = {}): Promise<ChatExample[]> {
  const records = await readJsonlRecords(paths, 'chat examples', parseChatRecord, opts);
  return records.map(({ record, where }) => ({ ...record, source: where }));
}
