import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, SHARED_REDIS, sharedServiceMissing, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describeBrowser, launchChromium, openPage } from '@dotmac-ws/test-utils/browser';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { SECRET, sign } from '../../../packages/auth-jwt/test/helpers';
import { ADMIN_POLL_MS } from '../src/admin-page';
import { runBin } from './bin-process';

const redisUp = (await sharedServiceMissing(SHARED_REDIS)) === false;
const KEY = 'console-key-0123456789';
/** `UPDATE_SCREENSHOT=1` rewrites the screenshot kept in docs/ (otherwise it is only checked). */
const SCREENSHOT = fileURLToPath(new URL('../../../docs/admin-console.png', import.meta.url));

/** One reference gateway process on the shared Redis, ready to serve. */
async function startNode(nodeId: string, prefix: string): Promise<string> {
  const port = await freePort();
  const bin = runBin({
    WS_PORT: String(port),
    NODE_ID: nodeId,
    BACKEND: 'redis',
    REDIS_KEY_PREFIX: prefix,
    ADMIN_ENABLED: 'true',
    API_KEY: KEY,
    ANNOUNCE_INTERVAL_MS: '200',
    JWT_SECRET_KEY: SECRET,
  });
  const base = `http://127.0.0.1:${port}`;
  await waitUntil(
    async () =>
      (await fetch(`${base}/ready`).then(
        (r) => r.status,
        () => 0,
      )) === 200,
    15_000,
    `${nodeId} ready:\n${bin.output()}`,
  );
  return base;
}

/** The text of each cell of a table body's rows. */
const rows = (page: Page, testId: string) =>
  page
    .getByTestId(testId)
    .locator('tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));

describeBrowser('the admin console in headless Chromium', () => {
  it.skipIf(!redisUp)(
    'signs in, shows two nodes on Redis, publishes to a client on the other node, disconnects its user with 4403',
    { timeout: 60_000 },
    async () => {
      const prefix = `admin-console-${randomUUID()}:`;
      const a = await startNode('node-a', prefix);
      const b = await startNode('node-b', prefix);
      // u1 on node B, subscribed to news; more users on both nodes.
      const connect = async (base: string, user: string, channels: string[]) => {
        const c = await TestClient.open(`${base.replace('http', 'ws')}/ws`, {
          headers: { Authorization: `Bearer ${sign({ sub: user })}` },
        });
        expect(((await c.welcome()).data as { user_id: string }).user_id).toBe(user);
        for (const channel of channels) {
          expect((await c.request({ type: 'subscribe', data: { channel } })).type).toBe('ack');
        }
        return c;
      };
      const client = await connect(b, 'u1', ['news']);
      await connect(a, 'u2', ['news', 'chat:lobby']);
      await connect(a, 'u3', ['chat:lobby']);
      await connect(b, 'u4', ['alerts']);

      const browser = await launchChromium();
      const { page, problems } = await openPage(browser, `${a}/admin`);
      await page.setViewportSize({ width: 960, height: 640 });
      // A wrong key is refused and not kept.
      await page.getByLabel('API key').fill('not-the-key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByTestId('signin-error').filter({ hasText: 'that key was refused (401)' }).waitFor();
      expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
      await page.getByLabel('API key').fill(KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      expect(await page.evaluate<string | null>("sessionStorage.getItem('dotmac-ws-admin-key')")).toBe(KEY);

      // Both nodes with their sessions and subscriptions; the busiest channels first.
      await expect
        .poll(async () => (await rows(page, 'nodes')).map((r) => [r[0], r[3], r[4]]), { timeout: 10_000 })
        .toEqual([
          ['node-a', '2', '3'],
          ['node-b', '2', '2'],
        ]);
      await expect
        .poll(() => rows(page, 'channels'), { timeout: 10_000 })
        .toEqual([
          ['chat:lobby', '2'],
          ['news', '2'],
          ['alerts', '1'],
        ]);
      await expect(page.getByTestId('summary').textContent()).resolves.toBe('2 nodes, 4 sessions');

      // Publish from the page (node A): u1 on node B gets it over Redis.
      await page.getByLabel('channel').fill('news');
      await page.getByLabel('data').fill('{"text":"from the console"}');
      await page.getByRole('button', { name: 'Publish' }).click();
      await page
        .getByTestId('publish-result')
        .filter({ hasText: 'published to news (1 subscriber(s) on this node)' })
        .waitFor();
      expect(await client.waitFor((f) => f.type === 'message')).toEqual({
        type: 'message',
        channel: 'news',
        data: { text: 'from the console' },
      });

      // Traffic in chat:lobby: node A's rate rises and the chart draws it.
      const traffic = setInterval(() => {
        void fetch(`${b}/api/publish`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}` },
          body: JSON.stringify({ channel: 'chat:lobby', type: 'message', data: { n: Date.now() } }),
        }).catch(() => undefined);
      }, 50);
      try {
        await expect
          .poll(async () => Number((await rows(page, 'nodes'))[0]?.[5]), {
            timeout: 3 * ADMIN_POLL_MS + 2000,
          })
          .toBeGreaterThan(10);
        await expect
          .poll(async () => ((await page.locator('#line').getAttribute('points')) ?? '').split(' ').length, {
            timeout: 3 * ADMIN_POLL_MS + 2000,
          })
          .toBeGreaterThanOrEqual(3);
      } finally {
        clearInterval(traffic);
      }
      const png = await page.screenshot();
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.length).toBeLessThan(200_000);
      if (process.env.UPDATE_SCREENSHOT === '1') writeFileSync(SCREENSHOT, png);

      // A bad payload is refused by the page, before any call.
      await page.getByLabel('data').fill('{not json');
      await page.getByRole('button', { name: 'Publish' }).click();
      await page.getByTestId('publish-result').filter({ hasText: 'data must be JSON' }).waitFor();

      // Disconnect the user from the page: closed with 4403 on node B.
      await page.getByLabel('user id').fill('u1');
      await page.getByRole('button', { name: 'Disconnect' }).click();
      await page
        .getByTestId('disconnect-result')
        .filter({ hasText: 'disconnected u1 on every node (4403)' })
        .waitFor();
      expect(await client.waitClose()).toEqual({ code: 4403, reason: 'forbidden' });
      await expect
        .poll(async () => (await rows(page, 'nodes')).map((r) => r[3]), { timeout: 3 * ADMIN_POLL_MS + 2000 })
        .toEqual(['2', '1']);

      // Signing out forgets the key.
      await page.getByRole('button', { name: 'Sign out' }).click();
      expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
      await page.getByLabel('API key').waitFor();
      // The one console error is the browser's note on the refused key.
      expect(problems).toEqual([
        'console: Failed to load resource: the server responded with a status of 401 (Unauthorized)',
      ]);
    },
  );
});
