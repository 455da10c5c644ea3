import { randomBytes } from 'node:crypto';
import { createClient, type DotmacClient } from '@dotmac-ws/client';
import {
  freePort,
  IN_CI,
  onCleanup,
  SHARED_REDIS,
  sharedServiceMissing,
  waitUntil,
} from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { gatewayServices } from './deploy-files';
import { startGateway } from './gateway-node';
import { NGINX, startNginx } from './nginx';

const redisMissing = await sharedServiceMissing(SHARED_REDIS);
const nginxHere = NGINX !== null;
if (!nginxHere && IN_CI)
  throw new Error("CI=true and no nginx: .ci/run installs Debian's nginx for this test");
const missing = [redisMissing || '', nginxHere ? '' : 'no nginx (apt-get install nginx)']
  .filter(Boolean)
  .join(', ');

const API_KEY = randomBytes(16).toString('hex');

/** The two gateways of deploy/docker-compose.yml, with their compose environment, on loopback and the real Redis. */
async function startDeployment() {
  const prefix = `dotmac-deploy-test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const nodes = new Map<string, Awaited<ReturnType<typeof startGateway>>>();
  for (const [name, service] of gatewayServices()) {
    const env = {
      ...service.environment,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: prefix,
      API_KEY,
      LOG_LEVEL: 'warn',
    };
    nodes.set(name, await startGateway(await freePort(), env));
  }
  const upstreams = Object.fromEntries([...nodes].map(([name, n]) => [name, n.port]));
  const port = await freePort();
  const nginx = await startNginx(upstreams, port);
  return { nodes, nginx, base: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/ws` };
}

/** A @dotmac-ws/client on `url` (reconnecting quickly), subscribed to `news`; closed after the test. */
async function subscriber(url: string) {
  const client: DotmacClient = createClient({
    url,
    WebSocket: WebSocket as never,
    reconnect: { minDelayMs: 50, maxDelayMs: 500, maxAttempts: 40 },
  });
  onCleanup(() => client.close());
  const nodes: string[] = [];
  const closes: number[] = [];
  const received: unknown[] = [];
  const reconnects: number[] = [];
  client.onEvent('reconnecting', ({ attempt }) => reconnects.push(attempt));
  client.onEvent('connected', ({ welcome }) => nodes.push(welcome.node_id));
  client.onEvent('disconnected', ({ code }) => closes.push(code));
  const news = client.subscribe('news', (data) => received.push(data));
  await client.whenConnected(10_000);
  await news.ready;
  return { client, nodes, closes, received, reconnects };
}

/**
 * Publishes `{ n }` on `news` with the HTTP API through nginx; expects `deliveredLocal` sessions
 * on the node that took the request, and every one of `subscribers` to receive it.
 */
async function publishToAll(
  base: string,
  n: number,
  deliveredLocal: number,
  subscribers: { received: unknown[] }[],
): Promise<void> {
  const res = await fetch(`${base}/api/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'news', type: 'headline', data: { n } }),
  });
  expect({ status: res.status, body: await res.json() }).toEqual({
    status: 200,
    body: { delivered_local: deliveredLocal },
  });
  await waitUntil(() => subscribers.every((s) => s.received.length === n), 5000, `message ${n} everywhere`);
  for (const s of subscribers) expect(s.received.at(-1)).toEqual({ n });
}

describe.skipIf(missing !== '')(
  `deploy/nginx.conf in the real nginx, in front of the two gateways of deploy/docker-compose.yml${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    it('passes /health and /ready through, keeps /metrics inside, and holds the API key', async () => {
      const { base } = await startDeployment();
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      const body = (await health.json()) as {
        status: string;
        components: Record<string, { status: string }>;
      };
      expect(body.status).toBe('healthy');
      expect(body.components.scaling_backend?.status).toBe('healthy');
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true });
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
      const noKey = await fetch(`${base}/api/publish`, { method: 'POST', body: '{}' });
      expect(noKey.status).toBe(401);
      expect(await noKey.json()).toMatchObject({ error: { code: 'unauthorized' } });
    });

    it('carries a message published through one node to a client of the other, and moves drained clients to the survivor', async () => {
      const { nodes, base, ws } = await startDeployment();
      // least_conn: the second session goes to the node without one.
      const a = await subscriber(ws);
      const b = await subscriber(ws);
      expect(new Set([a.nodes[0], b.nodes[0]])).toEqual(new Set(['gateway-1', 'gateway-2']));

      // One HTTP publish lands on one node; the client on the other gets it through Redis.
      await publishToAll(base, 1, 1, [a, b]);

      // SIGTERM on the node of client a: it is drained with 1001 and reconnects through nginx to the survivor.
      const [drainedName, survivorName] = [a.nodes[0]!, b.nodes[0]!];
      expect(await nodes.get(drainedName)!.proc.stop('SIGTERM')).toBe(0);
      await waitUntil(
        () => a.nodes.length === 2 && a.client.state === 'connected',
        10_000,
        'client a to reconnect',
      );
      expect(a.closes[0]).toBe(1001);
      expect(a.nodes[1]).toBe(survivorName);
      // On its first attempt: nginx passed over the draining (503) or closed node by itself.
      expect(a.reconnects).toHaveLength(1);
      expect(b.closes).toEqual([]);

      // Its subscription was sent again on connecting; a ping answered after it means it is in place.
      await a.client.request('ping', {}, { timeoutMs: 3000 });
      await publishToAll(base, 2, 2, [a, b]);
    });
  },
);
