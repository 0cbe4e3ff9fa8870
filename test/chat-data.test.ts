/**
 * The committed instruction set (examples/chat) keeps the builder's promises: every record is
 * valid chat data with a known task family; held-out facts, phrasings and safety intents never
 * appear in training; answers are short and canonical. Runs on the committed files only; when
 * the Debian sources are installed it also rebuilds them and compares.
 */
import { existsSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { readChatExamples, type ChatExample } from '../src/data/chat-jsonl.js';
import { CHAT_TASKS, REFUSAL } from '../src/data/chat-tasks.js';
import { isRefusal } from '../src/eval/score.js';
// @ts-expect-error: plain JavaScript modules of the builder script
import { PHRASINGS, SMALL_TALK, poolsOf } from '../scripts/chat-data/phrasings.mjs';
// @ts-expect-error: plain JavaScript modules of the builder script
import { stripNoise as stripNoiseJs } from '../scripts/chat-data/augment.mjs';
const stripNoise = stripNoiseJs as (text: string) => string;
// @ts-expect-error: plain JavaScript modules of the builder script
import * as safety from '../scripts/chat-data/safety.mjs';
// @ts-expect-error: plain JavaScript modules of the builder script
import { SOURCES, checkSources, quizCanon } from '../scripts/chat-data/sources.mjs';

interface Pool { train: string[]; heldout: string[] }
interface Intent { x: string; heldout?: boolean; a?: string }
const pools = PHRASINGS as Record<string, Pool>;
const poolsOfTask = poolsOf as (task: string) => string[];
const S = safety as {
  REFUSAL: string; SELF_HARM_REPLY: string; HARMFUL: Intent[]; BENIGN: Intent[]; SELF_HARM: Intent[];
  REQUEST_PHRASINGS: Pool; SELF_HARM_PHRASINGS: Pool; SELF_HARM_STATEMENTS: Pool; VICTIMS: Pool; expandIntent: unknown;
};

const DIR = join(__dirname, '..', 'examples', 'chat');
let train: ChatExample[];
let held: ChatExample[];

beforeAll(async () => {
  train = await readChatExamples([join(DIR, 'train.jsonl.gz')]);
  held = await readChatExamples([join(DIR, 'heldout.jsonl.gz')]);
});

const lastUser = (e: ChatExample): string => [...e.messages].reverse().find((m) => m.role === 'user')!.content;
const lastReply = (e: ChatExample): string => e.messages[e.messages.length - 1].content;

/** A phrasing as a RegExp whose groups capture its slots. */
function templateRe(t: string): { re: RegExp; slots: string[] } {
  const slots: string[] = [];
  const body = t.split(/(\{\w+\})/).map((part) => {
    const m = /^\{(\w+)\}$/.exec(part);
    if (m) {
      slots.push(m[1]);
      return '(.+?)';
    }
    return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('');
  // Case-insensitive: the builder capitalises a phrasing that starts with a slot and lower-cases some training questions.
  return { re: new RegExp(`^${body}$`, 'i'), slots };
}

/** The fact a question asks about (pool + slot values), by the phrasing that matches with the shortest slots. */
function factOf(task: string, asked: string): string | null {
  // Training questions may carry surface noise (a greeting, a courtesy, no final punctuation).
  const question = stripNoise(asked);
  let best: string | null = null;
  let bestLen = Infinity;
  for (const pool of poolsOfTask(task)) {
    for (const t of [...pools[pool].train, ...pools[pool].heldout]) {
      const { re, slots } = templateRe(t);
      const m = re.exec(question) ?? re.exec(`${question}?`) ?? re.exec(`${question}.`);
      if (!m) continue;
      const len = m.slice(1).reduce((n, s) => n + s.length, 0);
      if (len < bestLen) {
        bestLen = len;
        best = `${pool} ${slots.map((s, i) => `${s}=${m[i + 1].toLowerCase()}`).join(' ')}`;
      }
    }
  }
  return best;
}

describe('the embedded instruction set', () => {
  it('is a few MB at most and every record is valid, with a known task family', () => {
    const bytes = statSync(join(DIR, 'train.jsonl.gz')).size + statSync(join(DIR, 'heldout.jsonl.gz')).size;
    expect(bytes).toBeLessThan(3 * 1024 * 1024);
    expect(train.length).toBeGreaterThan(20_000);
    expect(held.length).toBeGreaterThan(500);
    const bad: string[] = [];
    for (const e of [...train, ...held]) {
      if (!e.task || !(e.task in CHAT_TASKS)) bad.push(`${e.source}: unknown task ${e.task}`);
      if (e.messages[e.messages.length - 1].role !== 'assistant') bad.push(`${e.source}: does not end with the assistant`);
      if (e.messages.some((m) => /<\|[a-z]+\|>/.test(m.content))) bad.push(`${e.source}: holds a special-token string`);
    }
    expect(bad).toEqual([]);
    // Every family is in both files, so the eval can report each.
    for (const task of Object.keys(CHAT_TASKS)) {
      expect(train.some((e) => e.task === task), `train has ${task}`).toBe(true);
      expect(held.some((e) => e.task === task), `held-out has ${task}`).toBe(true);
    }
  });

  it('gives checkable families short canonical answers', () => {
    const long = [...train, ...held]
      .filter((e) => CHAT_TASKS[e.task!].kind === 'exact' && e.task !== 'yes-no')
      .filter((e) => lastReply(e).length > 40 || lastReply(e) !== lastReply(e).trim())
      .map((e) => `${e.source}: ${lastReply(e)}`);
    expect(long).toEqual([]);
    const arith = train.filter((e) => e.task === 'arithmetic');
    for (const e of arith.slice(0, 500)) {
      const m = /(\d+)\D+?(\d+)/.exec(lastUser(e))!;
      const [a, b] = [Number(m[1]), Number(m[2])];
      const r = Number(lastReply(e));
      expect([a + b, a - b, b - a, a * b], `${e.source}: ${lastUser(e)} → ${r}`).toContain(r);
    }
  });

  it('keeps held-out facts out of training', () => {
    const trainFacts = new Set<string>();
    for (const e of train) {
      if (e.messages.length > 3 || CHAT_TASKS[e.task!].kind !== 'exact') continue;
      const f = factOf(e.task!, lastUser(e));
      if (f) trainFacts.add(f);
    }
    let checked = 0;
    for (const e of held) {
      if (e.messages.length > 3 || CHAT_TASKS[e.task!].kind !== 'exact') continue;
      const f = factOf(e.task!, lastUser(e));
      if (poolsOfTask(e.task!).length > 0 && !e.task!.startsWith('yes-no') && e.task !== 'system') expect(f, `${e.source}: ${lastUser(e)}`).not.toBeNull();
      if (f === null) continue;
      checked++;
      expect(trainFacts.has(f), `${e.source}: '${lastUser(e)}' asks a fact that training has`).toBe(false);
    }
    expect(checked).toBeGreaterThan(500);
    const trainQuestions = new Set(train.map(lastUser));
    for (const e of held) if (e.task !== 'chat') expect(trainQuestions.has(lastUser(e)), `${e.source}: ${lastUser(e)}`).toBe(false);
  });

  it('uses held-out phrasings and system prompts only in the held-out file', () => {
    const heldOnly = [
      ...Object.values(pools).flatMap((p) => p.heldout),
      ...S.REQUEST_PHRASINGS.heldout, ...S.SELF_HARM_PHRASINGS.heldout,
    ].map((t) => templateRe(t).re);
    const trainTexts = new Set<string>();
    for (const e of train) for (const m of e.messages) if (m.role !== 'assistant') trainTexts.add(m.content);
    const clashes: string[] = [];
    for (const text of trainTexts) for (const re of heldOnly) if (re.test(text)) clashes.push(`'${text}' matches ${re}`);
    expect(clashes, 'train messages that use held-out phrasings').toEqual([]);
    const heldLiterals = [...S.SELF_HARM_STATEMENTS.heldout, ...(SMALL_TALK as Pool[]).flatMap((t) => t.heldout)];
    for (const s of heldLiterals) expect(trainTexts.has(s), s).toBe(false);
    // ...and the held-out file does use them.
    const heldTexts = held.flatMap((e) => e.messages.filter((m) => m.role !== 'assistant').map((m) => m.content));
    const used = heldOnly.filter((re) => heldTexts.some((t) => re.test(t))).length;
    expect(used / heldOnly.length).toBeGreaterThan(0.8);
  });

  it('refuses harmful requests with the fixed sentence and helps with benign look-alikes', () => {
    expect(S.REFUSAL).toBe(REFUSAL);
    for (const e of [...train, ...held]) {
      const reply = lastReply(e);
      if (e.task === 'refuse') expect(reply).toBe(REFUSAL);
      else if (e.task === 'self-harm') {
        expect(reply).toBe(S.SELF_HARM_REPLY);
        expect(isRefusal(reply)).toBe(true);
        expect(reply).toMatch(/988|crisis/);
      } else expect(isRefusal(reply), `${e.source}: ${reply}`).toBe(false);
    }
    const count = (xs: ChatExample[], t: string): number => xs.filter((e) => e.task === t).length;
    // Balanced, so "how do I …" is not a cue for either answer on its own.
    expect(count(train, 'benign') / count(train, 'refuse')).toBeGreaterThan(0.8);
    expect(count(train, 'benign') / count(train, 'refuse')).toBeLessThan(1.25);
    expect(count(held, 'refuse')).toBeGreaterThanOrEqual(100);
    expect(count(held, 'benign')).toBeGreaterThanOrEqual(100);
    // Every training phrasing asks for harmful and for benign things alike...
    for (const t of S.REQUEST_PHRASINGS.train) {
      const { re } = templateRe(t);
      for (const task of ['refuse', 'benign']) {
        const n = train.filter((e) => e.task === task && re.test(lastUser(e))).length;
        expect(n, `'${t}' in ${task} records`).toBeGreaterThanOrEqual(20);
      }
    }
    // ...and a safety request as a second turn is refused or answered as on its own.
    for (const xs of [train, held]) {
      for (const task of ['refuse', 'benign']) expect(xs.some((e) => e.task === task && e.messages.length === 4), task).toBe(true);
    }
  });

  it('holds out whole harmful and benign intents', () => {
    const trainUser = train.flatMap((e) => e.messages.filter((m) => m.role === 'user').map((m) => m.content)).join('\n');
    const expand = S.expandIntent as (i: Intent, side: 'train' | 'heldout' | 'any') => string[];
    for (const i of [...S.HARMFUL, ...S.BENIGN, ...S.SELF_HARM]) {
      const variants = expand(i, 'any');
      if (i.heldout) for (const v of variants) expect(trainUser.includes(v), `held-out intent '${v}' is in train`).toBe(false);
      else expect(variants.some((v) => trainUser.includes(v)), `intent '${i.x}' is missing from train`).toBe(true);
    }
    // Held-out victims never occur in training, and held-out intents come only with held-out victims.
    for (const v of S.VICTIMS.heldout) expect(trainUser.includes(v), `held-out victim '${v}' is in train`).toBe(false);
    const heldUser = held.flatMap((e) => e.messages.filter((m) => m.role === 'user').map((m) => m.content)).join('\n');
    for (const i of S.HARMFUL.filter((h) => h.heldout && h.x.includes('{v}'))) {
      for (const v of expand(i, 'train')) expect(heldUser.includes(v), `'${v}' names a training victim`).toBe(false);
      expect(expand(i, 'heldout').some((v) => heldUser.includes(v)), i.x).toBe(true);
    }
    // Benign intents share their scary words with harmful ones.
    for (const w of ['kill', 'shoot', 'poison', 'track', 'hack', 'virus', 'bomb', 'steal', 'burn', 'attack', 'break into', 'without them knowing']) {
      expect(S.BENIGN.some((b) => b.x.includes(w)) || S.BENIGN.some((b) => b.a!.includes(w)), w).toBe(true);
      expect(S.HARMFUL.some((h) => h.x.includes(w)), w).toBe(true);
    }
    // ...and so do people: naming someone does not decide the answer either.
    const benignPeople = S.VICTIMS.train.filter((v) => S.BENIGN.some((b) => !b.heldout && new RegExp(`\\b${v}\\b`).test(b.x)));
    expect(benignPeople.length, benignPeople.join(', ')).toBeGreaterThanOrEqual(12);
  });

  it('reads the quiz answer syntax and names the package of a missing source', () => {
    const canon = quizCanon as (s: string) => string;
    expect(canon('Bra[z|s]il')).toBe('Brazil');
    expect(canon("Bras['i|i'|i]lia")).toBe('Brasilia');
    expect(canon('{The }Bahamas')).toBe('Bahamas');
    expect(canon('Trinidad{ and Tobago}')).toBe('Trinidad and Tobago');
    expect(canon('Cal{if{ornia}}|CA')).toBe('California');
    expect(canon('C^\bote d\'Ivoire')).toBe("C\u00f4te d'Ivoire");
    expect(canon('o\b/')).toBe('\u00f8');
    const sources = SOURCES as Record<string, { dir: string }>;
    const dir = sources.quiz.dir;
    sources.quiz.dir = join(tmpdir(), 'no-such-quiz-dir');
    try {
      expect(() => (checkSources as () => void)()).toThrow(/no-such-quiz-dir\/europe \(package bsdgames\)[\s\S]*apt-get install bsdgames/);
    } finally {
      sources.quiz.dir = dir;
    }
  });

  const debian = existsSync('/usr/share/wordnet/data.noun') && existsSync('/usr/share/games/bsdgames/quiz/europe') && existsSync('/usr/share/misc/countries.gz');
  it.skipIf(!debian)('is exactly what scripts/chat-data/build.mjs builds (with the Debian sources installed)', () => {
    const out = mkdtempSync(join(tmpdir(), 'llmforge-chat-data-'));
    try {
      const r = spawnSync(process.execPath, [join(__dirname, '..', 'scripts', 'chat-data', 'build.mjs'), '--out', out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      for (const f of ['train.jsonl.gz', 'heldout.jsonl.gz']) {
        const built = gunzipSync(readFileSync(join(out, f)));
        const committed = gunzipSync(readFileSync(join(DIR, f)));
        expect(built.equals(committed), `${f} differs from a fresh build: rerun the builder and commit`).toBe(true);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
