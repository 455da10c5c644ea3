import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signRequest } from '@dotmac-ws/app-backend';
import {
  freePort,
  onCleanup,
  SHARED_REDIS,
  sharedServiceMissing,
  startProcess,
  TestClient,
  waitUntil,
} from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { problemsOf, startApp } from './helpers';

const SECRET = 'example-secret-0123456789';
const root = (path: string) => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

/** The example apps: one command each, as their READMEs say. */
const EXAMPLES = [
  ['Node', 'node', [root('examples/app-backend-node/app.mjs')]],
  ['Python', 'python3', [root('examples/app-backend-python/app.py')]],
] as const;

/** The environment that points every proxy route and the webhooks at `base`. */
function appEnv(base: string): Record<string, string> {
  return {
    PROXY_SECRET: SECRET,
    WEBHOOK_SECRET: SECRET,
    PROXY_CONNECT_URL: `${base}/connect`,
    PROXY_REFRESH_URL: `${base}/refresh`,
    PROXY_SUBSCRIBE_URL: `${base}/subscribe`,
    PROXY_PUBLISH_URL: `${base}/publish`,
    PROXY_RPC_URL: `${base}/rpc`,
    PROXY_FORWARD_HEADERS: 'cookie:sid',
    WEBHOOK_URL: `${base}/webhooks`,
    WEBHOOK_BATCH_MS: '10',
    WEBHOOK_VACATE_DELAY_MS: '0',
    API_KEY: 'k'.repeat(32),
  };
}

describe.each(EXAMPLES)('the %s example application', (_name, command, args) => {
  it('answers the proxy and receives the webhooks of the reference gateway', async () => {
    const port = await freePort();
    const example = startProcess(command, args, { env: { APP_SECRET: SECRET, PORT: String(port) } });
    await example.line((l) => l.includes('app backend listening'));
    const base = `http://127.0.0.1:${port}`;
    const { url, base: gatewayBase } = await startApp(appEnv(base));

    const alice = await TestClient.open(url, { headers: { cookie: 'theme=dark; sid=alice-session' } });
    expect((await alice.welcome()).data).toMatchObject({ authenticated: true, user_id: 'alice' });
    expect((await alice.waitFor((f) => f.type === 'subscribed')).channel).toBe('user:alice');
    expect((await alice.request({ type: 'subscribe', channel: 'admin:ops' })).type).toBe('ack');
    await alice.request({ type: 'publish', channel: 'admin:ops', data: { text: '  hello  ' } });
    expect((await alice.waitFor((f) => f.type === 'message')).data).toEqual({ text: 'hello', by: 'alice' });
    expect(await alice.request({ type: 'whoami' })).toMatchObject({ type: 'ack', data: { user: 'alice' } });
    expect(await alice.request({ type: 'launch' })).toMatchObject({
      type: 'error',
      data: { code: 'unknown_method', message: 'launch' },
    });

    const bob = await TestClient.open(url, { headers: { cookie: 'sid=bob-session' } });
    await bob.welcome();
    expect(await bob.request({ type: 'subscribe', channel: 'admin:ops' })).toMatchObject({
      type: 'error',
      data: { code: 'forbidden', message: 'admins only' },
    });
    const anonymous = await TestClient.open(url);
    expect((await anonymous.welcome()).data).toMatchObject({ authenticated: false });
    const refused = await TestClient.refused(url, { headers: { cookie: 'sid=stolen' } });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ error: { code: 'unknown_session', message: 'log in again' } });

    // The webhooks arrived, signed (the app prints only verified ones).
    const aliceSession = ((await alice.welcome()).data as { session_id: string }).session_id;
    alice.close();
    await example.line((l) => l.startsWith(`webhook session.disconnected ${aliceSession}`), 5000);
    const printed = example.output();
    for (const line of [
      `webhook session.connected ${aliceSession}`,
      'webhook channel.occupied user:alice',
      'webhook channel.occupied admin:ops',
      'webhook channel.vacated admin:ops',
    ]) {
      expect(printed).toContain(line);
    }

    // A request that is not signed with the secret is refused.
    const body = JSON.stringify({ route: 'connect', cookies: {} });
    const forged = await fetch(`${base}/connect`, {
      method: 'POST',
      headers: {
        'x-dotmac-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-dotmac-signature': signRequest('another-secret-0123456789', Math.floor(Date.now() / 1000), body),
      },
      body,
    });
    expect(forged.status).toBe(401);

    // The component in /health, the counters in /metrics.
    const auth = { authorization: `Bearer ${'k'.repeat(32)}` };
    const health = (await (await fetch(`${gatewayBase}/health`, { headers: auth })).json()) as {
      components: Record<string, { status: string; proxy?: { breakers: Record<string, string> } }>;
    };
    expect(health.components.app_backend?.status).toBe('healthy');
    expect(health.components.app_backend?.proxy?.breakers).toEqual({
      connect: 'closed',
      refresh: 'closed',
      subscribe: 'closed',
      publish: 'closed',
      rpc: 'closed',
    });
    const scrape = async () => (await fetch(`${gatewayBase}/metrics`)).text();
    const sentIn = (text: string) =>
      Number(/dotmac_ws_webhook_events_total\{target="webhook",outcome="sent"\} (\d+)/.exec(text)?.[1] ?? 0);
    // A batch counts as sent once its answer is read, which may come after the app printed it.
    await waitUntil(async () => sentIn(await scrape()) >= 5, 5000, '5 webhook events counted as sent');
    const metrics = await scrape();
    expect(metrics).toContain('dotmac_ws_connections_total');
    expect(metrics).toContain('dotmac_ws_proxy_requests_total{route="connect",outcome="result"} 3');
    expect(metrics).toContain('dotmac_ws_proxy_requests_total{route="connect",outcome="error"} 1');
    expect(sentIn(metrics)).toBeGreaterThanOrEqual(5);
  });
});

const redisUp = (await sharedServiceMissing(SHARED_REDIS)) === false;

describe.skipIf(!redisUp)('app-backend plugin on BACKEND=redis', () => {
  it('keeps channel occupancy in Redis, under REDIS_KEY_PREFIX', async () => {
    const received: { name: string; channel?: string }[] = [];
    const hooks = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(...(JSON.parse(Buffer.concat(chunks).toString()) as { events: [] }).events);
        res.end();
      });
    });
    await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => hooks.close(() => resolve())));
    const prefix = `test-${randomUUID()}:`;
    const { url, gateway } = await startApp({
      BACKEND: 'redis',
      REDIS_KEY_PREFIX: prefix,
      WEBHOOK_URL: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hooks`,
      WEBHOOK_EVENTS: 'channel.occupied',
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_BATCH_MS: '0',
      // At stop the channel is vacated at once: nothing is left in the shared Redis.
      WEBHOOK_VACATE_DELAY_MS: '0',
    });
    const c = await TestClient.open(url);
    await c.welcome();
    await c.request({ type: 'subscribe', channel: 'room' });
    await waitUntil(() => received.length === 1);
    expect(received[0]).toMatchObject({ name: 'channel.occupied', channel: 'room' });
    // The occupancy store is Redis, and it answers.
    expect((await gateway.healthCheck()).components.app_backend).toEqual({
      status: 'healthy',
      webhooks: {
        targets: [{ name: 'webhook', queued: 0, failing: false }],
        occupancy: { status: 'healthy', store: 'redis', errors: 0 },
      },
    });
  });
});

describe('app-backend plugin settings', () => {
  it('proxies subscribe only for the rules of CHANNEL_RULES_FILE that say proxy_subscribe', async () => {
    const asked: string[] = [];
    const app = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        asked.push(`${req.url} ${(JSON.parse(body) as { channel?: string }).channel}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'forbidden', message: 'not yours' } }));
      });
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => app.close(() => resolve())));
    const rules = join(mkdtempSync(join(tmpdir(), 'dotmac-proxy-rules-')), 'rules.json');
    writeFileSync(
      rules,
      JSON.stringify([
        { pattern: 'private:*', subscribe: true, proxy_subscribe: true },
        { pattern: '*', subscribe: true },
      ]),
    );
    const base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    const { url } = await startApp({
      CHANNEL_RULES_FILE: rules,
      PROXY_SECRET: SECRET,
      PROXY_SUBSCRIBE_URL: `${base}/subscribe`,
    });
    const c = await TestClient.open(url);
    await c.welcome();
    expect((await c.request({ type: 'subscribe', channel: 'public:1' })).type).toBe('ack');
    expect((await c.request({ type: 'subscribe', channel: 'private:x' })).data).toEqual({
      code: 'forbidden',
      message: 'not yours',
    });
    // Only the rule that says proxy_subscribe was asked about.
    expect(asked).toEqual(['/subscribe private:x']);
    expect(
      problemsOf({
        CHANNEL_RULES_FILE: rules,
        PROXY_SECRET: SECRET,
        PROXY_SUBSCRIBE_URL: `${base}/subscribe`,
        PROXY_SUBSCRIBE_CHANNELS: 'a:*',
      }),
    ).toEqual([
      'PROXY_SUBSCRIBE_CHANNELS is set and CHANNEL_RULES_FILE names proxy_subscribe routes: keep one of them',
    ]);
  });

  it('is off without a PROXY_*_URL or WEBHOOK_URL', async () => {
    const { gateway } = await startApp({});
    expect(Object.keys((await gateway.healthCheck()).components)).not.toContain('app_backend');
  });

  it('asks for the secrets and names every other problem', () => {
    expect(
      problemsOf({
        PROXY_CONNECT_URL: 'http://app/connect',
        PROXY_RPC_URL: 'http://app/rpc',
        WEBHOOK_URL: 'http://app/hooks',
        WEBHOOK_TARGETS: '{not json',
      }),
    ).toEqual([
      'PROXY_CONNECT_URL, PROXY_RPC_URL is set but PROXY_SECRET is not: every proxy request is signed',
      expect.stringMatching(/^WEBHOOK_TARGETS is not JSON: /),
      'WEBHOOK_URL or WEBHOOK_TARGETS is set but WEBHOOK_SECRET is not: every webhook request is signed',
    ]);
    expect(
      problemsOf({
        PROXY_SUBSCRIBE_URL: 'http://app/sub',
        PROXY_SECRET: 'short',
        PROXY_SUBSCRIBE_CHANNELS: 'ok:*,bad channel',
        WEBHOOK_EVENTS: 'channel.occupied',
        WEBHOOK_TARGETS: '[{"url":"http://app/a","events":["nope"]},{"events":[]}]',
        WEBHOOK_SECRET: SECRET,
      }),
    ).toEqual([
      'WEBHOOK_EVENTS is set but WEBHOOK_URL is not: name the URL those events go to',
      'WEBHOOK_TARGETS entry 2 must be {"url":"…","events":[…]?,"name":"…"?}',
    ]);
    expect(
      problemsOf({
        PROXY_SUBSCRIBE_URL: 'http://app/sub',
        PROXY_SECRET: 'short',
        PROXY_SUBSCRIBE_CHANNELS: 'ok:*,bad channel',
        WEBHOOK_TARGETS: '[{"url":"http://app/a","events":["nope"]}]',
        WEBHOOK_SECRET: SECRET,
      }),
    ).toEqual([
      'proxy.secret must be a string of at least 16 characters',
      'proxy.subscribeChannels[1] is "bad channel" when it must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / = and *',
      'webhooks.targets[0].events is an array when it must list some of session.connected, session.disconnected, channel.occupied, channel.vacated, presence.member_added, presence.member_removed, client.event (unknown: nope)',
    ]);
    expect(
      problemsOf({
        BACKEND: 'redis',
        REDIS_CLUSTER_NODES: 'r1:6379,r2:6379',
        WEBHOOK_URL: 'http://app/hooks',
        WEBHOOK_SECRET: SECRET,
      }),
    ).toEqual([
      'WEBHOOK_OCCUPANCY_STORE is redis but REDIS_CLUSTER_NODES is set: occupancy needs one Redis (REDIS_URL); set WEBHOOK_OCCUPANCY_STORE=memory for per-node occupancy',
    ]);
  });
});
