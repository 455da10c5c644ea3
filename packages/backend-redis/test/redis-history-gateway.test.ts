import { type ChannelPolicy, type GatewayOptions, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup, type RecordedFrame, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { RedisBackend, RedisHistoryStore, RedisPresenceStore } from '../src/index';
import { RedisProcess, redisBinariesMissing } from './redis-process';
import { SHARED_REDIS_URL, sharedRedisMissing, uniquePrefix } from './shared-redis';

const missing = await sharedRedisMissing();
const cannotStartRedis = await redisBinariesMissing();

const policy: ChannelPolicy = {
  canSubscribe: () => true,
  canPublish: () => true,
  options: (c) =>
    c.name.startsWith('room:')
      ? { historySize: 1000, historyTtlMs: 60_000, presence: true, joinLeave: true }
      : null,
};

/** A started gateway node on Redis: backend, history and presence in the Redis at `url`. */
async function node(url: string, keyPrefix: string, nodeId: string, extra: GatewayOptions = {}) {
  const redis = { url, keyPrefix, reconnectMaxDelayMs: 200 };
  const gw = new WebSocketGateway({
    port: 0,
    host: '127.0.0.1',
    nodeId,
    logger: silentLogger,
    channelPolicy: policy,
    backend: new RedisBackend(redis),
    history: new RedisHistoryStore(redis),
    presence: new RedisPresenceStore(redis),
    ...extra,
  });
  await gw.start();
  onCleanup(() => gw.stop());
  return { gw, url: `ws://127.0.0.1:${gw.address()!.port}/ws` };
}

async function client(url: string): Promise<TestClient> {
  const c = await TestClient.open(url);
  await c.welcome();
  return c;
}

const messages = (c: TestClient, channel: string) =>
  c.frames.filter((f) => f.type === 'message' && f.channel === channel);
const ackData = (f: RecordedFrame) => {
  expect(f.type, JSON.stringify(f)).toBe('ack');
  return f.data as Record<string, unknown>;
};

describe.skipIf(missing !== false)('history and presence through gateways on Redis', () => {
  it('publishers on two nodes: every subscriber on every node sees one contiguous order', async () => {
    const prefix = uniquePrefix();
    const nodes = [await node(SHARED_REDIS_URL, prefix, 'r1'), await node(SHARED_REDIS_URL, prefix, 'r2')];
    const clients = [await client(nodes[0]!.url), await client(nodes[1]!.url), await client(nodes[1]!.url)];
    for (const c of clients) await c.request({ type: 'subscribe', data: { channel: 'room:order' } });
    await Promise.all(
      nodes.map((n, k) =>
        Promise.all(
          Array.from({ length: 100 }, (_, i) => n.gw.publish('room:order', 'message', `${k}-${i}`)),
        ),
      ),
    );
    for (const c of clients)
      await waitUntil(() => messages(c, 'room:order').length >= 200, 5000, '200 messages');
    const first = messages(clients[0]!, 'room:order').map((f) => [f.offset, f.data]);
    expect(first.map((x) => x[0])).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    for (const c of clients.slice(1))
      expect(messages(c, 'room:order').map((f) => [f.offset, f.data])).toEqual(first);
  });

  it('a client of a stopped node recovers on another node, exactly once and in order', async () => {
    const prefix = uniquePrefix();
    const a = await node(SHARED_REDIS_URL, prefix, 'ra');
    const b = await node(SHARED_REDIS_URL, prefix, 'rb');
    const c1 = await client(a.url);
    const sub = ackData(await c1.request({ type: 'subscribe', data: { channel: 'room:move' } }));
    for (let i = 1; i <= 5; i++) await b.gw.publish('room:move', 'message', i);
    await waitUntil(() => messages(c1, 'room:move').length === 5);
    const last = messages(c1, 'room:move').at(-1)!.offset as number;
    c1.terminate();
    for (let i = 6; i <= 9; i++) await b.gw.publish('room:move', 'message', i);
    const c2 = await client(b.url);
    const rec = ackData(
      await c2.request({
        type: 'subscribe',
        data: { channel: 'room:move', since: { offset: last, epoch: sub.epoch } },
      }),
    );
    expect(rec).toMatchObject({ recovered: true, offset: 9, epoch: sub.epoch });
    expect(rec.publications).toEqual([6, 7, 8, 9].map((i) => ({ type: 'message', data: i, offset: i })));
  });

  it.skipIf(cannotStartRedis !== false)(
    "a killed history and presence Redis shows in the gateway's health as degraded, and heals",
    async () => {
      const stores = await RedisProcess.start();
      const own = { url: stores.url, keyPrefix: uniquePrefix(), reconnectMaxDelayMs: 200 };
      // The backend stays on the shared Redis: only the stores lose theirs.
      const n = await node(SHARED_REDIS_URL, uniquePrefix(), 'rh', {
        history: new RedisHistoryStore(own),
        presence: new RedisPresenceStore(own),
      });
      const before = await n.gw.healthCheck();
      expect(before.status).toBe('healthy');
      expect(before.components.history).toMatchObject({ status: 'healthy', store: 'redis' });
      expect(before.components.presence).toMatchObject({ status: 'healthy' });
      await stores.kill();
      await waitUntil(
        async () => (await n.gw.healthCheck()).components.history?.status === 'unhealthy',
        5000,
        'history unhealthy',
      );
      const during = await n.gw.healthCheck();
      expect(during.status).toBe('degraded');
      expect(during.components.presence?.status).toBe('unhealthy');
      expect(during.components.scaling_backend?.status).toBe('healthy');
      await stores.resume();
      await waitUntil(async () => (await n.gw.healthCheck()).status === 'healthy', 10_000, 'healthy again');
    },
  );

  it.skipIf(cannotStartRedis !== false)(
    'Redis restarted empty: a new epoch, and a recovering client is told recovered:false',
    async () => {
      const redis = await RedisProcess.start();
      const prefix = uniquePrefix();
      const n = await node(redis.url, prefix, 'rr');
      const c = await client(n.url);
      const sub = ackData(await c.request({ type: 'subscribe', data: { channel: 'room:flush' } }));
      await n.gw.publish('room:flush', 'message', 1);
      await waitUntil(() => messages(c, 'room:flush').length === 1);
      await redis.kill();
      await redis.resume();
      // The backend reconnects and resubscribes; publishes are accepted again.
      await waitUntil(
        () =>
          n.gw.publish('room:flush', 'message', 2).then(
            () => true,
            () => false,
          ),
        10_000,
        'publishes accepted after the restart',
      );
      const c2 = await client(n.url);
      const rec = ackData(
        await c2.request({
          type: 'subscribe',
          data: { channel: 'room:flush', since: { offset: 1, epoch: sub.epoch } },
        }),
      );
      expect(rec.recovered).toBe(false);
      expect(rec.epoch).not.toBe(sub.epoch);
      expect(rec.publications).toEqual([]);
      // The live subscriber's node follows the new epoch: the next publication reaches it.
      await n.gw.publish('room:flush', 'message', 3);
      await waitUntil(
        () => messages(c, 'room:flush').some((f) => f.data === 3),
        5000,
        'a delivery of the new epoch',
      );
    },
  );

  it('presence across three nodes: one list, one count, join and leave everywhere', async () => {
    const prefix = uniquePrefix();
    const nodes = [
      await node(SHARED_REDIS_URL, prefix, 'p1'),
      await node(SHARED_REDIS_URL, prefix, 'p2'),
      await node(SHARED_REDIS_URL, prefix, 'p3'),
    ];
    const watchers = await Promise.all(nodes.map((n) => client(n.url)));
    for (const w of watchers) await w.request({ type: 'subscribe', data: { channel: 'room:p' } });
    for (const n of nodes)
      await waitUntil(async () => (await n.gw.presenceStats('room:p')).num_clients === 3);
    const ids = await Promise.all(
      nodes.map(async (n) =>
        Object.fromEntries(Object.entries(await n.gw.presence('room:p')).map(([k, v]) => [k, v.node])),
      ),
    );
    expect(ids[1]).toEqual(ids[0]);
    expect(ids[2]).toEqual(ids[0]);
    expect(Object.values(ids[0]!).sort()).toEqual(['p1', 'p2', 'p3']);
    const joiner = await TestClient.open(nodes[2]!.url);
    const id = ((await joiner.welcome()).data as { session_id: string }).session_id;
    await joiner.request({ type: 'subscribe', data: { channel: 'room:p' } });
    const is = (type: string) => (f: RecordedFrame) =>
      f.type === type && f.channel === 'room:p' && (f.data as { client: string }).client === id;
    for (const w of watchers) await w.waitFor(is('join'));
    await joiner.request({ type: 'unsubscribe', data: { channel: 'room:p' } });
    for (const w of watchers) await w.waitFor(is('leave'));
  });
});
