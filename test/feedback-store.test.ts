import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-in-process.js';
import { integrityCheck, MIGRATIONS, openFeedbackDb, schemaVersion, type Db } from '../src/align/feedback/db.js';
import { feedbackStats, preferenceRecords } from '../src/align/feedback/export.js';
import { readPrompts, type PromptItem } from '../src/align/feedback/prompts.js';
import { ConflictError, FeedbackStore, sidesSwapped, type Origin } from '../src/align/feedback/store.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-feedback-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const file = (name = 'f'): string => join(root, `${name}-${n++}.sqlite`);

const origin = (sample: number): Origin => ({ model: '/m', seed: 7, sample, finishReason: 'stop', tokens: 3 });

function prompts(count: number): PromptItem[] {
  const p = join(root, `p-${n++}.jsonl`);
  writeFileSync(p, Array.from({ length: count }, (_, i) => JSON.stringify({ prompt: `question ${i}` })).join('\n'));
  return readPrompts(p);
}

/** A store with `count` prompts, each with a pair "one-i" / "two-i" under setup 's'. */
function seeded(count: number): { db: Db; store: FeedbackStore; order: number[]; pairs: number[] } {
  const db = openFeedbackDb(file());
  const store = new FeedbackStore(db);
  const order = store.addPrompts(prompts(count));
  const pairs = order.map((id, i) => store.addPair(id, 's', `one-${i}`, `two-${i}`, origin(0), origin(1)).id);
  return { db, store, order, pairs };
}

describe('feedback database', () => {
  it('is WAL, records its schema version, and upgrades with one more migration entry', () => {
    const path = file();
    const db = openFeedbackDb(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    new FeedbackStore(db).addPrompts(prompts(2));
    db.close();
    // Reopening applies nothing twice.
    const again = openFeedbackDb(path);
    expect((again.prepare('SELECT COUNT(*) AS n FROM schema_version').get() as { n: number }).n).toBe(MIGRATIONS.length);
    again.close();
    // A later llmforge adds migration 2: the data survives, the new column exists.
    const next = [...MIGRATIONS, { version: 2, description: 'vote duration', up: 'ALTER TABLE votes ADD COLUMN ms INTEGER' }];
    const up = openFeedbackDb(path, { migrations: next });
    expect(schemaVersion(up)).toBe(2);
    expect((up.prepare('SELECT COUNT(*) AS n FROM prompts').get() as { n: number }).n).toBe(2);
    expect(up.prepare("SELECT name FROM pragma_table_info('votes') WHERE name = 'ms'").get()).toBeDefined();
    up.close();
    // An older llmforge refuses the newer file, naming it.
    expect(() => openFeedbackDb(path)).toThrow(new RegExp(`${path}: schema version 2 is newer than this llmforge knows \\(1\\)`));
  });

  it('a failing migration leaves the file at the previous version', () => {
    const path = file();
    openFeedbackDb(path).close();
    const broken = [...MIGRATIONS, { version: 2, description: 'bad', up: 'ALTER TABLE votes ADD COLUMN x INTEGER; SELECT * FROM nope' }];
    expect(() => openFeedbackDb(path, { migrations: broken })).toThrow(/no such table: nope/);
    const db = openFeedbackDb(path);
    expect(schemaVersion(db)).toBe(1);
    expect(db.prepare("SELECT name FROM pragma_table_info('votes') WHERE name = 'x'").get()).toBeUndefined();
    db.close();
  });

  it('names the file when it is missing or not a database', () => {
    const missing = join(root, 'missing.sqlite');
    expect(() => openFeedbackDb(missing, { mustExist: true })).toThrow(`${missing}: no such file`);
    expect(existsSync(missing)).toBe(false);
    const junk = join(root, 'junk.sqlite');
    writeFileSync(junk, 'this is not sqlite at all, just some text that is long enough to look like a header'.repeat(20));
    expect(() => openFeedbackDb(junk)).toThrow(`${junk}: not a SQLite database`);
  });
});

describe('feedback store', () => {
  it('moves each annotator through the prompts; undo moves them back; one live vote per pair', () => {
    const { db, store, order, pairs } = seeded(3);
    expect(store.next('ann', 's', order)).toEqual({ upcoming: [order[0]], done: 0 });
    store.vote({ annotator: 'ann', pairId: pairs[0], choice: 'A', swapped: false, written: null });
    expect(store.next('ann', 's', order, 5)).toEqual({ upcoming: [order[1], order[2]], done: 1 });
    // Another annotator starts at the beginning; a setup's votes do not count for another setup.
    expect(store.next('bob', 's', order).upcoming).toEqual([order[0]]);
    expect(store.next('ann', 'other', order).upcoming).toEqual([order[0]]);
    expect(() => store.vote({ annotator: 'ann', pairId: pairs[0], choice: 'B', swapped: false, written: null })).toThrow(ConflictError);
    expect(() => store.vote({ annotator: 'ann', pairId: 999, choice: 'B', swapped: false, written: null })).toThrow(/no pair with id 999/);
    store.vote({ annotator: 'ann', pairId: pairs[1], choice: 'skip', swapped: true, written: null });
    expect(store.undo('ann', 's')?.pairId).toBe(pairs[1]);
    expect(store.next('ann', 's', order).upcoming).toEqual([order[1]]);
    store.vote({ annotator: 'ann', pairId: pairs[1], choice: 'tie', swapped: true, written: null });
    expect(store.undo('bob', 's')).toBeNull();
    const a = db.prepare("SELECT live_votes FROM annotators WHERE name = 'ann'").get() as { live_votes: number };
    expect(a.live_votes).toBe(2);
    expect(integrityCheck(db)).toBe('ok');
    db.close();
  });

  it('a failed vote leaves nothing behind (one transaction)', () => {
    const { db, store, pairs } = seeded(1);
    store.vote({ annotator: 'ann', pairId: pairs[0], choice: 'A', swapped: false, written: null });
    expect(() => store.vote({ annotator: 'ann', pairId: pairs[0], choice: 'A', swapped: false, written: null })).toThrow(ConflictError);
    expect((db.prepare('SELECT COUNT(*) AS n FROM votes').get() as { n: number }).n).toBe(1);
    expect((db.prepare("SELECT live_votes FROM annotators WHERE name = 'ann'").get() as { live_votes: number }).live_votes).toBe(1);
    db.close();
  });

  it('the side shuffle is seeded and mixes', () => {
    const flips = Array.from({ length: 200 }, (_, i) => sidesSwapped(1, i + 1, 'ann'));
    expect(flips.filter(Boolean).length).toBeGreaterThan(70);
    expect(flips.filter(Boolean).length).toBeLessThan(130);
    expect(Array.from({ length: 200 }, (_, i) => sidesSwapped(1, i + 1, 'ann'))).toEqual(flips);
    expect(Array.from({ length: 200 }, (_, i) => sidesSwapped(2, i + 1, 'ann'))).not.toEqual(flips);
  });
});

describe('prompts file', () => {
  const bad = (text: string, msg: RegExp): void => {
    const p = join(root, `bad-${n++}.jsonl`);
    writeFileSync(p, text);
    expect(() => readPrompts(p)).toThrow(msg);
  };
  it('reads messages or prompt lines, skips blanks and duplicates', () => {
    const p = join(root, 'ok.jsonl');
    writeFileSync(p, [
      JSON.stringify({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }),
      '',
      JSON.stringify({ prompt: 'Name a river.', task: 'x' }),
      JSON.stringify({ messages: [{ role: 'user', content: 'Name a river.' }] }),
    ].join('\r\n'));
    const items = readPrompts(p);
    expect(items.map((i) => i.source)).toEqual([`${p}:1`, `${p}:3`]);
    expect(items[1].messages).toEqual([{ role: 'user', content: 'Name a river.' }]);
  });
  it('a malformed line stops with file:line and the field', () => {
    bad('{"prompt":"a"}\n{"prompt":', /bad-\d+\.jsonl:2: not valid JSON/);
    bad('[1]', /:1: expected a JSON object/);
    bad('{"text":"a"}', /:1: expected a "messages" array or a "prompt" string/);
    bad('{"prompt":"  "}', /:1: "prompt" must be a non-empty string/);
    bad('{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}', /:1: "messages" must end with a user turn/);
    bad('{"messages":[{"role":"bot","content":"a"}]}', /:1: "messages"\[0\]\.role must be "system", "user" or "assistant", got "bot"/);
    bad('{"messages":[{"role":"user","content":3}]}', /:1: "messages"\[0\]\.content must be a string/);
    bad('{"messages":[{"role":"user","content":"a"},{"role":"system","content":"b"},{"role":"user","content":"c"}]}', /"messages"\[1\]: a system message may only come first/);
    bad('\n\n', /no prompts/);
    expect(() => readPrompts(join(root, 'none.jsonl'))).toThrow(/none\.jsonl: no such file/);
  });
});

describe('feedback serve flags', () => {
  it('are checked before anything starts', async () => {
    const fails = (args: string[], msg: RegExp) => expect(runCli(['feedback', 'serve', ...args])).rejects.toThrow(msg);
    await fails(['--prompts', 'p.jsonl', '--db', 'f.sqlite'], /--model is required/);
    await fails(['--model', 'm', '--db', 'f.sqlite'], /--prompts is required/);
    await fails(['--model', 'm', '--prompts', 'p.jsonl'], /--db is required/);
    await fails(['--model', 'm', '--prompts', 'p', '--db', 'f', '--port', '70000'], /--port.*must be between 0 and 65535/);
    await fails(['--model', 'm', '--prompts', 'p', '--db', 'f', '--top-p', '0'], /--top-p.*must be in \(0, 1\]/);
    await fails(['--model', 'm', '--prompts', 'p', '--db', 'f', '--ahead', '99'], /--ahead.*between 0 and 16/);
    await fails(['--model', 'm', '--prompts', join(root, 'missing.jsonl'), '--db', 'f'], /missing\.jsonl: no such file/);
  });
});

describe('export and stats', () => {
  it('one record per A/B decision, written replies chosen, ties, skips and bare both-bad left out', async () => {
    const { db, store, pairs } = seeded(6);
    const v = (annotator: string, i: number, choice: 'A' | 'B' | 'tie' | 'both_bad' | 'skip', swapped: boolean, written: string | null = null) =>
      store.vote({ annotator, pairId: pairs[i], choice, swapped, written });
    v('ann', 0, 'A', false); // one-0 over two-0
    v('ann', 1, 'A', true); // side A showed reply 2: two-1 over one-1
    v('ann', 2, 'B', false, 'better-2'); // written replaces B: better-2 over one-2 (side A)
    v('ann', 3, 'both_bad', true, 'better-3'); // over both
    v('ann', 4, 'tie', false);
    v('ann', 5, 'skip', false);
    v('bob', 0, 'both_bad', false); // no written reply: nothing
    v('bob', 1, 'B', false); // undone below
    store.undo('bob', 's');
    const recs = preferenceRecords(db);
    expect(recs.map((r) => [r.chosen, r.rejected, r.annotator])).toEqual([
      ['one-0', 'two-0', 'ann'],
      ['two-1', 'one-1', 'ann'],
      ['better-2', 'one-2', 'ann'],
      ['better-3', 'two-3', 'ann'],
      ['better-3', 'one-3', 'ann'],
    ]);
    expect(recs[0]).toEqual({ prompt: [{ role: 'user', content: 'question 0' }], chosen: 'one-0', rejected: 'two-0', annotator: 'ann', source: 'human' });

    const path = db.name;
    db.close();
    const out = join(root, 'prefs.jsonl');
    writeFileSync(out, 'old content\n');
    const { stdout } = await runCli(['feedback', 'export', '--db', path, '--out', out, '--json']);
    expect(JSON.parse(stdout)).toEqual({ out, records: 5 });
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { chosen: string; source: string });
    expect(lines.map((l) => l.chosen)).toEqual(['one-0', 'two-1', 'better-2', 'better-3', 'better-3']);
    expect(lines.every((l) => l.source === 'human')).toBe(true);
    // A failed export leaves the old file as it was.
    await expect(runCli(['feedback', 'export', '--db', join(root, 'nope.sqlite'), '--out', out])).rejects.toThrow(/nope\.sqlite: no such file/);
    expect(readFileSync(out, 'utf8').split('\n')).toHaveLength(6);
    await expect(runCli(['feedback', 'export', '--db', path, '--out', join(root, 'no-dir', 'x.jsonl')])).rejects.toThrow(/--out .*no-dir.*x\.jsonl/);
    // Options from --config; required flags checked after it.
    const cfg = join(root, 'export.json');
    const out2 = join(root, 'prefs2.jsonl');
    writeFileSync(cfg, JSON.stringify({ db: path, out: out2 }));
    await runCli(['feedback', 'export', '--config', cfg]);
    expect(readFileSync(out2, 'utf8')).toBe(readFileSync(out, 'utf8'));
    await expect(runCli(['feedback', 'export', '--out', out2])).rejects.toThrow(/--db is required/);
    await expect(runCli(['feedback', 'stats'])).rejects.toThrow(/--db is required/);
  });

  it('agreement counts pairs of annotators on the same pair, whatever side each saw', async () => {
    const { db, store, pairs } = seeded(3);
    const v = (annotator: string, i: number, choice: 'A' | 'B' | 'tie' | 'both_bad' | 'skip', swapped: boolean) =>
      store.vote({ annotator, pairId: pairs[i], choice, swapped, written: null });
    // Pair 0: ann and bob both prefer reply 1 (bob saw it on side B); cy says tie → 1 of 3 comparisons agree.
    v('ann', 0, 'A', false);
    v('bob', 0, 'B', true);
    v('cy', 0, 'tie', false);
    // Pair 1: ann reply 1, bob reply 2 → disagree; cy skips (not counted).
    v('ann', 1, 'A', false);
    v('bob', 1, 'A', true);
    v('cy', 1, 'skip', false);
    // Pair 2: only ann.
    v('ann', 2, 'both_bad', false);
    const s = feedbackStats(db);
    expect(s.agreement).toEqual({
      shared_pairs: 2, comparisons: 4, agreements: 1, agreement: 0.25,
      preference_comparisons: 2, preference_agreements: 1, preference_agreement: 0.5,
    });
    expect(s.annotators.map((a) => [a.annotator, a.votes, a.a_or_b, a.tie, a.both_bad, a.skip])).toEqual([
      ['ann', 3, 2, 0, 1, 0], ['bob', 2, 2, 0, 0, 0], ['cy', 2, 0, 1, 0, 1],
    ]);
    expect(s.totals).toEqual({ votes: 7, pairs_judged: 3, preference_records: 4 });
    const path = db.name;
    db.close();
    const { stdout } = await runCli(['feedback', 'stats', '--db', path]);
    expect(stdout).toMatch(/7 live votes on 3 pairs; 4 preference records/);
    expect(stdout).toMatch(/agreement: 25\.0% \(1 of 4 comparisons on 2 shared pairs\); on A\/B decisions: 50\.0% \(1 of 2\)/);
    expect(stdout).toMatch(/^ann\s+3\s+2\s+0\s+1\s+0\s+0\s+0$/m);
    const j = JSON.parse((await runCli(['feedback', 'stats', '--db', path, '--json'])).stdout) as { agreement: { agreement: number } };
    expect(j.agreement.agreement).toBe(0.25);
  });
});
