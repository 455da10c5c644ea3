import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeBrowser, launchChromium, openPage } from '@dotmac-ws/test-utils/browser';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { startApp } from './helpers';

const GRACE_MS = 1000;

/** The reference gateway with presence and join/leave on every channel, from a rules file. */
async function startAppWithPresence(): Promise<string> {
  const rules = join(mkdtempSync(join(tmpdir(), 'dotmac-demo-')), 'rules.json');
  writeFileSync(
    rules,
    JSON.stringify([{ pattern: '*', subscribe: true, publish: true, presence: true, join_leave: true }]),
  );
  const { base } = await startApp({ CHANNEL_RULES_FILE: rules, PRESENCE_GRACE_MS: String(GRACE_MS) });
  return base;
}

/** The first 8 characters of the page's session id, as the page shows it. */
async function sessionPrefix(page: Page): Promise<string> {
  const text = (await page.locator('#session').textContent()) ?? '';
  const match = /session ([0-9a-zA-Z_-]{8})/.exec(text);
  if (match === null) throw new Error(`no session id shown: ${JSON.stringify(text)}`);
  return match[1] as string;
}

/** Opens the demo in two pages, each connected and subscribed to `lobby`. */
async function twoPagesInLobby(base: string) {
  const browser = await launchChromium();
  const pages = [await openPage(browser, `${base}/demo`), await openPage(browser, `${base}/demo`)] as const;
  for (const { page } of pages) {
    await page.getByTestId('state').filter({ hasText: 'connected' }).waitFor({ timeout: 10_000 });
    await page.getByLabel('channel').fill('lobby');
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.getByTestId('subscribed').filter({ hasText: 'subscribed to lobby' }).waitFor();
  }
  return pages;
}

/** The lines of the page's "Online in" list, sorted. */
const members = async (page: Page) =>
  (await page.getByTestId('members').locator('li').allTextContents()).sort();

it('serves the page and the client bundle, and not when DEMO_ENABLED=false', async () => {
  const { base } = await startApp();
  const page = await fetch(`${base}/demo`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(await page.text()).toContain("import { createClient, trackPresence } from '/demo/client.js';");
  const bundle = await fetch(`${base}/demo/client.js`);
  expect(bundle.status).toBe(200);
  expect(await bundle.text()).toContain('createClient');
  expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
  const { base: off } = await startApp({ DEMO_ENABLED: 'false' });
  expect((await fetch(`${off}/demo`)).status).toBe(404);
});

describeBrowser('the demo page in headless Chromium', () => {
  it('a message published from one page appears in another', { timeout: 45_000 }, async () => {
    const { base } = await startApp();
    const [a, b] = await twoPagesInLobby(base);
    await a.page.getByLabel('message').fill('hello from A');
    await a.page.getByRole('button', { name: 'Publish' }).click();
    for (const { page } of [b, a]) {
      await page
        .getByTestId('messages')
        .getByText('lobby message: {"text":"hello from A"}')
        .waitFor({ timeout: 5_000 });
    }
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
  });
});

describeBrowser('the demo page shows who is online', () => {
  it('two pages see each other; a closed one leaves the other within the grace period', {
    timeout: 45_000,
  }, async () => {
    const base = await startAppWithPresence();
    const [a, b] = await twoPagesInLobby(base);
    const [idA, idB] = [await sessionPrefix(a.page), await sessionPrefix(b.page)];
    await expect.poll(() => members(a.page)).toEqual([`guest ${idA} (you)`, `guest ${idB}`].sort());
    await expect.poll(() => members(b.page)).toEqual([`guest ${idA}`, `guest ${idB} (you)`].sort());
    await expect(a.page.getByTestId('room').textContent()).resolves.toBe('lobby');
    await expect(a.page.getByTestId('presence-note').textContent()).resolves.toBe('2 online');

    const closedAt = Date.now();
    await b.page.close();
    await expect
      .poll(() => members(a.page), { timeout: GRACE_MS + 3000, interval: 50 })
      .toEqual([`guest ${idA} (you)`]);
    const tookMs = Date.now() - closedAt;
    // The grace period keeps a member that may come back; then it leaves.
    expect(tookMs).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(tookMs).toBeLessThan(GRACE_MS + 2000);
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
  });

  it('says so when the room has no presence', { timeout: 30_000 }, async () => {
    const { base } = await startApp();
    const { page, problems } = await openPage(await launchChromium(), `${base}/demo`);
    await page.getByTestId('state').filter({ hasText: 'connected' }).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page
      .getByTestId('presence-note')
      .filter({ hasText: 'presence is off for demo (channel options "presence" and "join_leave")' })
      .waitFor({ timeout: 5_000 });
    expect(await members(page)).toEqual([]);
    expect(problems).toEqual([]);
  });
});
