import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup, TestClient } from '@dotmac-ws/test-utils';
import { describeBrowser, launchChromium, openPage } from '@dotmac-ws/test-utils/browser';
import type { Page } from 'playwright-core';
import { expect, it } from 'vitest';
import type { ClientEventMap, DotmacClient } from '../src/index';
import { startGateway } from './helpers';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const bundle = `${packageDir}dist/index.js`;

/** What the page keeps on globalThis. */
interface PageGlobals {
  sdk: typeof import('../src/index');
  client: DotmacClient;
  log: { type: keyof ClientEventMap; code?: number }[];
  got: unknown[];
}

/** The built ESM bundle, refusing a missing or stale one (CI builds before it tests). */
function builtBundle(): string {
  if (!existsSync(bundle)) {
    throw new Error(
      `${bundle} is missing: run \`pnpm --filter @dotmac-ws/client build\` before the browser test`,
    );
  }
  const built = statSync(bundle).mtimeMs;
  const src = `${packageDir}src/`;
  const newest = Math.max(...readdirSync(src).map((f) => statSync(src + f).mtimeMs));
  if (newest > built) {
    throw new Error(`${bundle} is older than src/: run \`pnpm --filter @dotmac-ws/client build\` again`);
  }
  return readFileSync(bundle, 'utf8');
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>dotmac-ws client</title></head>
<body><script type="module">
import * as sdk from '/client.js';
globalThis.sdk = sdk;
globalThis.sdkLoaded = true;
</script></body></html>`;

/** Serves the page and the bundle on 127.0.0.1 (the page's origin differs from the gateway's). */
async function servePage(code: string): Promise<string> {
  const server = createServer((req, res) => {
    if (req.url === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(code);
    } else if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function openSdkPage(base: string): Promise<{ page: Page; problems: string[] }> {
  const opened = openPage(await launchChromium(), base);
  const { page } = await opened;
  await page.waitForFunction('globalThis.sdkLoaded === true', undefined, { timeout: 10_000 });
  return opened;
}

describeBrowser('browser: the ESM bundle in headless Chromium', () => {
  it('connects, subscribes, receives, requests, publishes, and reconnects after a restart', {
    timeout: 45_000,
  }, async () => {
    const base = await servePage(builtBundle());
    const { gw, port, url } = await startGateway();
    gw.addMessageHandler('echo', (_session, data) => ({ echo: data }));
    const { page, problems } = await openSdkPage(base);

    const connected = await page.evaluate(async (wsUrl) => {
      const g = globalThis as unknown as PageGlobals & { WebSocket: unknown };
      g.log = [];
      g.got = [];
      const client = g.sdk.createClient({ url: wsUrl, reconnect: { minDelayMs: 50, maxDelayMs: 400 } });
      g.client = client;
      for (const type of [
        'connecting',
        'connected',
        'disconnected',
        'reconnecting',
        'closed',
        'error',
      ] as const) {
        client.onEvent(type, (event) => g.log.push({ type, code: (event as { code?: number }).code }));
      }
      const first = await client.whenConnected(10_000);
      await client.subscribe('news', (data) => g.got.push(data)).ready;
      return {
        protocol: first.welcome.protocol,
        sessionId: first.welcome.session_id,
        nativeWebSocket: client.options.WebSocket === g.WebSocket,
      };
    }, url);
    expect(connected).toMatchObject({ protocol: 1, nativeWebSocket: true });
    expect(gw.getSession(connected.sessionId)?.channels).toEqual(['news']);

    await gw.broadcastToChannel('news', 'message', { n: 1 });
    await page.waitForFunction('globalThis.got.length === 1', undefined, { timeout: 5000 });

    const reader = await TestClient.open(url);
    await reader.welcome();
    await reader.request({ type: 'subscribe', data: { channel: 'from-browser' } });
    const replies = await page.evaluate(async () => {
      const g = globalThis as unknown as PageGlobals;
      const echo = await g.client.request('echo', { hello: 'node' });
      const ack = await g.client.publish('from-browser', { text: 'hi' }, { event: 'chat' });
      const refused = await g.client
        .request('nope')
        .catch((e: { name: string; code: string }) => [e.name, e.code]);
      return { echo, ack, refused };
    });
    expect(replies).toEqual({
      echo: { echo: { hello: 'node' } },
      ack: { channel: 'from-browser' },
      refused: ['ServerError', 'unknown_type'],
    });
    expect(await reader.waitFor((f) => f.type === 'chat')).toEqual({
      type: 'chat',
      channel: 'from-browser',
      data: { text: 'hi' },
    });
    reader.close();

    await gw.stop();
    const restarted = await new WebSocketGateway({ port, host: '127.0.0.1', logger: silentLogger }).start();
    onCleanup(() => restarted.stop());
    await page.waitForFunction(
      "globalThis.log.filter((e) => e.type === 'connected').length === 2",
      undefined,
      { timeout: 10_000 },
    );
    await expect.poll(() => restarted.getStats().subscriptions, { timeout: 5000 }).toBe(1);
    await restarted.broadcastToChannel('news', 'message', { n: 2 });
    await page.waitForFunction('globalThis.got.length === 2', undefined, { timeout: 5000 });

    const after = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      return { got: g.got, log: g.log, state: g.client.state };
    });
    expect(after.got).toEqual([{ n: 1 }, { n: 2 }]);
    expect(after.state).toBe('connected');
    expect(after.log.slice(0, 4)).toEqual([
      { type: 'connecting' },
      { type: 'connected' },
      { type: 'disconnected', code: 1001 },
      { type: 'reconnecting' },
    ]);
    expect(after.log.at(-1)).toEqual({ type: 'connected' });
    // Failed attempts while the server was down show up as 1006 in a browser; nothing else may.
    expect(after.log.filter((e) => e.type === 'error' || e.type === 'closed')).toEqual([]);
    await page.evaluate(() => (globalThis as unknown as PageGlobals).client.close());
    // Chromium logs a failed WebSocket handshake as a console error; only those are expected.
    expect(problems.filter((p) => !/WebSocket connection to .* failed/.test(p))).toEqual([]);
  });
});
