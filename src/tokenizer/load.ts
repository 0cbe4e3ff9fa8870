/**
 * Reading tokenizers: Hugging Face tokenizer.json, tiktoken rank files, GPT-2's encoder.json +
 * vocab.bpe (also named vocab.json + merges.txt). `loadTokenizer` detects which from the content.
 * Every error names the file and what is wrong with it.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bpeEncodeBytes, PairTable, type BpeModel, type Merge } from './bpe.js';
import { bytesKey, tokenStringToBytes, utf8Decoder } from './bytes.js';
import { resolvePattern, GPT2_PATTERN, type Pattern } from './pretokenize.js';
import { BpeTokenizer, type Normalizer } from './tokenizer.js';

export class TokenizerFileError extends Error {
  constructor(
    readonly path: string,
    what: string,
  ) {
    super(`${path}: ${what}`);
    this.name = 'TokenizerFileError';
  }
}

export interface LoadOptions {
  /**
   * For tiktoken rank files, which carry neither: the split pattern ('gpt2', 'gpt4' or a regex)
   * and the special tokens. Defaults are recognised from the vocabulary size: 50256 / 50280 ranks
   * (r50k / p50k, GPT-2) → gpt2 and `<|endoftext|>` = 50256; 100256 ranks (cl100k) → gpt4 and
   * cl100k's special tokens; anything else → gpt4 and none.
   */
  pattern?: string;
  specialTokens?: ReadonlyMap<string, number> | Record<string, number>;
}

/** Loads a tokenizer file (or a directory holding tokenizer.json or encoder.json + vocab.bpe). */
export async function loadTokenizer(path: string, options: LoadOptions = {}): Promise<BpeTokenizer> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new TokenizerFileError(path, `cannot read tokenizer (${errText(err)})`);
  }
  if (info.isDirectory()) return loadFromDirectory(path, options);
  const text = await readText(path);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    const obj = parseJson(path, text);
    if (isRecord(obj) && isRecord(obj.model)) return tokenizerFromHfJson(obj, path);
    if (isRecord(obj) && Object.values(obj).every((v) => typeof v === 'number')) {
      const merges = await findSibling(path, ['vocab.bpe', 'merges.txt'], 'GPT-2 encoder.json needs vocab.bpe beside it');
      return tokenizerFromGpt2Files(obj as Record<string, number>, path, await readText(merges), merges);
    }
    throw new TokenizerFileError(path, 'JSON is neither a Hugging Face tokenizer.json (no "model") nor a GPT-2 encoder.json');
  }
  const firstLine = trimmed.slice(0, trimmed.indexOf('\n') >>> 0).trim();
  if (/^[A-Za-z0-9+/]+=*\s+\d+$/.test(firstLine)) return tokenizerFromTiktoken(text, path, options);
  if (firstLine.startsWith('#version') || /^\S+ \S+$/.test(firstLine)) {
    const enc = await findSibling(path, ['encoder.json', 'vocab.json'], 'GPT-2 vocab.bpe needs encoder.json beside it');
    const obj = parseJson(enc, await readText(enc));
    if (!isRecord(obj) || !Object.values(obj).every((v) => typeof v === 'number')) {
      throw new TokenizerFileError(enc, 'expected a JSON object of token → id');
    }
    return tokenizerFromGpt2Files(obj as Record<string, number>, enc, text, path);
  }
  throw new TokenizerFileError(
    path,
    'not a tokenizer file (expected a Hugging Face tokenizer.json, a tiktoken rank file, or GPT-2 encoder.json + vocab.bpe)',
  );
}

async function loadFromDirectory(dir: string, options: LoadOptions): Promise<BpeTokenizer> {
  for (const name of ['tokenizer.json', 'encoder.json', 'vocab.json']) {
    const p = join(dir, name);
    if (await exists(p)) return loadTokenizer(p, options);
  }
  throw new TokenizerFileError(dir, 'directory has no tokenizer.json (nor encoder.json + vocab.bpe)');
}

async function findSibling(path: string, names: string[], what: string): Promise<string> {
  for (const n of names) {
    const p = join(dirname(path), n);
    if (p !== path && (await exists(p))) return p;
  }
  throw new TokenizerFileError(path, `${what} (looked for ${names.join(', ')} in ${dirname(path)})`);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new TokenizerFileError(path, `cannot read tokenizer (${errText(err)})`);
  }
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TokenizerFileError(path, `malformed JSON (${errText(err)})`);
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Ids must be dense: a tokenizer's ids run from 0 with few unused (cl100k leaves 16 between its
 * ranks and its special tokens). An id far beyond the number of entries (1e9) would make the
 * id-indexed tables gigabytes, so it is refused before anything is allocated.
 */
export const MAX_UNUSED_IDS = 1024;

/** The first id past the range `entries` entries may use. */
function idLimit(entries: number): number {
  return entries + MAX_UNUSED_IDS;
}

/** `what` names the entry: 'vocab entry "x"' (→ 'vocab entry "x" has id N') or 'line 3: rank N' as it is. */
function checkIdInRange(path: string, what: string, id: number, entries: number): void {
  if (id >= idLimit(entries)) {
    const named = /\d$/.test(what) ? `${what} is` : `${what} has id ${id}, which is`;
    throw new TokenizerFileError(
      path,
      `${named} beyond the vocabulary: ${entries} entries may use ids 0..${idLimit(entries) - 1} ` +
        `(ids must be dense, with at most ${MAX_UNUSED_IDS} unused)`,
    );
  }
}

/**
 * Builds a model from a byte-level vocab (token string → id) and merges (pairs of token strings).
 * `otherEntries` counts the ids listed elsewhere in the file (added tokens), for the range check.
 */
function modelFromVocabAndMerges(
  path: string,
  vocab: Record<string, unknown>,
  merges: ReadonlyArray<readonly [string, string]>,
  ignoreMerges: boolean,
  otherEntries = 0,
): BpeModel {
  const tokens: Array<Uint8Array | undefined> = [];
  const index = new Map<string, number>();
  const byString = new Map<string, number>();
  const entries = Object.keys(vocab).length + otherEntries;
  for (const [tok, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new TokenizerFileError(path, `vocab entry ${JSON.stringify(tok)} has invalid id ${JSON.stringify(id)}`);
    }
    const bytes = tokenStringToBytes(tok);
    if (!bytes) {
      throw new TokenizerFileError(
        path,
        `vocab entry ${JSON.stringify(tok)} (id ${id}) is not byte-level: only byte-level BPE tokenizers are supported`,
      );
    }
    checkIdInRange(path, `vocab entry ${JSON.stringify(tok)}`, id, entries);
    if (tokens[id] !== undefined) throw new TokenizerFileError(path, `vocab id ${id} is used twice`);
    tokens[id] = bytes;
    byString.set(tok, id);
    const key = bytesKey(bytes);
    if (!index.has(key)) index.set(key, id);
  }
  const byteIds = new Int32Array(256);
  for (let b = 0; b < 256; b++) {
    const id = index.get(String.fromCharCode(b));
    if (id === undefined) {
      throw new TokenizerFileError(
        path,
        `vocab has no token for byte 0x${b.toString(16).padStart(2, '0')}: a byte-level BPE needs all 256 bytes ` +
          '(Hugging Face trainers: initial_alphabet=ByteLevel.alphabet())',
      );
    }
    byteIds[b] = id;
  }
  const out: Merge[] = [];
  merges.forEach(([l, r], i) => {
    const a = byString.get(l);
    const b = byString.get(r);
    if (a === undefined || b === undefined) {
      throw new TokenizerFileError(path, `merge ${i + 1} "${l} ${r}": ${JSON.stringify(a === undefined ? l : r)} is not in the vocab`);
    }
    const result = byString.get(l + r);
    if (result === undefined) throw new TokenizerFileError(path, `merge ${i + 1} "${l} ${r}": the merged token ${JSON.stringify(l + r)} is not in the vocab`);
    out.push({ a, b, result });
  });
  return { tokens, merges: out, byteIds, ignoreMerges };
}

function parseMergeLine(path: string, m: unknown, i: number): [string, string] {
  if (typeof m === 'string') {
    const sp = m.indexOf(' ');
    if (sp <= 0 || sp === m.length - 1 || m.indexOf(' ', sp + 1) >= 0) {
      throw new TokenizerFileError(path, `merge ${i + 1} ${JSON.stringify(m)} is not two tokens separated by one space`);
    }
    return [m.slice(0, sp), m.slice(sp + 1)];
  }
  if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
  throw new TokenizerFileError(path, `merge ${i + 1} ${JSON.stringify(m)} is neither "a b" nor ["a", "b"]`);
}

/** A Hugging Face tokenizer.json (already parsed). */
export function tokenizerFromHfJson(obj: Record<string, unknown>, path = 'tokenizer.json'): BpeTokenizer {
  const model = obj.model;
  if (!isRecord(model)) throw new TokenizerFileError(path, '"model" must be an object');
  if (model.type !== undefined && model.type !== 'BPE') {
    throw new TokenizerFileError(path, `model type ${JSON.stringify(model.type)} is not supported (only BPE)`);
  }
  if (!isRecord(model.vocab)) throw new TokenizerFileError(path, 'model.vocab must be an object of token → id');
  if (!Array.isArray(model.merges)) throw new TokenizerFileError(path, 'model.merges must be an array');
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[key] !== undefined && model[key] !== null && model[key] !== '') {
      throw new TokenizerFileError(path, `model.${key} is not supported in a byte-level BPE`);
    }
  }
  if (model.byte_fallback === true) throw new TokenizerFileError(path, 'model.byte_fallback is not supported (not a byte-level BPE)');
  const merges = (model.merges as unknown[]).map((m, i) => parseMergeLine(path, m, i));
  const added: unknown[] = Array.isArray(obj.added_tokens) ? obj.added_tokens : [];
  const entries = Object.keys(model.vocab).length + added.length;
  const bpe = modelFromVocabAndMerges(path, model.vocab, merges, model.ignore_merges === true, added.length);

  const normalizer = parseNormalizer(path, obj.normalizer);
  const pattern = parsePreTokenizer(path, obj.pre_tokenizer);

  const specials = new Map<string, number>();
  if (obj.added_tokens !== undefined && obj.added_tokens !== null) {
    if (!Array.isArray(obj.added_tokens)) throw new TokenizerFileError(path, '"added_tokens" must be an array');
    obj.added_tokens.forEach((t: unknown, i: number) => {
      if (!isRecord(t) || typeof t.content !== 'string' || typeof t.id !== 'number' || !Number.isInteger(t.id) || t.id < 0) {
        throw new TokenizerFileError(path, `added_tokens[${i}] needs a string "content" and an integer "id"`);
      }
      if (t.content === '') throw new TokenizerFileError(path, `added_tokens[${i}] has empty content`);
      checkIdInRange(path, `added_tokens[${i}] ${JSON.stringify(t.content)}`, t.id, entries);
      if (specials.has(t.content)) throw new TokenizerFileError(path, `added token ${JSON.stringify(t.content)} is listed twice`);
      specials.set(t.content, t.id);
    });
  }
  checkSpecials(path, bpe, specials);
  return new BpeTokenizer({ model: bpe, pattern, specialTokens: specials, normalizer });
}

function parseNormalizer(path: string, n: unknown): Normalizer {
  if (n === undefined || n === null) return 'none';
  if (isRecord(n) && n.type === 'NFC') return 'nfc';
  if (isRecord(n) && n.type === 'Sequence' && Array.isArray(n.normalizers) && n.normalizers.length === 0) return 'none';
  throw new TokenizerFileError(path, `normalizer ${JSON.stringify(n)} is not supported (only none or NFC)`);
}

function parsePreTokenizer(path: string, p: unknown): Pattern {
  const unsupported = (): never => {
    throw new TokenizerFileError(
      path,
      `pre_tokenizer ${JSON.stringify(p)} is not supported (expected ByteLevel, or Sequence of Split(regex) and ByteLevel)`,
    );
  };
  if (!isRecord(p)) return unsupported();
  const checkByteLevel = (bl: Record<string, unknown>): void => {
    if (bl.add_prefix_space === true) {
      throw new TokenizerFileError(path, 'pre_tokenizer ByteLevel with add_prefix_space = true is not supported');
    }
  };
  if (p.type === 'ByteLevel') {
    checkByteLevel(p);
    if (p.use_regex === false) return unsupported();
    return resolvePattern(GPT2_PATTERN);
  }
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) {
    const list = p.pretokenizers as unknown[];
    const split = list[0];
    const bl = list[1];
    if (list.length !== 2 || !isRecord(split) || !isRecord(bl) || split.type !== 'Split' || bl.type !== 'ByteLevel') {
      return unsupported();
    }
    checkByteLevel(bl);
    if (bl.use_regex === true) return unsupported();
    const pat = split.pattern;
    if (!isRecord(pat) || typeof pat.Regex !== 'string') return unsupported();
    if (split.behavior !== undefined && split.behavior !== 'Isolated') {
      throw new TokenizerFileError(path, `Split behavior ${JSON.stringify(split.behavior)} is not supported (only Isolated)`);
    }
    if (split.invert === true) throw new TokenizerFileError(path, 'Split with invert = true is not supported');
    try {
      return resolvePattern(pat.Regex);
    } catch (err) {
      throw new TokenizerFileError(path, errText(err));
    }
  }
  return unsupported();
}

function checkSpecials(path: string, model: BpeModel, specials: ReadonlyMap<string, number>): void {
  const ids = new Map<number, string>();
  const merged = new Set(model.merges.map((m) => m.result));
  for (let b = 0; b < 256; b++) merged.add(model.byteIds[b]);
  for (const [content, id] of specials) {
    const other = ids.get(id);
    if (other !== undefined) {
      throw new TokenizerFileError(path, `special tokens ${JSON.stringify(other)} and ${JSON.stringify(content)} share id ${id}`);
    }
    ids.set(id, content);
    if (merged.has(id)) {
      throw new TokenizerFileError(path, `special token ${JSON.stringify(content)} has id ${id}, which is an ordinary BPE token`);
    }
  }
}

/**
 * GPT-2's encoder.json (token → id) and vocab.bpe (merges). Vocab entries that no merge produces
 * (GPT-2's `<|endoftext|>`) become special tokens.
 */
export function tokenizerFromGpt2Files(
  encoder: Record<string, number>,
  encoderPath: string,
  vocabBpe: string,
  vocabBpePath: string,
): BpeTokenizer {
  const lines = vocabBpe.split('\n');
  const merges: Array<[string, string]> = [];
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    merges.push(parseMergeLineAt(vocabBpePath, line, i));
  });
  // Validate the vocabulary against the merges file.
  let model: BpeModel;
  try {
    model = modelFromVocabAndMerges(encoderPath, encoder, merges, false);
  } catch (err) {
    if (err instanceof TokenizerFileError && err.message.includes('merge ')) {
      throw new TokenizerFileError(vocabBpePath, err.message.slice(encoderPath.length + 2));
    }
    throw err;
  }
  const reachable = new Set(model.merges.map((m) => m.result));
  for (let b = 0; b < 256; b++) reachable.add(model.byteIds[b]);
  const specials = new Map<string, number>();
  const tokens = model.tokens.slice();
  tokens.forEach((t, id) => {
    if (t && !reachable.has(id)) {
      specials.set(utf8Decoder.decode(t), id);
    }
  });
  return new BpeTokenizer({ model, pattern: resolvePattern('gpt2'), specialTokens: specials });
}

function parseMergeLineAt(path: string, line: string, i: number): [string, string] {
  const parts = line.split(' ');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new TokenizerFileError(path, `line ${i + 1} ${JSON.stringify(line)} is not two tokens separated by one space`);
  }
  return [parts[0], parts[1]];
}

/** The most special tokens a recognised rank file gets by default (cl100k's). */
const CL100K_SPECIAL_COUNT = 5;

const CL100K_SPECIALS: Record<string, number> = {
  '<|endoftext|>': 100257,
  '<|fim_prefix|>': 100258,
  '<|fim_middle|>': 100259,
  '<|fim_suffix|>': 100260,
  '<|endofprompt|>': 100276,
};

/**
 * A tiktoken rank file: one `base64(token bytes) rank` per line. Merges are recovered the way
 * tiktoken applies ranks: each token's merge is the last step of running BPE on its own bytes with
 * the lower ranks only (tokens no such run can reach are kept, unreachable, as tiktoken would).
 */
export function tokenizerFromTiktoken(text: string, path: string, options: LoadOptions = {}): BpeTokenizer {
  const tokens: Array<Uint8Array | undefined> = [];
  const lines = text.split('\n');
  // Ranks are checked against the number of lines before any is stored (see MAX_UNUSED_IDS).
  const extraSpecials = options.specialTokens instanceof Map ? options.specialTokens.size : Object.keys(options.specialTokens ?? {}).length;
  const entries = lines.reduce((n, l) => (l.trim() === '' ? n : n + 1), 0) + Math.max(extraSpecials, CL100K_SPECIAL_COUNT);
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const m = /^([A-Za-z0-9+/]*=*)\s+(\d+)$/.exec(line);
    if (!m) throw new TokenizerFileError(path, `line ${i + 1} ${JSON.stringify(line.slice(0, 60))} is not "base64 rank"`);
    const rank = Number(m[2]);
    if (!Number.isSafeInteger(rank) || rank > 0x7fffffff) throw new TokenizerFileError(path, `line ${i + 1}: rank ${m[2]} is too large`);
    checkIdInRange(path, `line ${i + 1}: rank ${rank}`, rank, entries);
    const bytes = new Uint8Array(Buffer.from(m[1], 'base64'));
    if (bytes.length === 0) throw new TokenizerFileError(path, `line ${i + 1}: empty token`);
    if (tokens[rank] !== undefined) throw new TokenizerFileError(path, `line ${i + 1}: rank ${rank} is used twice`);
    tokens[rank] = bytes;
    count++;
  }
  if (count === 0) throw new TokenizerFileError(path, 'no ranks found');
  const byteIds = new Int32Array(256).fill(-1);
  tokens.forEach((t, id) => {
    if (t && t.length === 1 && byteIds[t[0]] < 0) byteIds[t[0]] = id;
  });
  for (let b = 0; b < 256; b++) {
    if (byteIds[b] < 0) {
      throw new TokenizerFileError(path, `no rank for byte 0x${b.toString(16).padStart(2, '0')}: not a byte-level BPE vocabulary`);
    }
  }
  const merges: Merge[] = [];
  const table = new PairTable([], count);
  const seen = new Set<string>();
  for (let b = 0; b < 256; b++) seen.add(String.fromCharCode(b));
  const buf = new Uint32Array(4096);
  tokens.forEach((t, id) => {
    if (!t || t.length < 2) return;
    const key = bytesKey(t);
    if (seen.has(key)) return;
    seen.add(key);
    const out = t.length <= buf.length ? buf : new Uint32Array(t.length);
    const n = bpeEncodeBytes(table, byteIds, t, t.length, out, 0);
    if (n === 2) {
      table.insert(out[0], out[1], merges.length, id);
      merges.push({ a: out[0], b: out[1], result: id });
    }
  });
  const model: BpeModel = { tokens, merges, byteIds, ignoreMerges: false };

  let patternSpec = options.pattern;
  let specials: Map<string, number> | undefined =
    options.specialTokens instanceof Map
      ? new Map(options.specialTokens)
      : options.specialTokens
        ? new Map(Object.entries(options.specialTokens))
        : undefined;
  if (count === 50256 || count === 50280) {
    patternSpec ??= 'gpt2';
    specials ??= new Map([['<|endoftext|>', 50256]]);
  } else if (count === 100256) {
    patternSpec ??= 'gpt4';
    specials ??= new Map(Object.entries(CL100K_SPECIALS));
  }
  let pattern: Pattern;
  try {
    pattern = resolvePattern(patternSpec ?? 'gpt4');
  } catch (err) {
    throw new TokenizerFileError(path, errText(err));
  }
  specials ??= new Map();
  for (const [content, id] of specials) {
    if (!Number.isInteger(id) || id < 0) throw new TokenizerFileError(path, `special token ${JSON.stringify(content)} has invalid id ${String(id)}`);
    checkIdInRange(path, `special token ${JSON.stringify(content)}`, id, entries);
    if (tokens[id] !== undefined) {
      throw new TokenizerFileError(path, `special token ${JSON.stringify(content)} id ${id} is also a rank in the file`);
    }
  }
  checkSpecials(path, model, specials);
  return new BpeTokenizer({ model, pattern, specialTokens: specials });
}
