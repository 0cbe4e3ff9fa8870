/**
 * From a validated OpenAI request body to what the worker runs: the model name checked, the
 * prompt rendered (chat template) or encoded, sampling parameters mapped, and the length
 * budget settled. A prompt is never truncated: one that does not fit is a 400
 * context_length_exceeded, as OpenAI answers.
 */
import { randomInt } from 'node:crypto';
import { chatTokens, renderChat, type ChatMessage } from '../model/chat.js';
import type { GenerateOptions } from '../infer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { ApiError, badRequest, contextLengthExceeded } from './errors.js';
import type { WorkerRequest } from './protocol.js';
import type { ChatBody, CompletionBody, SamplingBody } from './schemas.js';

export interface ServeLimits {
  /** Sequences decoded together. */
  parallel: number;
  /** Sequences that may wait for a slot; more get 503. */
  queue: number;
  /** Largest max_tokens a request may ask for. */
  maxTokens: number;
  /** Generation time per request; past it the reply ends with finish_reason "length". */
  timeoutMs: number;
  bodyLimit: number;
}

/** What the routes need to know about the model (the worker holds the weights). */
export interface ModelView {
  id: string;
  tokenizer: Tokenizer;
  contextLength: number;
  documentStart: number | null;
  /** Stop tokens of plain completions: end-of-text and document separators. */
  endTokens: number[];
  /** Stop tokens of chat replies (<|end|>, the role tokens, end-of-text), or why chat is unavailable. */
  chatStops: number[] | string;
}

export interface Job {
  request: WorkerRequest;
  /** Distinct prompts (each run `n` times: choice index = prompt · n + j). */
  prompts: number[][];
  n: number;
  stream: boolean;
  includeUsage: boolean;
  /** Alternatives per token when log-probabilities were asked for, else null. */
  logprobs: number | null;
}

export function checkModel(model: ModelView, name: string | undefined): void {
  if (name === undefined || name === model.id) return;
  throw new ApiError(404, `The model '${name}' does not exist; this server serves '${model.id}'.`, 'not_found_error', 'model', 'model_not_found');
}

/** Messages in OpenAI's shapes (content parts, the developer role) to the chat format's. */
export function chatMessages(body: ChatBody): ChatMessage[] {
  return body.messages.map((m, i) => {
    let content: string;
    if (typeof m.content === 'string') content = m.content;
    else {
      content = m.content.map((p, j) => {
        if (p.type !== 'text' || typeof p.text !== 'string') {
          throw badRequest(`Only text content parts are supported; messages[${i}].content[${j}] has type '${p.type}'.`, `messages[${i}].content[${j}].type`);
        }
        return p.text;
      }).join('');
    }
    return { role: m.role === 'developer' ? 'system' : m.role, content };
  });
}

export function chatPrompt(model: ModelView, body: ChatBody): number[] {
  if (typeof model.chatStops === 'string') throw badRequest(`This model cannot chat: ${model.chatStops}. Use /v1/completions.`, 'messages', 'chat_unsupported');
  return renderChat(model.tokenizer, chatMessages(body), { addGenerationPrompt: true }).ids;
}

export function completionPrompts(model: ModelView, body: CompletionBody): number[][] {
  const p = body.prompt;
  if (body.echo === true) throw badRequest('echo is not supported by this server.', 'echo');
  if (typeof body.suffix === 'string' && body.suffix.length > 0) throw badRequest('suffix is not supported by this server.', 'suffix');
  const encode = (text: string): number[] => {
    const ids = Array.from(model.tokenizer.encode(text));
    return model.documentStart !== null ? [model.documentStart, ...ids] : ids;
  };
  let prompts: number[][];
  if (typeof p === 'string') prompts = [encode(p)];
  else if (p.every((x) => typeof x === 'string')) prompts = (p as string[]).map(encode);
  else if (p.every((x) => typeof x === 'number')) prompts = [p as number[]];
  else prompts = p as number[][];
  const V = model.tokenizer.vocabSize;
  prompts.forEach((ids, i) => {
    for (const id of ids) if (id >= V) throw badRequest(`Token id ${id} in prompt ${i} is outside the vocabulary (0..${V - 1}).`, 'prompt');
  });
  return prompts;
}

/** The sampling part of a request, with the server's defaults for what it leaves out. */
function samplingOptions(body: SamplingBody, stopTokens: number[]): Partial<GenerateOptions> {
  const o: Partial<GenerateOptions> = {};
  if (body.temperature != null) o.temperature = body.temperature;
  if (body.top_p != null) o.topP = body.top_p;
  if (body.top_k != null) o.topK = body.top_k;
  if (body.min_p != null) o.minP = body.min_p;
  if (body.repetition_penalty != null) o.repetitionPenalty = body.repetition_penalty;
  if (body.seed != null) {
    if (!Number.isSafeInteger(body.seed)) throw badRequest(`seed must be an integer between -2^53 and 2^53, got ${body.seed}.`, 'seed');
    o.seed = ((body.seed % 2 ** 32) + 2 ** 32) % 2 ** 32;
  } else {
    o.seed = randomInt(0, 2 ** 32 - 1);
  }
  o.stop = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  o.stopTokens = body.ignore_eos === true ? [] : stopTokens;
  return o;
}

/**
 * The worker request for some prompts: n choices each, a max_tokens within the server's
 * limit, and room in the context for the longest prompt plus the reply.
 */
export function plan(model: ModelView, limits: ServeLimits, body: SamplingBody, prompts: number[][], stopTokens: number[], logprobs: number | null,
  promptParam: 'messages' | 'prompt'): Job {
  const n = body.n ?? 1;
  if (prompts.length * n > limits.parallel) {
    throw badRequest(`This request asks for ${prompts.length * n} sequences; this server decodes at most ${limits.parallel} at once (--parallel).`, 'n');
  }
  const asked = body.max_completion_tokens ?? body.max_tokens ?? null;
  const which = body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  if (asked !== null && asked > limits.maxTokens) {
    throw badRequest(`${which} is ${asked}; this server allows at most ${limits.maxTokens} (--max-tokens).`, which);
  }
  const ctx = model.contextLength;
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest === 0) throw badRequest('The prompt is empty.', promptParam);
  if (longest >= ctx) throw contextLengthExceeded(ctx, longest, null, promptParam);
  if (asked !== null && longest + asked > ctx) throw contextLengthExceeded(ctx, longest, asked, promptParam);
  const options = samplingOptions(body, stopTokens);
  // Without max_tokens a reply may run to the end of the context (finish_reason "length").
  options.maxNewTokens = asked ?? Math.min(limits.maxTokens, ctx - longest);
  const all: number[][] = [];
  for (const p of prompts) for (let j = 0; j < n; j++) all.push(p);
  return {
    request: {
      prompts: all, options, presencePenalty: body.presence_penalty ?? 0, frequencyPenalty: body.frequency_penalty ?? 0,
      logprobs, timeoutMs: limits.timeoutMs,
    },
    prompts, n, stream: body.stream === true, includeUsage: body.stream_options?.include_usage === true, logprobs,
  };
}

/** The chat stop tokens of a tokenizer, or why it cannot chat. */
export function chatStopTokens(t: Tokenizer, endTokens: number[]): number[] | string {
  try {
    const c = chatTokens(t);
    return [...new Set([c.end, c.user, c.system, c.assistant, c.bos, ...endTokens])].sort((a, b) => a - b);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
