/**
 * Bearer-key check (`--api-key` / LLMFORGE_API_KEY). Both sides are hashed to 32 bytes and
 * compared with timingSafeEqual, so neither the key's length nor its content leaks through
 * response timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Paths open without a key: the page (it asks for the key itself) and the health check. */
export const PUBLIC_PATHS = new Set(['/', '/health', '/favicon.ico']);

export function keyChecker(key: string): (authorization: string | undefined) => ApiError | null {
  const want = digest(key);
  return (authorization) => {
    if (authorization === undefined || authorization.trim() === '') {
      return new ApiError(401, 'Missing API key: send the header "Authorization: Bearer YOUR_KEY".', 'authentication_error', null, 'invalid_api_key');
    }
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    const got = digest(m === null ? '' : m[1].trim());
    if (m === null || !timingSafeEqual(got, want)) {
      return new ApiError(401, 'Incorrect API key provided.', 'authentication_error', null, 'invalid_api_key');
    }
    return null;
  };
}
