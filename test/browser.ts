/**
 * Debian's Chromium for the page tests (chat page, feedback page, report card), driven by
 * playwright-core. The flags keep it off the network (this machine's is closed, and Chromium
 * otherwise retries many connections at every start); each test gets a fresh profile.
 */
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.LLMFORGE_CHROMIUM ?? '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** One line saying why `what` is skipped, when there is no Chromium; true when it can run. */
export function chromiumOrSkip(what: string): boolean {
  if (!haveChromium) console.warn(`${what} skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set LLMFORGE_CHROMIUM)`);
  return haveChromium;
}

export function launchChromium(profileDir: string, viewport?: { width: number; height: number }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, headless: true, args: ARGS, ...(viewport ? { viewport } : {}) });
}
