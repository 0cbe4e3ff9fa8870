// Surface noise for training questions: people type "hey, capital of peru" as often as
// "What is the capital of Peru?". A small model that only ever saw clean templates reads
// any change of wrapping as a new task; varying the wrapping teaches it to look at the
// question's content. Held-out questions are never wrapped: they test new phrasings, not noise.
import { pick } from './util.mjs';

/** Share of training questions that get some noise. */
export const NOISE_RATE = 0.35;

export const NOISE_PREFIXES = ['Hey, ', 'Hi! ', 'Hello. ', 'Please tell me: ', 'I have a question. ', 'Can you help? ', 'So, ', 'OK, ', 'Hmm, ', 'Question: '];
export const NOISE_SUFFIXES = [' Thanks!', ' Thank you.', ' Please answer briefly.', ' Just the answer, please.', ' :)', ' Thanks in advance.'];

/** A question with some of: a greeting before it, a courtesy after it, lower case, no final punctuation. */
export function surfaceNoise(r, text) {
  if (r() >= NOISE_RATE) return text;
  let t = text;
  const kind = r();
  if (kind < 0.3) t = t.toLowerCase();
  else if (kind < 0.5) t = t.replace(/[?.!]$/, '');
  if (r() < 0.5) t = pick(r, NOISE_PREFIXES) + (kind < 0.3 ? t : t.charAt(0).toLowerCase() + t.slice(1));
  if (r() < 0.4 && /[?.!]$/.test(t)) t += pick(r, NOISE_SUFFIXES);
  return t;
}

/** The question without the noise surfaceNoise may have added (for checks that match templates). */
export function stripNoise(text) {
  let t = text;
  for (const p of NOISE_PREFIXES) if (t.startsWith(p)) t = t.slice(p.length);
  for (const s of NOISE_SUFFIXES) if (t.endsWith(s)) t = t.slice(0, -s.length);
  return t;
}
