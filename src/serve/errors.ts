/**
 * OpenAI's error object, `{"error":{"message","type","param","code"}}`, for every failure the
 * server answers: client mistakes are 4xx with a message that says what to change, never 500.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'server_error' | 'overloaded_error';

export interface ErrorBody {
  error: { message: string; type: ErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null): ApiError =>
  new ApiError(400, message, 'invalid_request_error', param, code);

export function contextLengthExceeded(context: number, prompt: number, completion: number | null): ApiError {
  const asked = completion === null
    ? `your prompt has ${prompt} tokens, which leaves no room for a reply`
    : `you requested ${prompt + completion} tokens (${prompt} in the prompt, ${completion} in the completion)`;
  return badRequest(`This model's maximum context length is ${context} tokens. However, ${asked}. ` +
    'Please shorten the prompt or lower max_tokens.', completion === null ? 'messages' : 'max_tokens', 'context_length_exceeded');
}

/** An ajv path like /messages/0/role as OpenAI names parameters: messages[0].role. */
export function paramName(instancePath: string, missing?: string): string | null {
  const parts = instancePath.split('/').filter((p) => p.length > 0);
  if (missing !== undefined) parts.push(missing);
  if (parts.length === 0) return null;
  return parts.reduce((s, p) => (/^\d+$/.test(p) ? `${s}[${p}]` : s === '' ? p : `${s}.${p}`), '');
}

/** Fastify's errors (validation, JSON parsing, body size, media type) and ours, as OpenAI error objects. */
export function errorHandler(bodyLimit: number): (err: FastifyError | ApiError, req: FastifyRequest, reply: FastifyReply) => void {
  return (err, req, reply) => sendError(reply, toApiError(err, req, bodyLimit));
}

function toApiError(err: FastifyError | ApiError, req: FastifyRequest, bodyLimit: number): ApiError {
  let e: ApiError;
  if (err instanceof ApiError) {
    e = err;
  } else if (err.validation !== undefined && err.validation.length > 0) {
    const v = err.validation[0];
    const params = v.params as Record<string, unknown>;
    const missing = typeof params.missingProperty === 'string' ? params.missingProperty : undefined;
    const param = paramName(v.instancePath, missing);
    const allowed = Array.isArray(params.allowedValues) ? ` (${params.allowedValues.map((x) => JSON.stringify(x)).join(', ')})` : '';
    const what = missing !== undefined ? `Missing required parameter: '${param}'.` : `Invalid value for '${param ?? 'body'}': ${v.message ?? 'invalid'}${allowed}.`;
    e = badRequest(what, param, missing !== undefined ? 'missing_required_parameter' : 'invalid_value');
  } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    e = new ApiError(413, `The request body is larger than this server's limit of ${bodyLimit} bytes (--body-limit).`, 'invalid_request_error', null, 'request_too_large');
  } else if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    e = badRequest(`The request body is not valid JSON: ${err.message}`, null, 'invalid_json');
  } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    e = new ApiError(err.statusCode, err.message, 'invalid_request_error', null, err.code?.toLowerCase() ?? null);
  } else {
    req.log.error(err);
    e = new ApiError(500, `Internal server error: ${err.message}`, 'server_error');
  }
  return e;
}

export function sendError(reply: FastifyReply, e: ApiError): void {
  void reply.code(e.status).headers(e.headers).type('application/json').send(e.body());
}
