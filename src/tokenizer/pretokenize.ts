/**
 * Pre-tokenization: the split pattern that cuts text into pieces before BPE runs on each piece.
 *
 * Patterns are stored in the syntax of the standard formats (Oniguruma in Hugging Face tokenizer.json,
 * the same text as tiktoken's `pat_str`) and translated to a JavaScript RegExp to run here:
 * `\s` becomes `\p{White_Space}` (JavaScript's `\s` also matches U+FEFF and misses U+0085, unlike the
 * Rust and Oniguruma engines the reference tokenizers use), `(?i:…)` groups become explicit case
 * classes (Node 20 has no inline modifiers), and possessive quantifiers become greedy ones.
 *
 * Like Hugging Face's `Split` with behaviour `Isolated`, text the pattern does not match is kept as
 * pieces of its own, so every string round-trips whatever the pattern.
 */

export type PatternName = 'gpt2' | 'gpt4';

/** GPT-2's pattern (also tiktoken's r50k/p50k and Hugging Face's ByteLevel `use_regex`). */
export const GPT2_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

/** cl100k_base's pattern: case-insensitive contractions, letters with one leading non-letter, digits in 1–3s. */
export const GPT4_PATTERN = String.raw`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

export const NAMED_PATTERNS: Readonly<Record<PatternName, string>> = { gpt2: GPT2_PATTERN, gpt4: GPT4_PATTERN };

export interface Pattern {
  /** 'gpt2', 'gpt4', or 'custom'. The named ones have a native scanner. */
  readonly name: PatternName | 'custom';
  /** The pattern in standard (Oniguruma / tiktoken) syntax, as written to tokenizer.json. */
  readonly source: string;
  /** The JavaScript translation (flags 'gu'). */
  readonly jsSource: string;
}

/** Resolves a pattern name or regex source. Throws a clear error for an invalid regex. */
export function resolvePattern(spec: string): Pattern {
  if (spec === 'gpt2' || spec === 'gpt4') {
    return { name: spec, source: NAMED_PATTERNS[spec], jsSource: toJsRegexSource(NAMED_PATTERNS[spec]) };
  }
  if (spec === GPT2_PATTERN) return resolvePattern('gpt2');
  if (spec === GPT4_PATTERN) return resolvePattern('gpt4');
  if (/^[a-z0-9_-]+$/i.test(spec)) {
    throw new Error(`unknown pattern '${spec}': use gpt2, gpt4, or a regular expression`);
  }
  const jsSource = toJsRegexSource(spec);
  try {
    new RegExp(jsSource, 'gu');
  } catch (err) {
    throw new Error(`invalid pattern regex '${spec}': ${err instanceof Error ? err.message : String(err)}`);
  }
  if (new RegExp(`^(?:${jsSource})$`, 'u').test('')) {
    throw new Error(`invalid pattern regex '${spec}': it matches the empty string`);
  }
  return { name: 'custom', source: spec, jsSource };
}

/** Oniguruma's Unicode \w: letters, marks, decimal digits, connector punctuation. */
const WORD_CLASS = String.raw`\p{L}\p{M}\p{Nd}\p{Pc}`;

/**
 * Translates Oniguruma / tiktoken regex syntax to a JavaScript 'u' RegExp source:
 * `\s`/`\S` → White_Space property, `\d`/`\w` → their Unicode meanings (JavaScript's are ASCII only),
 * `(?i:…)` → case classes for ASCII letters (plus ſ/K that fold to s/k),
 * possessive quantifiers (`++`, `*+`, `?+`, `}+`) → greedy.
 */
export function toJsRegexSource(src: string): string {
  let out = '';
  let inClass = false;
  // Whether each open group is case-insensitive, and the current state.
  const groups: boolean[] = [];
  let ci = false;
  // True right after a quantifier (so a following '+' makes it possessive).
  let afterQuantifier = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    const wasQuantifier: boolean = afterQuantifier;
    afterQuantifier = false;
    if (c === '\\') {
      const d = src[i + 1] ?? '';
      i++;
      if (d === 's') out += String.raw`\p{White_Space}`;
      else if (d === 'S') out += String.raw`\P{White_Space}`;
      else if (d === 'd') out += String.raw`\p{Nd}`;
      else if (d === 'D') out += String.raw`\P{Nd}`;
      else if (d === 'w') out += inClass ? WORD_CLASS : `[${WORD_CLASS}]`;
      else if (d === 'W' && !inClass) out += `[^${WORD_CLASS}]`;
      else if ((d === 'p' || d === 'P') && src[i + 1] === '{' && src.indexOf('}', i) > 0) {
        const end = src.indexOf('}', i);
        out += '\\' + src.slice(i, end + 1);
        i = end;
      } else out += '\\' + d;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      if (ci && /[a-zA-Z]/.test(c)) out += caseVariants(c, true);
      else out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(') {
      groups.push(ci);
      if (src.startsWith('(?i:', i)) {
        ci = true;
        out += '(?:';
        i += 3;
      } else out += c;
      continue;
    }
    if (c === ')') {
      ci = groups.pop() ?? false;
      out += c;
      continue;
    }
    if (c === '+' && wasQuantifier) continue; // possessive: same as greedy for these patterns
    if (c === '*' || c === '+' || c === '?') {
      out += c;
      afterQuantifier = c !== '?' || !wasQuantifier;
      continue;
    }
    if (c === '{') {
      const m = /^\{\d+(,\d*)?\}/.exec(src.slice(i));
      if (m) {
        out += m[0];
        i += m[0].length - 1;
        afterQuantifier = true;
        continue;
      }
    }
    if (ci && /[a-zA-Z]/.test(c)) {
      out += caseVariants(c, false);
      continue;
    }
    out += c;
  }
  return out;
}

function caseVariants(c: string, inClass: boolean): string {
  const lower = c.toLowerCase();
  const upper = c.toUpperCase();
  let chars = lower + upper;
  if (lower === 's') chars += '\u017f';
  if (lower === 'k') chars += '\u212a';
  return inClass ? chars : `[${chars}]`;
}

/**
 * Splits `text` into pieces: the pattern's matches and, between them, any text it did not match.
 * Calls `piece(start, end)` with UTF-16 offsets.
 */
export function splitPieces(re: RegExp, text: string, piece: (start: number, end: number) => void): void {
  re.lastIndex = 0;
  let last = 0;
  for (;;) {
    const m = re.exec(text);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    if (end === start) {
      re.lastIndex = start + 1;
      continue;
    }
    if (start > last) piece(last, start);
    piece(start, end);
    last = end;
  }
  if (last < text.length) piece(last, text.length);
}

export function compilePattern(p: Pattern): RegExp {
  return new RegExp(p.jsSource, 'gu');
}
