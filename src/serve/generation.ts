/**
 * Running a job for one HTTP request: the queue bound (503 + Retry-After when full), the
 * worker submit, the reply — a stream of SSE chunks or one JSON object — and the metrics.
 * A client that goes away (connection closed before the reply ended) has its generation
 * cancelled: the worker frees its slot at the next step.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyReply } from 'fastify';
import type { ScheduledFinishReason as FinishReason, TokenLogprob } from '../infer/index.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { EngineClient } from './engine-client.js';
import { ApiError } from './errors.js';
import type { ServerMetrics } from './metrics.js';
import type { Job, ModelView, ServeLimits } from './requests.js';
import { SseStream } from './sse.js';

export interface ServeState {
  engine: EngineClient;
  model: ModelView;
  limits: ServeLimits;
  metrics: ServerMetrics;
}

export type Kind = 'chat' | 'completion';

interface Choice {
  text: string;
  finish: 'stop' | 'length' | null;
  tokens: number;
  lastTokenAt: number;
  /** Chat: OpenAI's logprobs.content entries; completions: the legacy arrays. */
  lp: LogprobEntry[];
}

interface LogprobEntry {
  id: number;
  logprob: number;
  top: Array<[number, number]>;
  offset: number;
}

/** Rejects a job the server cannot take now: the worker is down, or the queue is full. */
function admit(state: ServeState, sequences: number): void {
  const failure = state.engine.failure;
  if (failure !== null) throw new ApiError(503, `The model is unavailable: ${failure}`, 'server_error', null, 'engine_unavailable');
  const { parallel, queue } = state.limits;
  if (state.engine.inFlight + sequences > parallel + queue) {
    state.metrics.rejected.inc();
    throw new ApiError(503, `The server is busy: ${parallel} sequences are running and ${queue} waiting (--queue). Retry shortly.`,
      'overloaded_error', null, 'server_overloaded', { 'Retry-After': '1' });
  }
}

export async function runJob(state: ServeState, reply: FastifyReply, job: Job, kind: Kind): Promise<void> {
  const t0 = performance.now();
  const nChoices = job.request.prompts.length;
  admit(state, nChoices);
  const { metrics, model } = state;
  const tok = model.tokenizer;
  const promptTokens = job.prompts.reduce((s, p) => s + p.length, 0);
  metrics.promptTokens.inc({}, promptTokens);
  const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`;
  const created = Math.floor(Date.now() / 1000);
  const head = { id, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created, model: model.id, system_fingerprint: null };
  // Chunks differ only in their choice: the rest is serialized once.
  const chunkPrefix = `${JSON.stringify(head).slice(0, -1)},"choices":[`;
  const sendChoice = (choice: Record<string, unknown>): void => sse?.sendJson(`${chunkPrefix}${JSON.stringify(choice)}]}`);
  const choices: Choice[] = Array.from({ length: nChoices }, () => ({ text: '', finish: null, tokens: 0, lastTokenAt: 0, lp: [] }));
  let firstToken = true;
  let open = nChoices;
  let sse: SseStream | null = null;

  if (job.stream) {
    sse = new SseStream(reply);
    if (kind === 'chat') {
      sse.send({ ...head, choices: choices.map((_, i) => ({ index: i, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null })) });
    }
  }

  await new Promise<void>((resolve) => {
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      resolve();
    };
    const cancel = state.engine.submit(job.request, {
      onToken(i, text, token, logprob, at) {
        const c = choices[i];
        if (token >= 0) {
          // Time to first token as the client sees it; gaps between tokens by the worker's clock
          // (tokens of several steps may arrive in one message).
          if (firstToken) metrics.ttft.observe((performance.now() - t0) / 1000);
          else if (c.lastTokenAt > 0) metrics.itl.observe((at - c.lastTokenAt) / 1000);
          firstToken = false;
          c.lastTokenAt = at;
          c.tokens++;
        }
        const entry = logprob !== undefined && token >= 0 ? { id: token, logprob: logprob.logprob, top: logprob.top, offset: c.text.length } : null;
        if (entry !== null) c.lp.push(entry);
        c.text += text;
        if (sse !== null && (text.length > 0 || entry !== null)) sendChoice(chunkChoice(kind, tok, i, text, entry, null));
      },
      onFinish(i, reason: FinishReason, completionTokens) {
        const c = choices[i];
        metrics.finished.inc({ reason });
        metrics.completionTokens.inc({}, completionTokens);
        c.tokens = completionTokens;
        if (reason !== 'cancelled') c.finish = reason;
        if (sse !== null && reason !== 'cancelled') sendChoice(chunkChoice(kind, tok, i, '', null, reason));
        if (--open === 0) done();
      },
      onError(message) {
        const e = new ApiError(500, `Generation failed: ${message}`, 'server_error');
        if (sse !== null) sse.send(e.body());
        else if (!reply.sent) void reply.code(e.status).send(e.body());
        open = 0;
        done();
      },
    });
    // The connection closing before the reply ended means the client left.
    reply.raw.on('close', () => {
      if (!reply.raw.writableEnded && open > 0) cancel();
    });
  });

  metrics.duration.observe((performance.now() - t0) / 1000);
  const completionTokens = choices.reduce((s, c) => s + c.tokens, 0);
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  if (choices.some((c) => c.finish === null)) {
    // Cancelled (the client left) or failed: whatever could be said was said.
    if (sse !== null) sse.end(false);
    else if (!reply.sent) {
      reply.hijack();
      reply.raw.destroy();
    }
    return;
  }
  if (sse !== null) {
    if (job.includeUsage) sse.send({ ...head, choices: [], usage });
    sse.end(true);
    return;
  }
  const object = kind === 'chat' ? 'chat.completion' : 'text_completion';
  await reply.send({
    ...head, object,
    choices: choices.map((c, i) => (kind === 'chat'
      ? { index: i, message: { role: 'assistant', content: c.text, refusal: null }, logprobs: job.logprobs === null ? null : { content: c.lp.map((e) => chatLogprob(tok, e)) }, finish_reason: c.finish }
      : { index: i, text: c.text, logprobs: job.logprobs === null ? null : completionLogprobs(tok, c.lp), finish_reason: c.finish })),
    usage,
  });
}

function chunkChoice(kind: Kind, tok: Tokenizer, index: number, text: string, lp: LogprobEntry | null, finish: 'stop' | 'length' | null): Record<string, unknown> {
  if (kind === 'chat') {
    return { index, delta: finish === null ? { content: text } : {}, logprobs: lp === null ? null : { content: [chatLogprob(tok, lp)] }, finish_reason: finish };
  }
  return { index, text, logprobs: lp === null ? null : completionLogprobs(tok, [lp]), finish_reason: finish };
}

const piece = (tok: Tokenizer, id: number): string => tok.decode([id]);

function chatLogprob(tok: Tokenizer, e: LogprobEntry): Record<string, unknown> {
  const one = (id: number, logprob: number): Record<string, unknown> => ({ token: piece(tok, id), logprob, bytes: Array.from(tok.decodeBytes([id])) });
  return { ...one(e.id, e.logprob), top_logprobs: e.top.map(([id, lp]) => one(id, lp)) };
}

function completionLogprobs(tok: Tokenizer, entries: LogprobEntry[]): Record<string, unknown> {
  return {
    tokens: entries.map((e) => piece(tok, e.id)),
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) => Object.fromEntries(e.top.map(([id, lp]) => [piece(tok, id), lp]))),
    text_offset: entries.map((e) => e.offset),
  };
}

export type { TokenLogprob };
