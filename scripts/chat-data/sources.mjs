// Readers for the public data the instruction set is built from, all in Debian packages:
// WordNet 3.0 (wordnet-base), the BSD quiz files (bsdgames) and miscfiles. Each reader returns
// plain facts; phrasing them as questions is the families' job (families.mjs).
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';

export const SOURCES = {
  wordnet: { pkg: 'wordnet-base', dir: '/usr/share/wordnet', files: ['data.noun', 'data.verb', 'data.adj', 'index.noun', 'index.verb', 'index.adj', 'noun.exc'] },
  quiz: { pkg: 'bsdgames', dir: '/usr/share/games/bsdgames/quiz', files: ['africa', 'america', 'asia', 'europe', 'state', 'elements', 'collectives', 'babies', 'sexes'] },
  misc: { pkg: 'miscfiles', dir: '/usr/share/misc', files: ['countries.gz', 'currency.gz', 'languages.gz'] },
};

/** Fails before any work, naming each missing file and the package that provides it. */
export function checkSources() {
  const missing = [];
  for (const { pkg, dir, files } of Object.values(SOURCES)) {
    for (const f of files) if (!existsSync(join(dir, f))) missing.push({ path: join(dir, f), pkg });
  }
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => m.pkg))];
  const lines = missing.map((m) => `  ${m.path} (package ${m.pkg})`).join('\n');
  throw new Error(`missing source files:\n${lines}\ninstall them with: sudo apt-get install ${pkgs.join(' ')}` +
    `\n(if a package is installed but a file is elsewhere, find it with: dpkg -L ${pkgs[0]})`);
}

const text = (path) => (path.endsWith('.gz') ? gunzipSync(readFileSync(path)) : readFileSync(path)).toString('utf8');
const lines = (path) => text(path).split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

// ---------------------------------------------------------------- quiz files

/**
 * The quiz files' answer syntax: `a|b` alternatives, `{x}` optional text, `[a|b]` alternatives
 * inside a word. The canonical form takes the first alternative, keeps optional text except a
 * leading one ("{The }Bahamas" → "Bahamas") or one holding an accent mark (`'e` means é), and
 * prefers an alternative without accent marks inside brackets ("Bras['i|i'|i]lia" → "Brasilia").
 */
export function quizCanon(s) {
  return tidy(expand(splitTop(s)[0]));
}

/** All top-level alternatives in canonical form. */
export const quizAlternatives = (s) => splitTop(s).map((a) => tidy(expand(a)));

// The quiz files write accents as typewriter overstrikes, letter-backspace-mark or the reverse
// ("C^\bote" is Côte): they become the combining mark, then NFC.
const MARKS = { "'": '\u0301', '`': '\u0300', '^': '\u0302', '~': '\u0303', ',': '\u0327', '\u00b0': '\u030a', '"': '\u0308' };
function overstrike(letter, mark) {
  if (mark === '/') return letter === 'o' ? '\u00f8' : letter === 'O' ? '\u00d8' : letter;
  return letter + (MARKS[mark] ?? '');
}
const tidy = (s) => s
  .replace(/([A-Za-z])\x08([^A-Za-z\s])|([^A-Za-z\s])\x08([A-Za-z])/g, (_, l1, m1, m2, l2) => overstrike(l1 ?? l2, m1 ?? m2))
  .normalize('NFC').replace(/\s+/g, ' ').trim();

function splitTop(s) {
  const out = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '{' || c === '[') depth++;
    if (c === '}' || c === ']') depth--;
    if (c === '|' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function expand(s) {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '{' && c !== '[') {
      out += c;
      continue;
    }
    const close = c === '{' ? '}' : ']';
    let depth = 1;
    let j = i + 1;
    for (; j < s.length && depth > 0; j++) {
      if (s[j] === c) depth++;
      else if (s[j] === close) depth--;
    }
    const inner = s.slice(i + 1, j - 1);
    if (c === '{') {
      if (i > 0 && !inner.includes("'")) out += expand(splitTop(inner)[0]);
    } else {
      const alts = splitTop(inner);
      out += expand(alts.find((a) => !a.includes("'")) ?? alts[0]);
    }
    i = j - 1;
  }
  return out;
}

const quizFile = (name) => lines(join(SOURCES.quiz.dir, name)).map((l) => l.split(':'));

/** Country → capital: the quiz files first (curated), then miscfiles for countries they lack. */
export function capitals() {
  const out = new Map();
  // "São Tomé and Príncipe" and "Sao Tome and Principe", "Republic of Moldova" and "Moldova" are one country.
  const seen = new Set();
  const same = (name) => name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/^(the |republic of )/, '');
  const add = (name, capital) => {
    if (seen.has(same(name))) return;
    seen.add(same(name));
    out.set(name, capital);
  };
  for (const f of ['africa', 'america', 'asia', 'europe']) {
    for (const [country, capital] of quizFile(f)) if (capital) add(quizCanon(country), quizCanon(capital));
  }
  for (const l of lines(join(SOURCES.misc.dir, 'countries.gz'))) {
    const [, , , name, capital] = l.split(':');
    if (!name || !capital || /[(,]/.test(name)) continue;
    add(name, capital.split(' (')[0].split(',')[0].trim());
  }
  return out;
}

/** US states: name, capital, postal abbreviation. */
export function states() {
  return quizFile('state').map(([name, capital, abbr]) => ({ name: quizCanon(name), capital: quizCanon(capital), abbr: quizCanon(abbr) }));
}

/** Chemical elements: symbol, atomic number, name. */
export function elements() {
  return quizFile('elements').map(([symbol, number, , name]) => ({ symbol: quizCanon(symbol), number, name: quizCanon(name) }));
}

/** Group → collective noun ("crows" → "murder"); the first line naming a group wins. */
export function collectives() {
  const out = new Map();
  for (const [groups, word] of quizFile('collectives')) {
    for (const g of quizAlternatives(groups)) if (!out.has(g)) out.set(g, quizCanon(word));
  }
  return out;
}

/** Adult animal → name of its young ("lion" → "cub"). */
export function babies() {
  const out = new Map();
  for (const [baby, adults] of quizFile('babies')) {
    for (const a of quizAlternatives(adults)) if (!out.has(a)) out.set(a, quizCanon(baby));
  }
  return out;
}

/** Male → female form ("boar" → "sow"), nouns only. */
export function femaleForms() {
  const out = new Map();
  for (const [male, female] of quizFile('sexes')) {
    const m = quizCanon(male);
    if (m.length < 3 || /complex|effeminate|manly/.test(m)) continue;
    out.set(m, quizCanon(female));
  }
  return out;
}

// ---------------------------------------------------------------- miscfiles

/** ISO country records: name, two-letter code, numeric code. */
function countryCodes() {
  return lines(join(SOURCES.misc.dir, 'countries.gz'))
    .map((l) => l.split(':'))
    .filter(([num, a2, , name]) => num && a2 && name && !/[(,]/.test(name))
    .map(([num, a2, , name]) => ({ num, a2, name }));
}

/** Country → two-letter ISO 3166 code. */
export function isoCodes() {
  return new Map(countryCodes().map((c) => [c.name, c.a2]));
}

/**
 * Country → currency name. ISO 4217 numeric codes of national currencies repeat the country's
 * ISO 3166 numeric code (Canada 124, Canadian dollar 124), which joins the two files.
 */
export function currencies() {
  const byNum = new Map(countryCodes().map((c) => [c.num, c.name]));
  const out = new Map();
  for (const l of lines(join(SOURCES.misc.dir, 'currency.gz'))) {
    const [code, num, name] = l.split(':');
    const country = byNum.get(num);
    if (!country || !name || !/^[A-Z]{3}$/.test(code) || /fund|unit|code|\(/i.test(name)) continue;
    if (!out.has(country)) out.set(country, name.trim());
  }
  return out;
}

/** ISO 639-1 code → language name ("de" → "German"). */
export function languages() {
  const out = new Map();
  for (const l of lines(join(SOURCES.misc.dir, 'languages.gz'))) {
    const [code, name] = l.split(':');
    if (!/^[a-z]{2}$/.test(code) || !name) continue;
    out.set(code, name.split(/[;,(]/)[0].trim());
  }
  return out;
}

// ---------------------------------------------------------------- WordNet

const WN_POS = { noun: 'n', verb: 'v', adj: 'a' };

/** index.POS: lemma → { synsets (most frequent sense first), tagged (sense-tagged corpus count) }. */
function wnIndex(pos) {
  const out = new Map();
  for (const l of text(join(SOURCES.wordnet.dir, `index.${pos}`)).split('\n')) {
    if (l === '' || l.startsWith(' ')) continue; // licence header lines start with spaces
    const f = l.trim().split(' ');
    const synsetCnt = Number(f[2]);
    const pCnt = Number(f[3]);
    const tagged = Number(f[5 + pCnt]);
    const synsets = f.slice(6 + pCnt, 6 + pCnt + synsetCnt);
    out.set(f[0], { synsets, tagged });
  }
  return out;
}

/** data.POS: offset → { words, pointers, gloss }. */
function wnData(pos) {
  const out = new Map();
  for (const l of text(join(SOURCES.wordnet.dir, `data.${pos}`)).split('\n')) {
    if (l === '' || l.startsWith(' ')) continue;
    const bar = l.indexOf(' | ');
    const f = l.slice(0, bar).trim().split(' ');
    const gloss = l.slice(bar + 3).trim();
    const wCnt = parseInt(f[3], 16);
    const words = [];
    for (let i = 0; i < wCnt; i++) words.push(f[4 + 2 * i].replace(/\(.*\)$/, ''));
    let k = 4 + 2 * wCnt;
    const pCnt = Number(f[k++]);
    const pointers = [];
    for (let i = 0; i < pCnt; i++, k += 4) {
      pointers.push({ sym: f[k], offset: f[k + 1], pos: f[k + 2], src: parseInt(f[k + 3].slice(0, 2), 16), tgt: parseInt(f[k + 3].slice(2), 16) });
    }
    out.set(f[0], { words, pointers, gloss });
  }
  return out;
}

/** The definition part of a gloss (before the quoted examples and any "; " aside). */
function definition(gloss) {
  return gloss.split(/;\s*"|"/)[0].split('; ')[0].trim();
}

const plainWord = (w) => /^[a-z]{3,14}$/.test(w);
const readable = (w) => w.replace(/_/g, ' ');

/**
 * WordNet facts for common words (sense-tagged at least `minTagged` times), first sense only:
 * definitions, two-word synsets (a synonym with one right answer), antonyms, hypernyms
 * ("what kind of thing is X"), and irregular plurals from the exception list.
 */
export function wordnet(minTagged = 3) {
  const define = [];
  const synonym = [];
  const antonym = [];
  const hypernym = [];
  const nounIndex = wnIndex('noun');
  for (const [pos, p] of Object.entries(WN_POS)) {
    const index = pos === 'noun' ? nounIndex : wnIndex(pos);
    const data = wnData(pos);
    const dataByPos = { [p]: data, s: data };
    for (const [lemma, { synsets, tagged }] of index) {
      if (!plainWord(lemma) || tagged < minTagged) continue;
      const syn = data.get(synsets[0]);
      // Proper nouns (index lemmas are lower case; the synset keeps "Panama") are left to the capital facts.
      if (!syn || !syn.words.some((w) => w === lemma)) continue;
      const def = definition(syn.gloss);
      if (def.length >= 8 && def.length <= 90) define.push({ word: lemma, pos, definition: def });
      const others = syn.words.map((w) => w.toLowerCase()).filter((w) => w !== lemma);
      if (syn.words.length === 2 && others.length === 1 && plainWord(others[0])) synonym.push({ word: lemma, answer: others[0] });
      const me = syn.words.findIndex((w) => w.toLowerCase() === lemma) + 1;
      const ant = syn.pointers.find((q) => q.sym === '!' && q.src === me);
      const target = ant && (dataByPos[ant.pos] ?? (ant.pos === p ? data : undefined))?.get(ant.offset);
      if (target && plainWord(target.words[ant.tgt - 1]?.toLowerCase() ?? '')) antonym.push({ word: lemma, answer: target.words[ant.tgt - 1].toLowerCase() });
      if (pos === 'noun') {
        const up = syn.pointers.find((q) => q.sym === '@' || q.sym === '@i');
        const parent = up && data.get(up.offset);
        if (parent) hypernym.push({ word: lemma, answer: readable(parent.words[0]) });
      }
    }
  }
  const plural = [];
  for (const l of text(join(SOURCES.wordnet.dir, 'noun.exc')).split('\n')) {
    const [pl, sg] = l.split(' ');
    if (!pl || !sg || !/^[a-z]+$/.test(pl) || !/^[a-z]+$/.test(sg) || pl === sg) continue;
    if (!(nounIndex.get(sg)?.tagged >= 1)) continue; // common nouns only: skip the rarest Latin and Greek forms
    plural.push({ singular: sg, plural: pl });
  }
  return { define, synonym, antonym, hypernym, plural };
}

/** WordNet glosses of common words as plain sentences ("A dog is a member of the genus Canis…"), for pretraining text. */
export function glossSentences(minTagged = 1) {
  const out = [];
  for (const pos of Object.keys(WN_POS)) {
    const index = wnIndex(pos);
    const data = wnData(pos);
    for (const [lemma, { synsets, tagged }] of index) {
      if (!/^[a-z]+$/.test(lemma) || tagged < minTagged) continue;
      const syn = data.get(synsets[0]);
      if (!syn) continue;
      const def = definition(syn.gloss);
      const examples = [...syn.gloss.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
      out.push({ word: lemma, pos, definition: def, examples });
    }
  }
  return out;
}
