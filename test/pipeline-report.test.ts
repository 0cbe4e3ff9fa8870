/** The report card of `llmforge run`, opened from disk in Chromium: tables, inline plots, escaped text, no network. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readPipeline } from '../src/pipeline/config.js';
import { runPipeline } from '../src/pipeline/run.js';
import { escapeHtml } from '../src/pipeline/report.js';
import { tinyPipeline } from './pipeline-helpers.js';
import { CHROMIUM, haveChromium, launchChromium } from './browser.js';


describe('pipeline report card', () => {
  it('escapes text for HTML', () => {
    expect(escapeHtml(`<b>"it's" & more</b>`)).toBe('&lt;b&gt;&quot;it&#39;s&quot; &amp; more&lt;/b&gt;');
  });

  it('writes report.md with a column per model, and a report.html that works offline in Chromium', async (ctx) => {
    const t = tinyPipeline();
    const out = join(t.dir, 'out');
    const r = await runPipeline({ config: readPipeline(t.file), out, log: () => {} });
    const md = readFileSync(r.report.md, 'utf8');
    expect(md).toMatch(/\|\s+\| base \| SFT \| DPO \|/);
    for (const row of ['val bpb', 'chat format', 'accuracy', 'refusal (harmful)', 'over-refusal (benign)', 'reward-model win rate (vs SFT)']) expect(md).toContain(`| ${row} |`);
    expect(md).toMatch(/\| pretrain \| [\d.]+s \| [\d,]+ \| \d+ MiB \|/);
    expect(md).toContain('What is &lt;b>2&lt;/b> & "3" \\| plus?'); // a pipe would end the table cell
    const html = readFileSync(r.report.html, 'utf8');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);

    if (!haveChromium) {
      ctx.skip(`${CHROMIUM} is not installed: the browser half of this test is skipped`);
      return;
    }
    const browser = await launchChromium(mkdtempSync(join(tmpdir(), 'llmf-chromium-')), { width: 1200, height: 1800 });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(pathToFileURL(r.report.html).href);
      expect(await page.title()).toBe('llmforge report card');
      const heads = await page.locator('#models + table thead th').allTextContents();
      expect(heads).toEqual(['', 'base', 'SFT', 'DPO']);
      const rows = await page.locator('#models + table tbody th').allTextContents();
      expect(rows).toEqual(['val bpb', 'chat format', 'accuracy', 'refusal (harmful)', 'over-refusal (benign)', 'reward-model win rate (vs SFT)']);
      expect(await page.locator('#models + table tbody tr:last-child td').allTextContents()).toEqual([expect.stringMatching(/%$/), '50.0%', expect.stringMatching(/%$/)]);
      expect(await page.locator('#stages + table tbody tr').count()).toBe(8);
      // Loss curves of pretrain, SFT, DPO and the reward model, drawn inline.
      const svgs = page.locator('.plots svg');
      expect(await svgs.count()).toBe(4);
      expect((await svgs.first().boundingBox())?.width).toBeGreaterThan(200);
      expect(await page.locator('.plots svg path').count()).toBeGreaterThanOrEqual(3);
      // The prompt with markup shows as text, not as a bold element.
      await expect(page.getByRole('heading', { name: 'What is <b>2</b> & "3" | plus?' }).count()).resolves.toBe(1);
      expect(await page.locator('h3 b').count()).toBe(0);
      expect(requests.every((u) => u.startsWith('file://'))).toBe(true);
      await page.screenshot({ path: join(out, 'report.png'), fullPage: true });
      expect(existsSync(join(out, 'report.png'))).toBe(true);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
