// Conversations beyond one question: yes/no questions answered in a sentence, system prompts that
// change the answer, multi-turn exchanges whose second question leans on the first, and small talk.
// Each draws its facts from one side of the split (train or held-out), so held-out conversations
// ask about facts and use phrasings the training file never has.
import { PHRASINGS, SMALL_TALK } from './phrasings.mjs';
import { fill, int, numberWords, pick } from './util.mjs';

const user = (content) => ({ role: 'user', content });
const assistant = (content) => ({ role: 'assistant', content });
const system = (content) => ({ role: 'system', content });

/** One question about a fact, phrased from the side's pool. */
export function ask(r, family, fact, side) {
  const pool = typeof family.pool === 'function' ? family.pool(fact) : family.pool;
  return fill(pick(r, PHRASINGS[pool][side]), fact.slots);
}

const phrase = (r, pool, side, slots = {}) => fill(pick(r, PHRASINGS[pool][side]), slots);
const backwards = (s) => [...s.toLowerCase()].reverse().join('');

/** A yes/no question about a capital or a chemical symbol: true half the time. */
function yesNoFact(r, ctx, side) {
  if (r() < 0.65) {
    const facts = ctx.facts('capital', side);
    const f = pick(r, facts);
    const yes = r() < 0.5;
    const c = yes ? f.answer : pick(r, ctx.facts('capital', 'train').filter((g) => g.answer !== f.answer)).answer;
    return {
      key: `capital ${f.key} ${c}`, yes,
      question: phrase(r, 'yes-no:capital', side, { x: f.key, c }),
      sentence: yes ? `Yes, ${f.answer} is the capital of ${f.key}.` : `No, the capital of ${f.key} is ${f.answer}.`,
    };
  }
  const f = pick(r, ctx.facts('element-symbol', side));
  const yes = r() < 0.5;
  const s = yes ? f.answer : pick(r, ctx.facts('element-symbol', 'train').filter((g) => g.answer !== f.answer)).answer;
  return {
    key: `element ${f.key} ${s}`, yes,
    question: phrase(r, 'yes-no:element', side, { x: f.key, s }),
    sentence: yes ? `Yes, the symbol for ${f.key} is ${f.answer}.` : `No, the symbol for ${f.key} is ${f.answer}.`,
  };
}

export function yesNo(r, ctx, side, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const q = yesNoFact(r, ctx, side);
    out.push({ task: 'yes-no', messages: [user(q.question), assistant(q.sentence)] });
  }
  return out;
}

/** System prompts that change the answer: yes/no only, numbers as words, answers backwards. */
export function systemPrompts(r, ctx, side, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const kind = pick(r, ['yes-no', 'words', 'backwards']);
    if (kind === 'yes-no') {
      const q = yesNoFact(r, ctx, side);
      out.push({ task: 'system', messages: [system(phrase(r, 'system:yes-no', side)), user(q.question), assistant(q.yes ? 'Yes' : 'No')] });
    } else if (kind === 'words') {
      // Small sums and products so the answer stays a short run of words.
      const fam = ctx.family('arithmetic');
      const small = ctx.facts('arithmetic', side).filter((f) => Number(f.answer) <= 999 && f.slots.a.length <= 2 && f.slots.b.length <= 2);
      const f = pick(r, small);
      out.push({ task: 'system', messages: [system(phrase(r, 'system:words', side)), user(ask(r, fam, f, side)), assistant(numberWords(Number(f.answer)))] });
    } else {
      const fam = ctx.family('capital');
      const f = pick(r, ctx.facts('capital', side));
      out.push({ task: 'system', messages: [system(phrase(r, 'system:backwards', side)), user(ask(r, fam, f, side)), assistant(backwards(f.answer))] });
    }
  }
  return out;
}

/** Families whose follow-up "And {y}?" asks the same question about another subject. */
const FOLLOW_UP = ['capital', 'state-capital', 'currency', 'element-symbol', 'element-number', 'collective', 'baby-animal', 'antonym', 'plural'];
/** Families whose answer can be spelled backwards in a second turn. */
const SPELLABLE = ['capital', 'state-capital', 'element-name', 'hypernym', 'plural', 'antonym'];

/** Two-turn conversations: the second question only makes sense with the first. Its answer is checked. */
export function multiTurn(r, ctx, side, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const kind = pick(r, ['follow-up', 'follow-up', 'chain', 'backwards', 'switch']);
    let messages;
    if (kind === 'follow-up') {
      const fam = ctx.family(pick(r, FOLLOW_UP));
      const a = pick(r, ctx.facts(fam.task, side));
      let b = pick(r, ctx.facts(fam.task, side));
      while (b.key === a.key) b = pick(r, ctx.facts(fam.task, side));
      messages = [user(ask(r, fam, a, side)), assistant(a.answer), user(phrase(r, 'followup', side, { y: b.slots.x })), assistant(b.answer)];
    } else if (kind === 'chain') {
      const fam = ctx.family('arithmetic');
      const small = ctx.facts('arithmetic', side).filter((f) => f.op === '+' && Number(f.answer) < 1000);
      const f = pick(r, small);
      const op = pick(r, ['*', '+']);
      const c = op === '*' ? int(r, 2, 9) : int(r, 1, 99);
      const result = op === '*' ? Number(f.answer) * c : Number(f.answer) + c;
      messages = [user(ask(r, fam, f, side)), assistant(f.answer), user(phrase(r, `chain:${op}`, side, { c: `${c}` })), assistant(`${result}`)];
    } else if (kind === 'backwards') {
      const fam = ctx.family(pick(r, SPELLABLE));
      const f = pick(r, ctx.facts(fam.task, side).filter((g) => /^[a-z ]+$/i.test(g.answer)));
      messages = [user(ask(r, fam, f, side)), assistant(f.answer), user(phrase(r, 'chain:reverse', side)), assistant(backwards(f.answer))];
    } else {
      // Two unrelated questions: the model must answer the last one, not repeat the first answer.
      const [fa, fb] = [ctx.family(pick(r, ctx.checkable)), ctx.family(pick(r, ctx.checkable))];
      const a = pick(r, ctx.facts(fa.task, side));
      const b = pick(r, ctx.facts(fb.task, side));
      messages = [user(ask(r, fa, a, side)), assistant(a.answer), user(ask(r, fb, b, side)), assistant(b.answer)];
    }
    out.push({ task: 'multi-turn', messages });
  }
  return out;
}

/** Greetings, thanks, "who are you": every phrasing of the side, alone and after a neutral system prompt. */
export function smallTalk(r, side) {
  const out = [];
  for (const t of SMALL_TALK) {
    for (const q of t[side]) {
      out.push({ task: 'chat', messages: [user(q), assistant(t.reply)] });
      if (side === 'train') for (const s of PHRASINGS['system:neutral'].train) out.push({ task: 'chat', messages: [system(s), user(q), assistant(t.reply)] });
    }
  }
  return out;
}
