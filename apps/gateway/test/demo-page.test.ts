import { describeBrowser, launchChromium, openPage } from '@dotmac-ws/test-utils/browser';
import { expect, it } from 'vitest';
import { startApp } from './helpers';

it('serves the page and the client bundle, and not when DEMO_ENABLED=false', async () => {
  const { base } = await startApp();
  const page = await fetch(`${base}/demo`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(await page.text()).toContain("import { createClient } from '/demo/client.js';");
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
    const browser = await launchChromium();
    const a = await openPage(browser, `${base}/demo`);
    const b = await openPage(browser, `${base}/demo`);
    for (const { page } of [a, b]) {
      await page.getByTestId('state').filter({ hasText: 'connected' }).waitFor({ timeout: 10_000 });
      await page.getByLabel('channel').fill('lobby');
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page.getByTestId('subscribed').filter({ hasText: 'subscribed to lobby' }).waitFor();
    }
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
