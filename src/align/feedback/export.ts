/**
 * From votes to training data and numbers.
 *
 * Export: one preference record per A/B decision of a live (not undone) vote.
 *   "A is better" / "B is better"  chosen = the winning side (or the annotator's written
 *                                  reply, which replaces it), rejected = the other side
 *   "Both bad" + a written reply   the written reply is chosen over each side: two records
 *                                  (both candidates were judged worse than it)
 *   "Both bad" alone, "Tie", "Skip" nothing: there is no preferred reply
 * A record whose chosen and rejected texts are equal says nothing and is left out.
 *
 * Agreement: over the pairs judged by two or more annotators (skips left out), every two
 * annotators of a pair make one comparison; they agree when they gave the same outcome —
 * reply 1 better, reply 2 better (whatever side each saw it on), tie, or both bad.
 * agreement = agreeing comparisons / comparisons. Preference agreement is the same count
 * restricted to comparisons where both made an A/B decision.
 */
import type { Db } from './db.js';
import type { ChatMessage } from '../../model/chat.js';
import type { Choice } from './store.js';

export interface PreferenceRecord {
  prompt: ChatMessage[];
  chosen: string;
  rejected: string;
  annotator: string;
  source: 'human';
}

interface LiveVote {
  id: number;
  pair_id: number;
  annotator: string;
  choice: Choice;
  swapped: number;
  written: string | null;
  reply_1: string;
  reply_2: string;
  messages: string;
}

function liveVotes(db: Db): LiveVote[] {
  return db.prepare(`SELECT v.id, v.pair_id, v.annotator, v.choice, v.swapped, v.written, p.reply_1, p.reply_2, q.messages
    FROM votes v JOIN pairs p ON p.id = v.pair_id JOIN prompts q ON q.id = p.prompt_id
    WHERE v.undone_at IS NULL ORDER BY v.id`).all() as LiveVote[];
}

export function preferenceRecords(db: Db): PreferenceRecord[] {
  const out: PreferenceRecord[] = [];
  for (const v of liveVotes(db)) {
    const a = v.swapped ? v.reply_2 : v.reply_1;
    const b = v.swapped ? v.reply_1 : v.reply_2;
    const written = v.written !== null && v.written.trim() !== '' ? v.written : null;
    const prompt = JSON.parse(v.messages) as ChatMessage[];
    const add = (chosen: string, rejected: string): void => {
      if (chosen !== rejected) out.push({ prompt, chosen, rejected, annotator: v.annotator, source: 'human' });
    };
    if (v.choice === 'A') add(written ?? a, b);
    else if (v.choice === 'B') add(written ?? b, a);
    else if (v.choice === 'both_bad' && written !== null) {
      add(written, a);
      if (b !== a) add(written, b);
    }
  }
  return out;
}

export function preferencesJsonl(db: Db): string {
  return preferenceRecords(db).map((r) => `${JSON.stringify(r)}\n`).join('');
}

export interface AnnotatorStats {
  annotator: string;
  /** Live votes of every kind, skips included. */
  votes: number;
  a_or_b: number;
  tie: number;
  both_bad: number;
  skip: number;
  written: number;
  undone: number;
}

export interface AgreementStats {
  /** Pairs judged (not skipped) by two or more annotators. */
  shared_pairs: number;
  comparisons: number;
  agreements: number;
  /** agreements / comparisons, null with no comparisons. */
  agreement: number | null;
  preference_comparisons: number;
  preference_agreements: number;
  preference_agreement: number | null;
}

export interface FeedbackStats {
  annotators: AnnotatorStats[];
  totals: { votes: number; pairs_judged: number; preference_records: number };
  agreement: AgreementStats;
}

type Outcome = 'reply_1' | 'reply_2' | 'tie' | 'both_bad';

function outcome(v: { choice: Choice; swapped: number }): Outcome | null {
  if (v.choice === 'A') return v.swapped ? 'reply_2' : 'reply_1';
  if (v.choice === 'B') return v.swapped ? 'reply_1' : 'reply_2';
  if (v.choice === 'skip') return null;
  return v.choice;
}

const pairsOf = (n: number): number => (n * (n - 1)) / 2;

export function feedbackStats(db: Db): FeedbackStats {
  const votes = liveVotes(db);
  const undone = new Map((db.prepare('SELECT annotator, COUNT(*) AS n FROM votes WHERE undone_at IS NOT NULL GROUP BY annotator').all() as
    Array<{ annotator: string; n: number }>).map((r) => [r.annotator, r.n]));
  const per = new Map<string, AnnotatorStats>();
  const names = new Set([...votes.map((v) => v.annotator), ...undone.keys()]);
  for (const name of [...names].sort()) {
    per.set(name, { annotator: name, votes: 0, a_or_b: 0, tie: 0, both_bad: 0, skip: 0, written: 0, undone: undone.get(name) ?? 0 });
  }
  const byPair = new Map<number, Outcome[]>();
  for (const v of votes) {
    const s = per.get(v.annotator) as AnnotatorStats;
    s.votes++;
    if (v.choice === 'A' || v.choice === 'B') s.a_or_b++;
    else s[v.choice]++;
    if (v.written !== null && v.written.trim() !== '') s.written++;
    const o = outcome(v);
    if (o === null) continue;
    const list = byPair.get(v.pair_id) ?? [];
    list.push(o);
    byPair.set(v.pair_id, list);
  }
  const ag: AgreementStats = {
    shared_pairs: 0, comparisons: 0, agreements: 0, agreement: null,
    preference_comparisons: 0, preference_agreements: 0, preference_agreement: null,
  };
  for (const list of byPair.values()) {
    if (list.length < 2) continue;
    ag.shared_pairs++;
    ag.comparisons += pairsOf(list.length);
    const count = (o: Outcome): number => list.filter((x) => x === o).length;
    ag.agreements += (['reply_1', 'reply_2', 'tie', 'both_bad'] as const).reduce((n, o) => n + pairsOf(count(o)), 0);
    const r1 = count('reply_1');
    const r2 = count('reply_2');
    ag.preference_comparisons += pairsOf(r1 + r2);
    ag.preference_agreements += pairsOf(r1) + pairsOf(r2);
  }
  if (ag.comparisons > 0) ag.agreement = ag.agreements / ag.comparisons;
  if (ag.preference_comparisons > 0) ag.preference_agreement = ag.preference_agreements / ag.preference_comparisons;
  return {
    annotators: [...per.values()],
    totals: { votes: votes.length, pairs_judged: new Set(votes.map((v) => v.pair_id)).size, preference_records: preferenceRecords(db).length },
    agreement: ag,
  };
}
