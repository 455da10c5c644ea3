import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { describe, it } from 'vitest';
import { onCleanup } from './cleanup';
import { IN_CI } from './services';

/** Debian's Chromium; `CHROMIUM_PATH` points elsewhere (or at nothing, to check the skip). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags for a headless Chromium on a machine with a closed network. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** True when Chromium is installed. */
export const hasChromium = existsSync(CHROMIUM_PATH);

/**
 * Declares browser tests: they run where Chromium is installed; without it they are skipped
 * with a message locally and fail under CI (which must install it).
 */
export function describeBrowser(name: string, body: () => void): void {
  if (hasChromium) {
    describe(name, body);
    return;
  }
  if (IN_CI) {
    describe(name, () => {
      it('needs Debian chromium', () => {
        throw new Error(`${CHROMIUM_PATH} is missing: CI must install it (apt-get install -y chromium)`);
      });
    });
    return;
  }
  console.warn(`${name}: skipped, ${CHROMIUM_PATH} is missing (apt-get install -y chromium)`);
  describe.skip(name, body);
}

/** Launches headless Chromium, closed after the test. */
export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS],
    headless: true,
  });
  onCleanup(() => browser.close());
  return browser;
}

/** Opens `url` in a new page and records page errors and console errors in `problems`. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(url);
  return { page, problems };
}
