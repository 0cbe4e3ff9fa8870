/**
 * The HTTP side of `llmforge serve`: a fastify app with JSON-schema validation, the
 * OpenAI routes, llama.cpp-style /tokenize and /detokenize, Prometheus /metrics, /health,
 * and the chat page at /. It holds no weights: generation runs in the worker (EngineClient).
 */
import cors from '@fastify/cors';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { PUBLIC_PATHS, keyChecker } from './auth.js';
import { ApiError, errorHandler, sendError } from './errors.js';
import { runJob, type ServeState } from './generation.js';
import { chatPage } from './page.js';
import { chatPrompt, checkModel, completionPrompts, plan } from './requests.js';
import { chatBody, completionBody, detokenizeBody, tokenizeBody, type ChatBody, type CompletionBody, type DetokenizeBody, type TokenizeBody } from './schemas.js';

export interface AppOptions {
  apiKey?: string;
  /** Origins allowed to call the API from a browser; none: CORS stays closed. */
  cors?: string[];
}

export async function buildApp(state: ServeState, o: AppOptions = {}): Promise<FastifyInstance> {
  const { model, limits, metrics } = state;
  const app = Fastify({
    logger: false,
    bodyLimit: limits.bodyLimit,
    // Reading a request body may not take forever; generation time is bounded separately.
    requestTimeout: 60_000,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, useDefaults: false } },
  });
  app.setErrorHandler(errorHandler(limits.bodyLimit));
  app.setNotFoundHandler((req, reply) => {
    sendError(reply, new ApiError(404, `There is no route ${req.method} ${req.url.split('?')[0]}.`, 'not_found_error', null, 'not_found'));
  });
  if (o.cors !== undefined && o.cors.length > 0) {
    await app.register(cors, { origin: o.cors.includes('*') ? '*' : o.cors, methods: ['GET', 'POST', 'OPTIONS'], allowedHeaders: ['authorization', 'content-type'] });
  }
  if (o.apiKey !== undefined) {
    const check = keyChecker(o.apiKey);
    app.addHook('onRequest', async (req, reply) => {
      if (req.method === 'OPTIONS' || PUBLIC_PATHS.has(req.url.split('?')[0])) return;
      const err = check(req.headers.authorization);
      if (err !== null) {
        sendError(reply, err);
        return reply;
      }
    });
  }
  app.addHook('onResponse', async (req, reply) => {
    metrics.requests.inc({ route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });

  const page = chatPage(model.id, o.apiKey !== undefined, model.contextLength);
  app.get('/', async (_req, reply) => reply.headers(page.headers).type('text/html; charset=utf-8').send(page.html));
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/health', async (_req, reply) => {
    const failure = state.engine.failure;
    if (failure !== null) return reply.code(503).send({ status: 'error', message: failure });
    return { status: 'ok' };
  });
  const modelObject = { id: model.id, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'llmforge', context_length: model.contextLength };
  app.get('/v1/models', async () => ({ object: 'list', data: [modelObject] }));
  app.get<{ Params: { model: string } }>('/v1/models/:model', async (req) => {
    checkModel(model, req.params.model);
    return modelObject;
  });

  app.post<{ Body: ChatBody }>('/v1/chat/completions', { schema: { body: chatBody } }, async (req, reply) => {
    const b = req.body;
    checkModel(model, b.model);
    if (b.top_logprobs != null && b.logprobs !== true) throw new ApiError(400, 'top_logprobs needs logprobs: true.', 'invalid_request_error', 'top_logprobs');
    const prompt = chatPrompt(model, b);
    const stops = typeof model.chatStops === 'string' ? [] : model.chatStops;
    const job = plan(model, limits, b, [prompt], stops, b.logprobs === true ? (b.top_logprobs ?? 0) : null);
    await runJob(state, reply, job, 'chat');
    return reply;
  });
  app.post<{ Body: CompletionBody }>('/v1/completions', { schema: { body: completionBody } }, async (req, reply) => {
    const b = req.body;
    checkModel(model, b.model);
    const job = plan(model, limits, b, completionPrompts(model, b), model.endTokens, b.logprobs ?? null);
    await runJob(state, reply, job, 'completion');
    return reply;
  });

  app.post<{ Body: TokenizeBody }>('/tokenize', { schema: { body: tokenizeBody } }, async (req) => {
    const t = model.tokenizer;
    const ids = Array.from(t.encode(req.body.content));
    const all = req.body.add_special === true && model.documentStart !== null ? [model.documentStart, ...ids] : ids;
    return { tokens: req.body.with_pieces === true ? all.map((id) => ({ id, piece: t.decode([id]) })) : all };
  });
  app.post<{ Body: DetokenizeBody }>('/detokenize', { schema: { body: detokenizeBody } }, async (req) => {
    const V = model.tokenizer.vocabSize;
    const bad = req.body.tokens.findIndex((id) => id >= V);
    if (bad >= 0) throw new ApiError(400, `tokens[${bad}] = ${req.body.tokens[bad]} is outside the vocabulary (0..${V - 1}).`, 'invalid_request_error', `tokens[${bad}]`);
    return { content: model.tokenizer.decode(req.body.tokens) };
  });
  app.get('/metrics', async (_req, reply: FastifyReply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render()));
  return app;
}
