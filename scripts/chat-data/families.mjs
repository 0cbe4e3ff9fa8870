// Task families with one checkable answer each. A family is facts (slots → answer) and the name
// of its phrasing pool in phrasings.mjs (or a function of the fact choosing one). The answer is
// short and canonical so the eval can compare it exactly (after normalising case and punctuation).
import * as src from './sources.mjs';
import { capitalize, int, pick, rng } from './util.mjs';

const article = (w) => (/^[aeiou]/i.test(w) ? `an ${w}` : `a ${w}`);

/** Keeps the first fact per key (sources can repeat a word in several parts of speech). */
function unique(facts) {
  const seen = new Set();
  return facts.filter((f) => (seen.has(f.key) ? false : (seen.add(f.key), true)));
}

let wnCache;
const wordnetFacts = () => (wnCache ??= src.wordnet(1));

const mapFacts = (map, slot = 'x') => [...map].map(([k, v]) => ({ key: k, slots: { [slot]: k }, answer: v }));

/** The fact families read from the Debian sources. */
export function factFamilies() {
  const wn = wordnetFacts();
  const capitals = src.capitals();
  const states = src.states();
  const elements = src.elements();
  return [
    {
      task: 'capital',
      facts: mapFacts(capitals),
      pool: 'capital',
      perFact: 4,
    },
    {
      task: 'state-capital',
      facts: states.map((s) => ({ key: s.name, slots: { x: s.name }, answer: s.capital })),
      pool: 'state-capital',
      perFact: 4,
    },
    {
      task: 'state-abbrev',
      facts: states.map((s) => ({ key: s.name, slots: { x: s.name }, answer: s.abbr })),
      pool: 'state-abbrev',
      perFact: 3,
    },
    {
      task: 'element-symbol',
      facts: elements.map((e) => ({ key: e.name, slots: { x: e.name }, answer: e.symbol })),
      pool: 'element-symbol',
      perFact: 3,
    },
    {
      task: 'element-name',
      facts: elements.map((e) => ({ key: e.symbol, slots: { x: e.symbol }, answer: e.name })),
      pool: 'element-name',
      perFact: 3,
    },
    {
      task: 'element-number',
      facts: elements.map((e) => ({ key: e.name, slots: { x: e.name }, answer: e.number })),
      pool: 'element-number',
      perFact: 3,
    },
    {
      task: 'collective',
      facts: mapFacts(src.collectives()),
      pool: 'collective',
      perFact: 3,
    },
    {
      task: 'baby-animal',
      facts: mapFacts(src.babies()),
      pool: 'baby-animal',
      perFact: 4,
    },
    {
      task: 'female',
      facts: mapFacts(src.femaleForms()),
      pool: 'female',
      perFact: 4,
    },
    {
      task: 'currency',
      facts: mapFacts(src.currencies()),
      pool: 'currency',
      perFact: 3,
    },
    {
      task: 'language-code',
      facts: mapFacts(src.languages()),
      pool: 'language-code',
      perFact: 2,
    },
    {
      task: 'country-code',
      facts: mapFacts(src.isoCodes()),
      pool: 'country-code',
      perFact: 2,
    },
    {
      task: 'define',
      facts: unique(wn.define.map((d) => ({ key: d.word, slots: { x: d.word }, answer: `${capitalize(d.definition)}.` }))),
      pool: 'define',
      perFact: 1,
      maxFacts: 3000,
    },
    {
      task: 'synonym',
      facts: unique(wn.synonym.map((d) => ({ key: d.word, slots: { x: d.word }, answer: d.answer }))),
      pool: 'synonym',
      perFact: 1,
    },
    {
      task: 'antonym',
      facts: unique(wn.antonym.map((d) => ({ key: d.word, slots: { x: d.word }, answer: d.answer }))),
      pool: 'antonym',
      perFact: 2,
    },
    {
      task: 'hypernym',
      facts: unique(wn.hypernym.map((d) => ({ key: d.word, slots: { x: d.word, ax: article(d.word) }, answer: d.answer }))),
      pool: 'hypernym',
      perFact: 1,
      maxFacts: 3000,
    },
    {
      task: 'plural',
      facts: wn.plural.map((p) => ({ key: p.singular, slots: { x: p.singular }, answer: p.plural })),
      pool: 'plural',
      perFact: 1,
    },
    {
      task: 'singular',
      facts: wn.plural.map((p) => ({ key: p.plural, slots: { x: p.plural }, answer: p.singular })),
      pool: 'singular',
      perFact: 1,
    },
  ].map((f) => ({ ...f, facts: unique(f.facts) }));
}

/** Common plain words (for reversing and counting letters). */
export function commonWords() {
  const seen = new Set();
  return wordnetFacts().define.map((d) => d.word).filter((w) => w.length >= 3 && w.length <= 10 && !seen.has(w) && seen.add(w));
}

/**
 * Generated families: their facts are drawn from a seeded generator instead of a file; a fact's
 * key is its canonical instance ("add 345 78"), so the hash split keeps train and held-out apart.
 */
export function generatedFamilies(seed) {
  const r = rng(seed ^ 0x9e3779b9);
  const words = commonWords();
  const draw = (n, make) => {
    const out = new Map();
    for (let tries = 0; out.size < n && tries < n * 20; tries++) {
      const f = make();
      if (!out.has(f.key)) out.set(f.key, f);
    }
    return [...out.values()];
  };
  const num = () => int(r, 1, pick(r, [9, 99, 999, 9999]));
  const list = (n) => Array.from({ length: n }, () => int(r, 0, 99));
  return [
    {
      task: 'arithmetic',
      facts: [
        ...draw(3000, () => { const a = num(), b = num(); return { key: `add ${a} ${b}`, op: '+', slots: { a: `${a}`, b: `${b}` }, answer: `${a + b}` }; }),
        ...draw(2000, () => { const a = num(), b = int(r, 1, a); return { key: `sub ${a} ${b}`, op: '-', slots: { a: `${a}`, b: `${b}` }, answer: `${a - b}` }; }),
        ...draw(2000, () => { const a = int(r, 2, 99), b = int(r, 2, pick(r, [9, 99])); return { key: `mul ${a} ${b}`, op: '*', slots: { a: `${a}`, b: `${b}` }, answer: `${a * b}` }; }),
      ],
      // Phrasings per operation.
      pool: (f) => `arithmetic:${f.op}`,
      perFact: 1,
    },
    {
      task: 'reverse',
      facts: words.map((w) => ({ key: w, slots: { x: w }, answer: [...w].reverse().join('') })),
      pool: 'reverse',
      perFact: 1,
      maxFacts: 2500,
    },
    {
      task: 'count-letters',
      facts: words.map((w) => ({ key: w, slots: { x: w }, answer: `${w.length}` })),
      pool: 'count-letters',
      perFact: 1,
      maxFacts: 2000,
    },
    {
      task: 'count-char',
      facts: draw(3000, () => {
        const w = pick(r, words);
        const c = r() < 0.8 ? pick(r, [...w]) : pick(r, [...'aeioustrnl']);
        return { key: `${w} ${c}`, slots: { x: w, c }, answer: `${[...w].filter((ch) => ch === c).length}` };
      }),
      pool: 'count-char',
      perFact: 1,
    },
    {
      task: 'compare',
      facts: draw(3000, () => {
        let a = num(), b = num();
        while (a === b) b = num();
        const larger = r() < 0.5;
        return { key: `${larger ? 'max' : 'min'} ${a} ${b}`, larger, slots: { a: `${a}`, b: `${b}` }, answer: `${larger ? Math.max(a, b) : Math.min(a, b)}` };
      }),
      pool: (f) => (f.larger ? 'compare:up' : 'compare:down'),
      perFact: 1,
    },
    {
      task: 'sort',
      facts: draw(2500, () => {
        const xs = list(int(r, 3, 6));
        const up = r() < 0.6;
        const sorted = [...xs].sort((p, q) => (up ? p - q : q - p));
        return { key: `${up ? 'asc' : 'desc'} ${xs.join(',')}`, up, slots: { list: xs.join(', ') }, answer: sorted.join(', ') };
      }),
      pool: (f) => (f.up ? 'sort:up' : 'sort:down'),
      perFact: 1,
    },
  ];
}

