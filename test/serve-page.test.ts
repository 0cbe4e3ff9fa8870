/**
 * The chat page in a real browser: playwright-core driving Debian's Chromium (headless, no
 * network beyond 127.0.0.1). Skips with one line when /usr/bin/chromium (or $LLMFORGE_CHROMIUM) is
 * missing; CI (.ci/run) installs it. LLMFORGE_PAGE_SCREENSHOT=file.png saves a screenshot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferenceEngine } from '../src/infer/engine.js';
import { generate } from '../src/infer/generate.js';
import { loadForGeneration, type LoadedModel } from '../src/infer/load.js';
import { renderChat } from '../src/model/chat.js';
import type { RunningServer } from '../src/serve/server.js';
import { makeChatModel, serve } from './serve-helpers.js';
import { chromiumOrSkip, launchChromium } from './browser.js';

const haveBrowser = chromiumOrSkip('serve-page');

/** The little of the DOM the tests touch inside the page (the test tsconfig has no DOM types). */
interface PageGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

describe.skipIf(!haveBrowser)('the chat page in Chromium', () => {
  let root = '';
  let server: RunningServer;
  let loaded: LoadedModel;
  let browser: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'llmforge-page-'));
    // A long context and a 12M-parameter model, so a long reply runs for seconds and is still being
    // generated when the test presses Stop (a reply the server already finished cannot be cancelled).
    const run = await makeChatModel(join(root, 'page-model'), 2048, { nEmbd: 384, nLayer: 6 }, { neverStop: true });
    server = await serve(run, { parallel: 2 });
    loaded = await loadForGeneration(run);
    browser = await launchChromium(join(root, 'profile'));
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => {
      pageErrors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(`${server.url}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (root !== '') rmSync(root, { recursive: true, force: true });
  });

  const stops = (): number[] => ['<|end|>', '<|user|>', '<|system|>', '<|assistant|>', '<|bos|>', '<|eos|>'].map((n) => loaded.tokenizer.specialTokens.get(n) as number);
  const metric = async (series: string): Promise<number> => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.split(' ')[1]);
  };

  it('sends with Enter (Shift+Enter is a newline) and streams the model\'s reply into an assistant message', async () => {
    await expect(page.title()).resolves.toBe('llmforge chat · page-model');
    await page.fill('#temperature-value', '0');
    await page.dispatchEvent('#temperature-value', 'input');
    await page.fill('#max-tokens', '16');
    const box = page.locator('textarea#input');
    await box.click();
    await box.type('In the beginning');
    await box.press('Shift+Enter');
    await box.type('God created');
    expect(await box.inputValue()).toBe('In the beginning\nGod created');
    expect(await page.locator('[data-role]').count()).toBe(0);
    await box.press('Enter');
    await page.locator('[data-role="assistant"]:not(.streaming)').waitFor();
    expect(await page.locator('[data-role="user"] .text').textContent()).toBe('In the beginning\nGod created');
    const ids = renderChat(loaded.tokenizer, [{ role: 'user', content: 'In the beginning\nGod created' }], { addGenerationPrompt: true }).ids;
    const [want] = generate(new InferenceEngine(loaded.model), [ids], { temperature: 0, maxNewTokens: 16, stopTokens: stops() }, { tokenizer: loaded.tokenizer });
    expect(want.text.length).toBeGreaterThan(0);
    expect(await page.locator('[data-role="assistant"] .text').textContent()).toBe(want.text);
    expect(await box.inputValue()).toBe('');
    if (process.env.LLMFORGE_PAGE_SCREENSHOT) await page.screenshot({ path: process.env.LLMFORGE_PAGE_SCREENSHOT });
  });

  it('markup typed by the user is shown as text and never runs', async () => {
    const evil = '<img src=x onerror="window.__pwned=1;alert(1)"><script>window.__pwned=2</script><b>bold?</b>';
    await page.locator('textarea#input').fill(evil);
    await page.locator('textarea#input').press('Enter');
    await page.locator('[data-role="assistant"]:not(.streaming)').nth(1).waitFor();
    expect(await page.locator('[data-role="user"] .text').nth(1).textContent()).toBe(evil);
    expect(await page.locator('#messages img, #messages script, #messages b').count()).toBe(0);
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
    expect(pageErrors).toEqual([]);
  });

  it('New chat clears the conversation; Stop aborts a long reply and the server cancels it', async () => {
    await page.locator('#new-chat').click();
    expect(await page.locator('[data-role]').count()).toBe(0);
    // Greedy replies of this model never stop on their own (checked here): the reply runs long.
    const message = 'And the earth was without form';
    const ids = renderChat(loaded.tokenizer, [{ role: 'user', content: message }], { addGenerationPrompt: true }).ids;
    const [check] = generate(new InferenceEngine(loaded.model), [ids], { temperature: 0, maxNewTokens: 40, stopTokens: stops() });
    expect(check.finishReason).toBe('length');
    const cancelled = await metric('llmforge_sequences_finished_total{reason="cancelled"}');
    await page.fill('#max-tokens', '1900');
    await page.locator('textarea#input').fill(message);
    await page.locator('#send').click();
    const reply = page.locator('[data-role="assistant"]');
    // A function, not a string: the page's CSP forbids eval, which string predicates need.
    await page.waitForFunction(() => ((globalThis as unknown as PageGlobals).document.querySelector('[data-role="assistant"] .text')?.textContent ?? '').length > 0,
      undefined, { polling: 'raf' });
    await page.locator('#stop').click();
    const shown = (await reply.locator('.text').textContent()) ?? '';
    await page.locator('[data-role="assistant"]:not(.streaming)').waitFor();
    expect(await reply.locator('.note').textContent()).toBe('Stopped.');
    expect(shown.length).toBeGreaterThan(0);
    await expect.poll(() => metric('llmforge_sequences_finished_total{reason="cancelled"}'), { timeout: 5000 }).toBe(cancelled + 1);
    expect(await metric('llmforge_running_sequences')).toBe(0);
    expect(await page.locator('#send').isVisible()).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('asks for the API key when the server has one, and shows a 401 as an error note', async () => {
    const keyed = await serve(join(root, 'page-model'), { apiKey: 'page-key', parallel: 1 });
    const p = await browser.newPage();
    try {
      await p.goto(`${keyed.url}/`);
      expect(await p.locator('#api-key').isVisible()).toBe(true);
      await p.fill('#max-tokens', '4');
      await p.locator('#input').fill('Hello');
      await p.locator('#input').press('Enter');
      await p.locator('[data-role="assistant"].error').waitFor();
      expect(await p.locator('[data-role="assistant"] .note').textContent()).toMatch(/invalid_api_key/);
      await p.fill('#api-key', 'page-key');
      await p.locator('#input').fill('Hello again');
      await p.locator('#input').press('Enter');
      await p.locator('[data-role="assistant"]:not(.streaming):not(.error)').waitFor();
    } finally {
      await p.close();
      await keyed.close();
    }
  });
});
