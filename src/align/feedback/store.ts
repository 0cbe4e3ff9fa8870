/**
 * What the server reads and writes: prompts, generated pairs, votes. Every write that
 * belongs together is one transaction. The "next item" of an annotator is not a separate
 * cursor that could drift from the votes: it is the first prompt, in file order, without a
 * live vote by that annotator for this setup's pair. Committing a vote therefore moves the
 * annotator on in the same transaction (with the annotator's counters), and undo moves
 * them back by marking their latest vote undone.
 */
import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import type { ChatMessage } from '../../model/chat.js';
import type { PromptItem } from './prompts.js';

export type Choice = 'A' | 'B' | 'tie' | 'both_bad' | 'skip';
export const CHOICES: readonly Choice[] = ['A', 'B', 'tie', 'both_bad', 'skip'];

/** Where a reply came from: enough to regenerate it. */
export interface Origin {
  model: string;
  /** The generation seed and the sequence's index in that generation. */
  seed: number;
  sample: number;
  finishReason: string;
  tokens: number;
}

export interface Pair {
  id: number;
  promptId: number;
  reply1: string;
  reply2: string;
  origin1: Origin;
  origin2: Origin;
}

export interface NewVote {
  annotator: string;
  pairId: number;
  choice: Choice;
  /** 1: side A showed reply_2. */
  swapped: boolean;
  written: string | null;
}

/** A vote that cannot be taken as it stands (HTTP 409). */
export class ConflictError extends Error {}

/** Whether an annotator sees reply_2 on side A for this pair: a seeded coin, the same on every request. */
export function sidesSwapped(seed: number, pairId: number, annotator: string): boolean {
  return (createHash('sha256').update(`${seed}:${pairId}:${annotator}`).digest()[0] & 1) === 1;
}

interface PairRow {
  id: number;
  prompt_id: number;
  reply_1: string;
  reply_2: string;
  origin_1: string;
  origin_2: string;
}

function toPair(r: PairRow): Pair {
  return {
    id: r.id, promptId: r.prompt_id, reply1: r.reply_1, reply2: r.reply_2,
    origin1: JSON.parse(r.origin_1) as Origin, origin2: JSON.parse(r.origin_2) as Origin,
  };
}

const now = (): string => new Date().toISOString();

export class FeedbackStore {
  constructor(readonly db: Db) {}

  /** Records the prompts (known ones keep their id) and returns their ids in order. */
  addPrompts(items: readonly PromptItem[]): number[] {
    const insert = this.db.prepare('INSERT OR IGNORE INTO prompts (hash, messages, source, created_at) VALUES (?, ?, ?, ?)');
    const find = this.db.prepare('SELECT id FROM prompts WHERE hash = ?');
    return this.db.transaction(() =>
      items.map((p) => {
        insert.run(p.hash, JSON.stringify(p.messages), p.source, now());
        return (find.get(p.hash) as { id: number }).id;
      }),
    )();
  }

  messages(promptId: number): ChatMessage[] {
    const r = this.db.prepare('SELECT messages FROM prompts WHERE id = ?').get(promptId) as { messages: string } | undefined;
    if (r === undefined) throw new Error(`no prompt with id ${promptId}`);
    return JSON.parse(r.messages) as ChatMessage[];
  }

  findPair(promptId: number, setup: string): Pair | null {
    const r = this.db.prepare('SELECT * FROM pairs WHERE prompt_id = ? AND setup = ?').get(promptId, setup) as PairRow | undefined;
    return r === undefined ? null : toPair(r);
  }

  pair(id: number): Pair | null {
    const r = this.db.prepare('SELECT * FROM pairs WHERE id = ?').get(id) as PairRow | undefined;
    return r === undefined ? null : toPair(r);
  }

  /** Stores a generated pair; if one exists already for this prompt and setup, that one wins. */
  addPair(promptId: number, setup: string, reply1: string, reply2: string, origin1: Origin, origin2: Origin): Pair {
    this.db.prepare(`INSERT OR IGNORE INTO pairs (prompt_id, setup, reply_1, reply_2, origin_1, origin_2, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`).run(promptId, setup, reply1, reply2, JSON.stringify(origin1), JSON.stringify(origin2), now());
    return this.findPair(promptId, setup) as Pair;
  }

  /** Prompt ids (of `order`) the annotator has a live vote on under this setup. */
  judged(annotator: string, setup: string): Set<number> {
    const rows = this.db.prepare(`SELECT p.prompt_id AS id FROM votes v JOIN pairs p ON p.id = v.pair_id
      WHERE v.annotator = ? AND v.undone_at IS NULL AND p.setup = ?`).all(annotator, setup) as Array<{ id: number }>;
    return new Set(rows.map((r) => r.id));
  }

  /** The annotator's next prompts in `order` (up to `count`), and how many of `order` they have judged. */
  next(annotator: string, setup: string, order: readonly number[], count = 1): { upcoming: number[]; done: number } {
    const judged = this.judged(annotator, setup);
    const upcoming: number[] = [];
    let done = 0;
    for (const id of order) {
      if (judged.has(id)) done++;
      else if (upcoming.length < count) upcoming.push(id);
    }
    return { upcoming, done };
  }

  /** Commits one vote (and the annotator's counters) as one transaction; returns its id. */
  vote(v: NewVote): number {
    const tx = this.db.transaction((): number => {
      if (this.pair(v.pairId) === null) throw new ConflictError(`no pair with id ${v.pairId}`);
      const t = now();
      this.db.prepare('INSERT OR IGNORE INTO annotators (name) VALUES (?)').run(v.annotator);
      let id: number;
      try {
        id = Number(this.db.prepare(`INSERT INTO votes (pair_id, annotator, choice, swapped, written, created_at)
          VALUES (?, ?, ?, ?, ?, ?)`).run(v.pairId, v.annotator, v.choice, v.swapped ? 1 : 0, v.written, t).lastInsertRowid);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
          throw new ConflictError(`${v.annotator} has already judged pair ${v.pairId} (undo first to change the vote)`);
        }
        throw err;
      }
      this.db.prepare('UPDATE annotators SET live_votes = live_votes + 1, last_vote_at = ? WHERE name = ?').run(t, v.annotator);
      return id;
    });
    return tx();
  }

  /** Undoes the annotator's latest live vote under this setup; returns it (pair, written reply), or null if none. */
  undo(annotator: string, setup: string): { voteId: number; pairId: number; written: string | null } | null {
    return this.db.transaction(() => {
      const last = this.db.prepare(`SELECT v.id, v.pair_id, v.written FROM votes v JOIN pairs p ON p.id = v.pair_id
        WHERE v.annotator = ? AND v.undone_at IS NULL AND p.setup = ? ORDER BY v.id DESC LIMIT 1`).get(annotator, setup) as
        { id: number; pair_id: number; written: string | null } | undefined;
      if (last === undefined) return null;
      this.db.prepare('UPDATE votes SET undone_at = ? WHERE id = ?').run(now(), last.id);
      this.db.prepare('UPDATE annotators SET live_votes = live_votes - 1 WHERE name = ?').run(annotator);
      return { voteId: last.id, pairId: last.pair_id, written: last.written };
    })();
  }
}
