/**
 * JSON schemas of the request bodies (fastify validates them with ajv, type coercion off):
 * wrong types are 400s naming the parameter; fields not listed here are ignored, as OpenAI's
 * clients send many the server has no use for.
 */
const num = (minimum: number, maximum: number): Record<string, unknown> => ({ type: 'number', minimum, maximum });
const nullable = (s: Record<string, unknown>): Record<string, unknown> => ({ anyOf: [s, { type: 'null' }] });

/** Sampling and length parameters shared by chat and completions. */
const sampling = {
  model: { type: 'string' },
  max_tokens: nullable({ type: 'integer', minimum: 1 }),
  max_completion_tokens: nullable({ type: 'integer', minimum: 1 }),
  temperature: nullable(num(0, 2)),
  top_p: nullable({ type: 'number', exclusiveMinimum: 0, maximum: 1 }),
  top_k: nullable({ type: 'integer', minimum: 0 }),
  min_p: nullable(num(0, 1)),
  presence_penalty: nullable(num(-2, 2)),
  frequency_penalty: nullable(num(-2, 2)),
  repetition_penalty: nullable({ type: 'number', exclusiveMinimum: 0, maximum: 10 }),
  stop: nullable({
    anyOf: [
      { type: 'string', minLength: 1 },
      { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 16 },
    ],
  }),
  seed: nullable({ type: 'integer' }),
  n: nullable({ type: 'integer', minimum: 1, maximum: 16 }),
  stream: nullable({ type: 'boolean' }),
  stream_options: nullable({ type: 'object', properties: { include_usage: { type: 'boolean' } } }),
  /** vLLM's extension: do not stop at end-of-text tokens (benchmarks). */
  ignore_eos: { type: 'boolean' },
} as const;

const textPart = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' }, text: { type: 'string' } },
};

export const chatBody = {
  type: 'object',
  required: ['messages'],
  properties: {
    ...sampling,
    messages: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['role', 'content'],
        properties: {
          role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant'] },
          content: { anyOf: [{ type: 'string' }, { type: 'array', items: textPart }] },
        },
      },
    },
    logprobs: nullable({ type: 'boolean' }),
    top_logprobs: nullable({ type: 'integer', minimum: 0, maximum: 20 }),
  },
} as const;

export const completionBody = {
  type: 'object',
  required: ['prompt'],
  properties: {
    ...sampling,
    prompt: {
      anyOf: [
        { type: 'string' },
        { type: 'array', minItems: 1, maxItems: 16, items: { type: 'string' } },
        { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } },
        { type: 'array', minItems: 1, maxItems: 16, items: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } } },
      ],
    },
    logprobs: nullable({ type: 'integer', minimum: 0, maximum: 5 }),
    echo: nullable({ type: 'boolean' }),
    suffix: nullable({ type: 'string' }),
  },
} as const;

export const tokenizeBody = {
  type: 'object',
  required: ['content'],
  properties: {
    content: { type: 'string' },
    add_special: { type: 'boolean' },
    with_pieces: { type: 'boolean' },
  },
} as const;

export const detokenizeBody = {
  type: 'object',
  required: ['tokens'],
  properties: { tokens: { type: 'array', items: { type: 'integer', minimum: 0 } } },
} as const;

/** The body types after validation. */
export interface SamplingBody {
  model?: string;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  repetition_penalty?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  ignore_eos?: boolean;
}

export interface ChatBody extends SamplingBody {
  messages: Array<{ role: 'system' | 'developer' | 'user' | 'assistant'; content: string | Array<{ type: string; text?: string }> }>;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
}

export interface CompletionBody extends SamplingBody {
  prompt: string | string[] | number[] | number[][];
  logprobs?: number | null;
  echo?: boolean | null;
  suffix?: string | null;
}

export interface TokenizeBody {
  content: string;
  add_special?: boolean;
  with_pieces?: boolean;
}

export interface DetokenizeBody {
  tokens: number[];
}
