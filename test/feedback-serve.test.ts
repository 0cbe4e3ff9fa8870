import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyChatRun, writePrompts } from './feedback-helpers.js';
import { integrityCheck, openFeedbackDb } from '../src/align/feedback/db.js';
import { startFeedbackServer, type FeedbackServer, type ServeOptions } from '../src/align/feedback/server.js';
import { GPT } from '../src/nn/gpt.js';
import { preset } from '../src/nn/config.js';
import { saveCheckpoint } from '../src/model/checkpoint.js';
import { trainTokenizer } from '../src/tokenizer/index.js';

const root = mkdtempSync(join(tmpdir(), 'llmforge-feedback-serve-'));
const runA = join(root, 'run-a');
const runB = join(root, 'run-b');
const promptsFile = join(root, 'prompts.jsonl');
const built = existsSync(join(__dirname, '..', 'dist', 'align', 'feedback', 'worker.js'));
let db = 0;
const newDb = (): string => join(root, `f-${db++}.sqlite`);

beforeAll(async () => {
  await tinyChatRun(runA, 4);
  await tinyChatRun(runB, 9);
  writePrompts(promptsFile, 4);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const sampling = { maxNewTokens: 12, temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 };
const options = (o: Partial<ServeOptions> = {}): ServeOptions => ({
  models: [runA], prompts: promptsFile, db: newDb(), host: '127.0.0.1', port: 0, seed: 3, sampling, threads: 1, ...o,
});

interface Next { done: boolean; pair_id: number; prompt: Array<{ role: string; content: string }>; a: string; b: string; n: number; total: number }

async function call<T>(url: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(url + path.replace(/^\//, ''), body === undefined ? {} : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as T };
}
const next = async (url: string, who: string): Promise<Next> => (await call<Next>(url, `/api/next?annotator=${encodeURIComponent(who)}`)).json;

describe.skipIf(!built)('feedback serve (HTTP API)', () => {
  let s: FeedbackServer;
  afterAll(async () => s?.close());

  it('serves pairs in file order, takes votes, undo, validates every body, and ends with done', async () => {
    s = await startFeedbackServer(options());
    const url = s.url;
    const page = await fetch(url);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('data-side="A"');

    const first = await next(url, 'ann');
    // Generated ahead: the pairs of the next two prompts appear without anyone asking, and no more.
    const pairs = (): number => (s.store.db.prepare('SELECT COUNT(*) AS n FROM pairs').get() as { n: number }).n;
    for (let t = 0; t < 200 && pairs() < 3; t++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    expect(pairs()).toBe(3);
    expect(first).toMatchObject({ done: false, n: 1, total: 4, prompt: [{ role: 'user', content: 'Who begat the son 0?' }] });
    expect(first.a).not.toBe(first.b);
    // Another annotator gets the same pair (so agreement can be measured), maybe on other sides.
    const other = await next(url, 'bob');
    expect(other.pair_id).toBe(first.pair_id);
    expect([other.a, other.b].sort()).toEqual([first.a, first.b].sort());

    const bad = async (body: unknown, status: number, msg: RegExp): Promise<void> => {
      const r = await call<{ error: string }>(url, '/api/vote', body);
      expect(r.status).toBe(status);
      expect(r.json.error).toMatch(msg);
    };
    const id = first.pair_id;
    await bad({ annotator: 'ann', pair_id: id, choice: 'C' }, 400, /body\/choice must be equal to one of the allowed values/);
    await bad({ annotator: '', pair_id: id, choice: 'A' }, 400, /body\/annotator must NOT have fewer than 1 characters/);
    await bad({ annotator: 'ann', pair_id: 'x', choice: 'A' }, 400, /body\/pair_id must be integer/);
    await bad({ annotator: 'ann', choice: 'A' }, 400, /must have required property 'pair_id'/);
    await bad({ annotator: 'ann', pair_id: id, choice: 'A', extra: 1 }, 400, /must NOT have additional properties/);
    await bad({ annotator: 'ann', pair_id: id, choice: 'tie', written: 'mine' }, 400, /written: a better reply goes with/);
    await bad({ annotator: 'ann', pair_id: 9999, choice: 'A' }, 409, /pair_id 9999: not a pair of this session/);
    expect((await call<{ error: string }>(url, '/api/next')).status).toBe(400);

    const v1 = await call<{ vote_id: number }>(url, '/api/vote', { annotator: 'ann', pair_id: id, choice: 'A', written: 'My reply.' });
    expect(v1.status).toBe(200);
    await bad({ annotator: 'ann', pair_id: id, choice: 'B' }, 409, /already judged pair/);
    const second = await next(url, 'ann');
    expect(second.n).toBe(2);
    expect(second.pair_id).not.toBe(id);
    // Undo brings the first pair back.
    expect((await call<{ undone: number }>(url, '/api/undo', { annotator: 'ann' })).json.undone).toBe(id);
    expect((await next(url, 'ann')).pair_id).toBe(id);
    for (let i = 0; i < 4; i++) {
      const n = await next(url, 'ann');
      expect(n.n).toBe(i + 1);
      expect((await call(url, '/api/vote', { annotator: 'ann', pair_id: n.pair_id, choice: i === 1 ? 'skip' : 'B' })).status).toBe(200);
    }
    expect(await next(url, 'ann')).toEqual({ done: true, n: 4, total: 4 });
    expect(s.queue.size).toBe(0);
    expect(s.queue.generated).toBe(4);
    const stored = s.store.db.prepare("SELECT choice, swapped, written FROM votes WHERE annotator = 'ann' ORDER BY id").all();
    expect(stored).toHaveLength(5);
    expect(stored[0]).toMatchObject({ choice: 'A', written: 'My reply.' });
  });

  it('the same seed gives the same pairs; a restart reuses stored pairs; two models compare', async () => {
    const path = newDb();
    // Nothing generated ahead, so a pair stored by the first server is the only one there is.
    const a = await startFeedbackServer(options({ db: path, ahead: 0 }));
    const p1 = await next(a.url, 'ann');
    await a.close();
    const again = await startFeedbackServer(options({ db: path, ahead: 0 }));
    const p2 = await next(again.url, 'ann');
    expect(p2).toEqual(p1);
    expect(again.queue.generated).toBe(0);
    await again.close();
    const fresh = await startFeedbackServer(options());
    expect([(await next(fresh.url, 'ann')).a, (await next(fresh.url, 'ann')).b].sort()).toEqual([p1.a, p1.b].sort());
    await fresh.close();

    const ab = await startFeedbackServer(options({ models: [runA, runB], sampling: { ...sampling, temperature: 0 } }));
    const item = await next(ab.url, 'ann');
    const pair = ab.store.pair(item.pair_id);
    expect(pair?.origin1.model).toMatch(/run-a/);
    expect(pair?.origin2.model).toMatch(/run-b/);
    expect([item.a, item.b].sort()).toEqual([pair?.reply1, pair?.reply2].sort());
    await ab.close();
  });

  it('bad setups fail before serving, naming the flag, file or line', async () => {
    await expect(startFeedbackServer(options({ sampling: { ...sampling, temperature: 0 } }))).rejects.toThrow(/--temperature 0 with one model/);
    const long = join(root, 'long.jsonl');
    writeFileSync(long, `${JSON.stringify({ prompt: 'ok' })}\n${JSON.stringify({ prompt: 'the '.repeat(80) })}\n`);
    await expect(startFeedbackServer(options({ prompts: long }))).rejects.toThrow(/long\.jsonl:2: the prompt is \d+ tokens in the chat format, leaving no room/);
    await expect(startFeedbackServer(options({ models: [join(root, 'nope')] }))).rejects.toThrow(/--model .*nope: no such directory/);
    const taken = await startFeedbackServer(options());
    const port = Number(new URL(taken.url).port);
    try {
      await expect(startFeedbackServer(options({ port }))).rejects.toThrow(`--host 127.0.0.1 --port ${port}: cannot listen (the port is in use)`);
    } finally {
      await taken.close();
    }
    // A tokenizer without the chat tokens.
    const plain = join(root, 'plain');
    const tok = await trainTokenizer({ texts: ['In the beginning God created the heaven and the earth.'], vocabSize: 270, specialTokens: ['<|bos|>'], progress: false });
    saveCheckpoint(plain, 'step-000001', { model: new GPT({ ...preset('tiny'), vocabSize: 272, contextLength: 32 }).init(1), tokenizerJson: tok.toTokenizerJson() });
    await expect(startFeedbackServer(options({ models: [plain] }))).rejects.toThrow(/--model .*plain: the tokenizer has no '<\|system\|>' special token/);
  });
});

/** Starts `llmforge feedback serve` as a real process; resolves with its URL. */
function serveProcess(dbPath: string): Promise<{ url: string; child: ReturnType<typeof spawn> }> {
  const bin = join(__dirname, '..', 'bin', 'llmforge.js');
  const child = spawn(process.execPath, [bin, 'feedback', 'serve', '--model', runA, '--prompts', promptsFile, '--db', dbPath,
    '--port', '0', '--max-tokens', '8', '--threads', '1', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += String(d)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (l) => resolve({ url: (JSON.parse(l) as { url: string }).url, child }));
    child.once('exit', (code) => reject(new Error(`feedback serve exited (${code}): ${err}`)));
  });
}

describe.skipIf(!built)('feedback serve under kill -9', () => {
  it('loses no acknowledged vote and leaves a file that passes integrity_check', async () => {
    const path = newDb();
    const { url, child } = await serveProcess(path);
    const acked: number[] = [];
    for (let i = 0; i < 3; i++) {
      const n = await next(url, 'ann');
      const r = await call<{ vote_id: number }>(url, '/api/vote', { annotator: 'ann', pair_id: n.pair_id, choice: i === 2 ? 'both_bad' : 'A', written: `fix ${i}` });
      expect(r.status).toBe(200);
      acked.push(r.json.vote_id);
    }
    // Killed the moment the last acknowledgement arrived: no chance to checkpoint or close.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0); // the votes were still in the log

    const d = openFeedbackDb(path);
    expect(integrityCheck(d)).toBe('ok');
    const rows = d.prepare('SELECT id, written FROM votes WHERE undone_at IS NULL ORDER BY id').all() as Array<{ id: number; written: string }>;
    expect(rows.map((r) => r.id)).toEqual(acked);
    expect(rows.map((r) => r.written)).toEqual(['fix 0', 'fix 1', 'fix 2']);
    d.close();

    // A new server carries on from the fourth prompt.
    const again = await serveProcess(path);
    try {
      expect((await next(again.url, 'ann')).n).toBe(4);
    } finally {
      const gone = new Promise((resolve) => again.child.once('exit', resolve));
      again.child.kill('SIGTERM');
      expect(await gone).toBe(0);
    }
  });
});
