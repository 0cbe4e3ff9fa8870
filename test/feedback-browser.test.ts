/**
 * The comparison page in a real browser: Debian's Chromium driven by playwright-core.
 * Skipped (with one line saying so) where there is no Chromium.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { chromiumOrSkip, haveChromium, launchChromium } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyChatRun } from './feedback-helpers.js';
import { preferenceRecords } from '../src/align/feedback/export.js';
import { startFeedbackServer, type FeedbackServer } from '../src/align/feedback/server.js';

const hasChromium = haveChromium;
const built = existsSync(join(__dirname, '..', 'dist', 'align', 'feedback', 'worker.js'));
chromiumOrSkip('feedback browser tests');

const root = mkdtempSync(join(tmpdir(), 'llmforge-feedback-browser-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const LONG_WORD = 'Mahershalalhashbaz'.repeat(8);
const HTML_PROMPT = 'Is <img src=x onerror="document.title=\'pwned\'"> <b>bold</b>?';

describe.skipIf(!hasChromium || !built)('feedback page in Chromium', () => {
  let server: FeedbackServer;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    const run = await tinyChatRun(join(root, 'run'), 4, 256);
    const prompts = join(root, 'prompts.jsonl');
    writeFileSync(prompts, [
      { prompt: `A long word: ${LONG_WORD}. And a long line: ${'and the LORD spake unto Moses, saying, '.repeat(3)}` },
      { prompt: HTML_PROMPT },
      { messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: 'Who begat Enoch?' }] },
      { prompt: 'In the beginning' },
    ].map((l) => JSON.stringify(l)).join('\n'));
    server = await startFeedbackServer({
      models: [run], prompts, db: join(root, 'feedback.sqlite'), host: '127.0.0.1', port: 0, seed: 11, threads: 1,
      sampling: { maxNewTokens: 120, temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 },
    });
    context = await launchChromium(mkdtempSync(join(root, 'profile-')), { width: 1100, height: 900 });
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
  });

  // playwright-core has no web-first assertions: poll the page until it shows what is expected.
  const shows = async (selector: string, want: string | RegExp): Promise<void> => {
    const poll = expect.poll(async () => (await page.locator(selector).textContent()) ?? '', { timeout: 30_000 });
    await (typeof want === 'string' ? poll.toBe(want) : poll.toMatch(want));
  };
  const contains = (selector: string, part: string): Promise<void> =>
    expect.poll(async () => (await page.locator(selector).textContent()) ?? '', { timeout: 30_000 }).toContain(part);
  const progress = (text: string): Promise<void> => shows('#progress', text);
  const sides = async (): Promise<[string, string]> => [
    await page.locator('[data-side="A"]').textContent() ?? '',
    await page.locator('[data-side="B"]').textContent() ?? '',
  ];
  const button = (name: string) => page.getByRole('button', { name, exact: true });

  it('votes by click and by key, undoes, takes a written reply; the votes are in the database', async () => {
    await page.goto(server.url);
    await shows('#status', /Type your name/);
    for (const name of ['A is better', 'B is better', 'Tie', 'Both bad', 'Skip', 'Undo']) await button(name).waitFor({ state: 'visible' });
    expect(await button('A is better').isDisabled()).toBe(true);
    await page.locator('#annotator').fill('ann');
    await page.locator('#annotator').press('Enter');
    await progress('1 of 4');
    await contains('#prompt', LONG_WORD);

    // Long text wraps inside its box: no horizontal scrolling anywhere.
    // (A string: the test project has no DOM types.)
    const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    const shot = join(root, 'feedback-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.LLMFORGE_SCREENSHOT_DIR) {
      mkdirSync(process.env.LLMFORGE_SCREENSHOT_DIR, { recursive: true });
      copyFileSync(shot, join(process.env.LLMFORGE_SCREENSHOT_DIR, 'feedback-page.png'));
    }

    // A narrow window: one column, still no horizontal scrolling.
    await page.setViewportSize({ width: 400, height: 800 });
    expect((await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number).toBeLessThanOrEqual(0);
    const [boxA, boxB] = [await page.locator('[data-side="A"]').boundingBox(), await page.locator('[data-side="B"]').boundingBox()];
    expect(boxB!.y).toBeGreaterThan(boxA!.y + boxA!.height);
    if (process.env.LLMFORGE_SCREENSHOT_DIR) await page.screenshot({ path: join(process.env.LLMFORGE_SCREENSHOT_DIR, 'feedback-narrow.png'), fullPage: true });
    await page.setViewportSize({ width: 1100, height: 900 });

    // 1. By click.
    const [a1] = await sides();
    await button('A is better').click();
    await progress('2 of 4');
    await shows('#status', /Saved: A is better/);

    // The prompt that looks like HTML is shown as text.
    await contains('#prompt', HTML_PROMPT);
    expect(await page.locator('#prompt img, #prompt b').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');

    // 2. By key, then undo by key: the same pair comes back.
    const before = await sides();
    await page.locator('body').press('2');
    await progress('3 of 4');
    await page.locator('body').press('u');
    await progress('2 of 4');
    await shows('#status', /Undone/);
    expect(await sides()).toEqual(before);

    // 3. A written reply: keys typed in the box are text, not votes; Escape leaves the box, 4 = Both bad.
    const written = 'Reply 1 2 3 u: Enoch was begotten of Jared.';
    await page.locator('#written').fill('');
    await page.locator('#written').pressSequentially(written);
    await progress('2 of 4');
    await page.locator('#written').press('Escape');
    await page.keyboard.press('4');
    await progress('3 of 4');
    expect(await page.locator('#written').inputValue()).toBe('');

    // Undo by click brings the written reply back into the box; vote again with it.
    await button('Undo').click();
    await progress('2 of 4');
    await expect.poll(() => page.locator('#written').inputValue()).toBe(written);
    await page.locator('#written').press('Escape');
    await page.keyboard.press('4');
    await progress('3 of 4');

    // 4. Skip by click, 5. Tie by key 3: done.
    await button('Skip').click();
    await progress('4 of 4');
    await page.keyboard.press('3');
    await progress('4 of 4 judged');
    expect(await page.locator('#done').isVisible()).toBe(true);
    expect(await button('A is better').isDisabled()).toBe(true);

    const votes = server.store.db.prepare(`SELECT v.choice, v.written, v.undone_at IS NOT NULL AS undone, p.prompt_id
      FROM votes v JOIN pairs p ON p.id = v.pair_id WHERE v.annotator = 'ann' ORDER BY v.id`).all() as
      Array<{ choice: string; written: string | null; undone: number; prompt_id: number }>;
    expect(votes.map((v) => [v.choice, v.written, v.undone])).toEqual([
      ['A', null, 0], ['B', null, 1], ['both_bad', written, 1], ['both_bad', written, 0], ['skip', null, 0], ['tie', null, 0],
    ]);
    expect(new Set(votes.map((v) => v.prompt_id)).size).toBe(4);
    // Exported: A's text chosen over B's; the written reply over both sides of the both-bad pair.
    const recs = preferenceRecords(server.store.db);
    expect(recs[0].chosen).toBe(a1);
    expect(recs.slice(1).map((r) => r.chosen)).toEqual([written, written].slice(0, recs.length - 1));
    expect(recs.every((r) => r.annotator === 'ann' && r.source === 'human')).toBe(true);
  });
});
