import { randomUUID } from 'node:crypto';
import { RedisBackend } from '@dotmac-ws/backend-redis';
import { silentLogger } from '@dotmac-ws/core';
import { onCleanup, SHARED_REDIS, sharedServiceMissing, sleep, waitUntil } from '@dotmac-ws/test-utils';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type OccupancyChange, RedisChannelOccupancy, type WebhookEvent } from '../src';
import { type AppRequest, connect, SECRET, startBacked, TestApp } from './helpers';

const REDIS_URL = `redis://${SHARED_REDIS.host}:${SHARED_REDIS.port}`;
const missing = await sharedServiceMissing(SHARED_REDIS);
if (missing) console.warn(`skipping the Redis occupancy tests: ${missing}`);

/** The events of the requests the app answered 2xx (those count as delivered). */
function delivered(requests: readonly AppRequest[], ok: ReadonlySet<AppRequest>): WebhookEvent[] {
  return requests.filter((r) => ok.has(r)).flatMap((r) => (r.body as { events: WebhookEvent[] }).events);
}

/** Removes every key under `prefix` after the test. */
function cleanKeys(prefix: string): void {
  onCleanup(async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });
}

/**
 * Two gateway nodes on the shared Redis (backend and occupancy), sending webhooks to one app
 * that fails its first `failFirst` requests.
 */
async function twoNodes(options: { vacateDelayMs: number; leaseMs?: number; failFirst?: number }) {
  const prefix = `test:${randomUUID()}:`;
  cleanKeys(prefix);
  let seen = 0;
  const ok = new Set<AppRequest>();
  const app = await TestApp.start((req) => {
    if (++seen <= (options.failFirst ?? 0)) return { status: 500 };
    ok.add(req);
    return { body: {} };
  });
  const node = () =>
    startBacked(
      {
        webhooks: {
          targets: [{ url: app.url('/hooks'), events: ['channel.occupied', 'channel.vacated'] }],
          secret: SECRET,
          batchMs: 10,
          retryBaseMs: 50,
          vacateDelayMs: options.vacateDelayMs,
          occupancy: { redis: REDIS_URL, keyPrefix: prefix, leaseMs: options.leaseMs ?? 60_000 },
        },
      },
      { backend: new RedisBackend({ url: REDIS_URL, keyPrefix: prefix }) },
    );
  const [a, b] = await Promise.all([node(), node()]);
  return { app, a, b, prefix, events: () => delivered(app.requests, ok) };
}

describe.skipIf(missing !== false)('cluster-wide occupancy on Redis, two nodes', () => {
  it('tells occupied and vacated exactly once per cluster-wide transition, through retries', async () => {
    const { a, b, events } = await twoNodes({ vacateDelayMs: 200, failFirst: 2 });
    const onA = await Promise.all([1, 2, 3].map(() => connect(a.url)));
    const onB = await Promise.all([1, 2, 3].map(() => connect(b.url)));
    const everyone = [...onA, ...onB];
    for (let cycle = 0; cycle < 3; cycle++) {
      // Everyone at once, on both nodes: one transition each way.
      await Promise.all(everyone.map((c) => c.request({ type: 'subscribe', channel: 'room' })));
      await waitUntil(() => events().length === cycle * 2 + 1, 5000, `occupied #${cycle + 1}`);
      await Promise.all(onA.map((c) => c.request({ type: 'unsubscribe', channel: 'room' })));
      await sleep(400);
      expect(events()).toHaveLength(cycle * 2 + 1);
      await Promise.all(onB.map((c) => c.request({ type: 'unsubscribe', channel: 'room' })));
      await waitUntil(() => events().length === cycle * 2 + 2, 5000, `vacated #${cycle + 1}`);
    }
    await sleep(500);
    const got = events();
    expect(got.map((e) => `${e.name} ${e.channel}`)).toEqual([
      'channel.occupied room',
      'channel.vacated room',
      'channel.occupied room',
      'channel.vacated room',
      'channel.occupied room',
      'channel.vacated room',
    ]);
    expect(new Set(got.map((e) => e.id)).size).toBe(6);
    expect(new Set(got.map((e) => e.node_id)).size).toBeGreaterThanOrEqual(1);
    for (const e of got) expect([a.gateway.nodeId, b.gateway.nodeId]).toContain(e.node_id);
  });

  it('sends nothing when the last subscriber on one node leaves and one on the other node comes within the delay', async () => {
    const { a, b, events } = await twoNodes({ vacateDelayMs: 500 });
    const ca = await connect(a.url);
    const cb = await connect(b.url);
    await ca.request({ type: 'subscribe', channel: 'hop' });
    await waitUntil(() => events().length === 1);
    const left = Date.now();
    await ca.request({ type: 'unsubscribe', channel: 'hop' });
    await sleep(150);
    await cb.request({ type: 'subscribe', channel: 'hop' });
    await sleep(900);
    expect(events().map((e) => e.name)).toEqual(['channel.occupied']);
    cb.close();
    await waitUntil(() => events().length === 2, 3000, 'vacated');
    expect(Date.now() - left).toBeGreaterThanOrEqual(1000);
    expect(events().map((e) => e.name)).toEqual(['channel.occupied', 'channel.vacated']);
  });

  it("lets a dead node's share expire: its channel is vacated once by a live node, not while another holds it", async () => {
    const { a, b, prefix, events } = await twoNodes({ vacateDelayMs: 100, leaseMs: 600 });
    // A node that takes two channels, then dies (its Redis connection drops, nothing is let go of).
    const told: OccupancyChange[] = [];
    const client = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const dead = new RedisChannelOccupancy({
      redis: client,
      keyPrefix: prefix,
      leaseMs: 600,
      logger: silentLogger,
    });
    onCleanup(() => dead.stop());
    await new Promise<void>((resolve) => client.once('ready', () => resolve()));
    dead.start('dead-node', 100, (change) => told.push(change));
    dead.occupied({ name: 'ghost', internal: 'ghost', tenantId: null });
    dead.occupied({ name: 'shared', internal: 'shared', tenantId: null });
    await waitUntil(() => told.length === 2);
    expect(told.map((c) => `${c.kind} ${c.channel.name}`)).toEqual(['occupied ghost', 'occupied shared']);
    const cb = await connect(b.url);
    await cb.request({ type: 'subscribe', channel: 'shared' });
    client.disconnect();
    const died = Date.now();

    await waitUntil(() => events().length === 1, 3000, "the dead node's channel vacated");
    expect(Date.now() - died).toBeGreaterThanOrEqual(500);
    expect(events()[0]).toMatchObject({ name: 'channel.vacated', channel: 'ghost', tenant_id: null });
    expect([a.gateway.nodeId, b.gateway.nodeId]).toContain(events()[0]?.node_id);
    await sleep(600);
    expect(events()).toHaveLength(1);
    await cb.request({ type: 'unsubscribe', channel: 'shared' });
    await waitUntil(() => events().length === 2, 3000, 'shared vacated');
    expect(events().map((e) => `${e.name} ${e.channel}`)).toEqual([
      'channel.vacated ghost',
      'channel.vacated shared',
    ]);
  });
});
