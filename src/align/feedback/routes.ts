/**
 * The HTTP surface of `feedback serve` (fastify; bodies and queries checked by JSON schema):
 *
 *   GET  /                       the page
 *   GET  /api/next?annotator=N   the annotator's next pair: {done, pair_id, prompt, a, b, n, total}
 *   POST /api/vote               {annotator, pair_id, choice, written?} → {vote_id} once committed
 *   POST /api/undo               {annotator} → {undone: pair_id | null, written: text | null}
 *
 * The page never learns which model or seed wrote a side; the server recomputes each
 * annotator's (seeded) layout of a pair and records it with the vote.
 */
import type { FastifyInstance } from 'fastify';
import { feedbackPage } from './page.js';
import type { CandidateQueue } from './queue.js';
import { CHOICES, ConflictError, sidesSwapped, type Choice, type FeedbackStore } from './store.js';

export interface ServeContext {
  store: FeedbackStore;
  queue: CandidateQueue;
  setup: string;
  seed: number;
  /** Prompt ids in file order. */
  order: number[];
  /** Pairs generated ahead of each annotator's current one. */
  ahead: number;
  title: string;
}

/** An annotator name: 1–64 characters, no leading or trailing space. */
const annotator = { type: 'string', minLength: 1, maxLength: 64, pattern: '^\\S(.*\\S)?$' } as const;
export const MAX_WRITTEN = 20_000;

const nextSchema = {
  querystring: { type: 'object', required: ['annotator'], additionalProperties: false, properties: { annotator } },
} as const;
const voteSchema = {
  body: {
    type: 'object',
    required: ['annotator', 'pair_id', 'choice'],
    additionalProperties: false,
    properties: {
      annotator,
      pair_id: { type: 'integer', minimum: 1 },
      choice: { type: 'string', enum: CHOICES },
      written: { type: 'string', maxLength: MAX_WRITTEN },
    },
  },
} as const;
const undoSchema = {
  body: { type: 'object', required: ['annotator'], additionalProperties: false, properties: { annotator } },
} as const;

interface VoteBody {
  annotator: string;
  pair_id: number;
  choice: Choice;
  written?: string;
}

export function registerRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const { store, queue, setup, seed, order } = ctx;
  const html = feedbackPage(ctx.title);

  // Validation errors as {error}, with the field named (fastify's message says which).
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof ConflictError) return reply.code(409).send({ error: err.message });
    const code = err.validation !== undefined ? 400 : err.statusCode ?? 500;
    if (code >= 500) app.log.error(err);
    return reply.code(code).send({ error: err.message });
  });

  app.get('/', (_req, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html));

  app.get<{ Querystring: { annotator: string } }>('/api/next', { schema: nextSchema }, async (req) => {
    const who = req.query.annotator;
    const { upcoming, done } = store.next(who, setup, order, 1 + ctx.ahead);
    if (upcoming.length === 0) return { done: true, n: done, total: order.length };
    queue.prefetch(upcoming.slice(1));
    const pair = await queue.get(upcoming[0]);
    const swapped = sidesSwapped(seed, pair.id, who);
    return {
      done: false,
      pair_id: pair.id,
      prompt: store.messages(pair.promptId),
      a: swapped ? pair.reply2 : pair.reply1,
      b: swapped ? pair.reply1 : pair.reply2,
      n: done + 1,
      total: order.length,
    };
  });

  app.post<{ Body: VoteBody }>('/api/vote', { schema: voteSchema }, async (req, reply) => {
    const b = req.body;
    const written = b.written !== undefined && b.written.trim() !== '' ? b.written : null;
    if (written !== null && (b.choice === 'tie' || b.choice === 'skip')) {
      return reply.code(400).send({ error: 'written: a better reply goes with "A is better", "B is better" or "Both bad", not with a tie or a skip' });
    }
    const pair = store.pair(b.pair_id);
    if (pair === null || store.findPair(pair.promptId, setup)?.id !== pair.id) {
      throw new ConflictError(`pair_id ${b.pair_id}: not a pair of this session (reload the page)`);
    }
    const voteId = store.vote({ annotator: b.annotator, pairId: b.pair_id, choice: b.choice, swapped: sidesSwapped(seed, b.pair_id, b.annotator), written });
    // The next pairs start generating while the page asks for the next one.
    queue.prefetch(store.next(b.annotator, setup, order, 1 + ctx.ahead).upcoming);
    return { vote_id: voteId };
  });

  app.post<{ Body: { annotator: string } }>('/api/undo', { schema: undoSchema }, async (req) => {
    const undone = store.undo(req.body.annotator, setup);
    // The written reply comes back too, so undoing a vote to change the button keeps the text.
    return { undone: undone?.pairId ?? null, written: undone?.written ?? null };
  });
}
