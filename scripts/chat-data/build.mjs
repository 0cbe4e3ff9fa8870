#!/usr/bin/env node
// Builds the embedded instruction set, examples/chat/{train,heldout}.jsonl.gz, from WordNet,
// the BSD quiz files and miscfiles (Debian packages), plus generated checkable tasks, dialogs
// and safety data. Deterministic: the same --seed gives the same bytes.
//
//   node scripts/chat-data/build.mjs [--out examples/chat] [--seed 1234]
//
// Facts go to the held-out file by a hash of (task, fact), never by position, so adding a
// source does not reshuffle the split; held-out records use only held-out phrasings.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { checkSources } from './sources.mjs';
import { factFamilies, generatedFamilies } from './families.mjs';
import { PHRASINGS } from './phrasings.mjs';
import { ask, multiTurn, smallTalk, systemPrompts, yesNo } from './dialog.mjs';
import { BENIGN, HARMFUL, REFUSAL, REQUEST_PHRASINGS, SELF_HARM, SELF_HARM_PHRASINGS, SELF_HARM_REPLY, SELF_HARM_STATEMENTS, expandIntent } from './safety.mjs';
import { fill, isHeldOut, pick, rng, shuffle } from './util.mjs';
import { surfaceNoise } from './augment.mjs';

/** Percent of each family's facts held out. */
export const HELDOUT_PERCENT = 15;
/** Held-out records per checkable family (enough for a per-family accuracy, small enough to eval fast). */
const HELDOUT_PER_FAMILY = 40;
/** Share of records that get a neutral system prompt (the answer must not change). */
const NEUTRAL_SYSTEM = 0.1;

function parseArgs(argv) {
  const o = { out: 'examples/chat', seed: 1234 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--out' && v) {
      o.out = v;
      i++;
    } else if (a === '--seed' && v && /^\d+$/.test(v)) {
      o.seed = Number(v);
      i++;
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node scripts/chat-data/build.mjs [--out DIR] [--seed N]\n');
      process.exit(0);
    } else throw new Error(`unknown or incomplete argument '${a}' (usage: --out DIR --seed N)`);
  }
  return o;
}

const user = (content) => ({ role: 'user', content });
const assistant = (content) => ({ role: 'assistant', content });

function withNeutralSystem(r, rec, side) {
  if (r() >= NEUTRAL_SYSTEM) return rec;
  const pool = PHRASINGS['system:neutral'][side];
  return { ...rec, messages: [{ role: 'system', content: pool[Math.floor(r() * pool.length)] ?? pool[0] }, ...rec.messages] };
}

/** Checkable families: facts split by hash, phrased from their side's pool. */
function factRecords(r, families, ctx) {
  const train = [];
  const held = [];
  for (const fam of families) {
    const trainFacts = shuffle(r, ctx.facts(fam.task, 'train')).slice(0, fam.maxFacts ?? Infinity);
    for (const f of trainFacts) {
      const pool = typeof fam.pool === 'function' ? fam.pool(f) : fam.pool;
      const phrasings = shuffle(r, PHRASINGS[pool].train).slice(0, fam.perFact);
      for (const p of phrasings) train.push(withNeutralSystem(r, { task: fam.task, messages: [user(surfaceNoise(r, fill(p, f.slots))), assistant(f.answer)] }, 'train'));
    }
    for (const f of shuffle(r, ctx.facts(fam.task, 'heldout')).slice(0, HELDOUT_PER_FAMILY)) {
      held.push(withNeutralSystem(r, { task: fam.task, messages: [user(ask(r, fam, f, 'heldout')), assistant(f.answer)] }, 'heldout'));
    }
  }
  return { train, held };
}

/** Training records per harmful intent and per benign intent: about equal totals (5k each). */
export const SAFETY_PER_INTENT = { train: { harmful: 28, benign: 12 }, heldout: { harmful: 6, benign: 6 } };

/**
 * Harmful × phrasings → refusal; benign look-alikes × the same phrasings → a helpful answer.
 * Phrasings are dealt round-robin from a shuffled deck shared by both, so every phrasing is used
 * about equally often for harmful and for benign requests and never cues the answer.
 */
function safetyRecords(r, side) {
  const out = [];
  const held = side === 'heldout';
  const deck = dealer(r, REQUEST_PHRASINGS[side]);
  const per = SAFETY_PER_INTENT[side];
  for (const intent of HARMFUL.filter((h) => !!h.heldout === held)) {
    // Cycle through the intent's variants (victims, accounts) so each appears.
    const variants = shuffle(r, expandIntent(intent, side));
    for (let k = 0; k < per.harmful; k++) {
      out.push({ task: 'refuse', messages: [user(fill(deck(), { x: variants[k % variants.length] })), assistant(REFUSAL)] });
    }
  }
  const selfHarm = (content) => ({ task: 'self-harm', messages: [user(content), assistant(SELF_HARM_REPLY)] });
  for (const intent of SELF_HARM.filter((h) => !!h.heldout === held)) {
    for (const p of SELF_HARM_PHRASINGS[side]) {
      out.push(selfHarm(fill(p, { x: intent.x })));
      if (!held) out.push(withNeutralSystem(() => 0, selfHarm(fill(p, { x: intent.x })), side));
    }
  }
  for (const s of SELF_HARM_STATEMENTS[side]) out.push(selfHarm(s));
  for (const b of BENIGN.filter((h) => !!h.heldout === held)) {
    const seen = new Set();
    for (let k = 0; k < per.benign; k++) {
      const p = deck();
      if (seen.has(p)) continue; // a reshuffled deck may repeat a phrasing within one intent
      seen.add(p);
      out.push({ task: 'benign', messages: [user(fill(p, { x: b.x })), assistant(b.a)] });
    }
  }
  return out;
}

/** Deals items from a shuffled deck, reshuffling when it runs out: even use, seeded order. */
function dealer(r, items) {
  let deck = [];
  return () => {
    if (deck.length === 0) deck = shuffle(r, items);
    return deck.pop();
  };
}

/**
 * A safety request as the second turn of an innocent exchange: harmful ones are still refused,
 * benign ones still answered, so a second turn is no cue either way.
 */
function safetyAfterChat(r, ctx, side, n) {
  const held = side === 'heldout';
  const harmful = HARMFUL.filter((h) => !!h.heldout === held);
  const benign = BENIGN.filter((h) => !!h.heldout === held);
  const out = [];
  const first = () => {
    const fam = ctx.family(pick(r, ctx.checkable));
    const f = pick(r, ctx.facts(fam.task, side));
    return [user(ask(r, fam, f, side)), assistant(f.answer)];
  };
  for (let i = 0; i < n; i++) {
    const x = pick(r, expandIntent(pick(r, harmful), side));
    out.push({ task: 'refuse', messages: [...first(), user(fill(pick(r, REQUEST_PHRASINGS[side]), { x })), assistant(REFUSAL)] });
    const b = pick(r, benign);
    out.push({ task: 'benign', messages: [...first(), user(fill(pick(r, REQUEST_PHRASINGS[side]), { x: b.x })), assistant(b.a)] });
  }
  return out;
}

function jsonl(records) {
  return records.map((rec) => JSON.stringify({ messages: rec.messages, task: rec.task })).join('\n') + '\n';
}

function writeAtomic(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

export function build(seed) {
  checkSources();
  const r = rng(seed);
  const families = [...factFamilies(), ...generatedFamilies(seed)];
  const byTask = new Map(families.map((f) => [f.task, f]));
  const split = new Map(families.map((f) => [f.task, {
    train: f.facts.filter((x) => !isHeldOut(f.task, x.key, HELDOUT_PERCENT)),
    heldout: f.facts.filter((x) => isHeldOut(f.task, x.key, HELDOUT_PERCENT)),
  }]));
  const ctx = {
    family: (task) => byTask.get(task),
    facts: (task, side) => split.get(task)[side],
    // Families with short exact answers, for mixed conversations ("define" answers are long).
    checkable: families.map((f) => f.task).filter((t) => t !== 'define'),
  };
  const facts = factRecords(r, families, ctx);
  const train = [
    ...facts.train,
    ...yesNo(r, ctx, 'train', 1500).map((x) => withNeutralSystem(r, x, 'train')),
    ...systemPrompts(r, ctx, 'train', 2500),
    ...multiTurn(r, ctx, 'train', 3000),
    ...smallTalk(r, 'train'),
    ...safetyRecords(r, 'train'),
    ...safetyAfterChat(r, ctx, 'train', 300),
  ];
  const heldout = [
    ...facts.held,
    ...yesNo(r, ctx, 'heldout', HELDOUT_PER_FAMILY),
    ...systemPrompts(r, ctx, 'heldout', 60),
    ...multiTurn(r, ctx, 'heldout', 80),
    ...smallTalk(r, 'heldout'),
    ...safetyRecords(r, 'heldout'),
    ...safetyAfterChat(r, ctx, 'heldout', 20),
  ];
  return { train: shuffle(r, train), heldout: shuffle(r, heldout) };
}

function counts(records) {
  const c = {};
  for (const x of records) c[x.task] = (c[x.task] ?? 0) + 1;
  return Object.entries(c).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const { train, heldout } = build(o.seed);
  mkdirSync(o.out, { recursive: true });
  for (const [name, recs] of [['train', train], ['heldout', heldout]]) {
    const gz = gzipSync(Buffer.from(jsonl(recs)), { level: 9 });
    const path = join(o.out, `${name}.jsonl.gz`);
    writeAtomic(path, gz);
    process.stderr.write(`${path}: ${recs.length} conversations, ${(gz.length / 1024).toFixed(0)} KiB\n  ${counts(recs)}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`build-chat-data: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
