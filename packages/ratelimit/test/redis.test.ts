import { sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { type BucketRef, RedisBucketStore } from '../src';
import {
  cleanKeys,
  from,
  redisClient,
  sessionOf,
  sharedRedisUp,
  startLimited,
  startOwnRedis,
  uniquePrefix,
} from './helpers';

const up = await sharedRedisUp();
async function pings(c: TestClient, n: number, prefix: string) {
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) => c.request({ type: 'ping', id: `${prefix}${i}` })),
  );
  return replies.filter((f) => f.type === 'pong').length;
}

describe.skipIf(!up)('Redis store (127.0.0.1:6379)', () => {
  it('two gateway nodes on one Redis share a per-user connection limit', async () => {
    const keyPrefix = uniquePrefix();
    const limits = { keyPrefix, maxConnectionsPerIp: 0, maxConnectionsPerUser: 2 };
    const redisA = await redisClient();
    const redisB = await redisClient();
    cleanKeys(redisA, keyPrefix);
    const a = await startLimited({ ...limits, redis: redisA });
    const b = await startLimited({ ...limits, redis: redisB });
    const henry = { 'x-test-user': 'henry' };

    const onA = await TestClient.open(a.url, from(40, henry));
    await onA.welcome();
    const onB = await TestClient.open(b.url, from(41, henry));
    await onB.welcome();
    for (const node of [a, b]) {
      const refusal = await TestClient.refused(node.url, from(42, henry));
      expect(refusal.status).toBe(429);
      expect(JSON.parse(refusal.body).error.message).toBe('too many open connections for this user');
    }
    const status = await b.limiter.getRateLimitStatus(await sessionOf(b.gw, onB));
    expect(status.store).toBe('redis');
    expect(status.connections).toEqual([{ scope: 'user', key: '["henry"]', limit: 2, open: 2 }]);

    // A close on node A frees a place for node B.
    onA.close();
    await onA.waitClose();
    await waitUntil(
      async () => (await b.limiter.getRateLimitStatus(await sessionOf(b.gw, onB))).connections[0]!.open === 1,
      3000,
      'the shared count to drop',
    );
    await (await TestClient.open(b.url, from(43, henry))).welcome();
    // One field per node in the count hash: one connection on A, two on B.
    const perNode = Object.values(await redisA.hgetall(`${keyPrefix}:conn:user:["henry"]`));
    expect(perNode).toEqual(['2']);
  });

  it('makes and closes its own client from a redis:// URL', async () => {
    const keyPrefix = uniquePrefix();
    const check = await redisClient();
    cleanKeys(check, keyPrefix);
    const { url, limiter } = await startLimited({ redis: 'redis://127.0.0.1:6379', keyPrefix });
    const c = await TestClient.open(url, from(46));
    await c.welcome();
    // Until ioredis is loaded and connected the insurance limiter decides; then Redis does.
    await waitUntil(
      async () => {
        await c.request({ type: 'ping' });
        return limiter.store === 'redis';
      },
      5000,
      'the limiter to reach Redis',
    );
    expect(await check.exists(`${keyPrefix}:msg:ip:127.0.0.46`)).toBe(1);
  });

  it('two nodes share a user’s message bucket', async () => {
    const keyPrefix = uniquePrefix();
    const limits = { keyPrefix, messagesPerMinute: 60, burstSize: 5, messageLimits: { ip: false } };
    const redisA = await redisClient();
    const redisB = await redisClient();
    cleanKeys(redisA, keyPrefix);
    const a = await startLimited({ ...limits, redis: redisA }, { rateLimitCloseAfter: 1000 });
    const b = await startLimited({ ...limits, redis: redisB }, { rateLimitCloseAfter: 1000 });
    const ida = await TestClient.open(a.url, from(44, { 'x-test-user': 'ida' }));
    const idb = await TestClient.open(b.url, from(45, { 'x-test-user': 'ida' }));
    await ida.welcome();
    await idb.welcome();
    expect(await pings(ida, 3, 'a')).toBe(3);
    expect(await pings(idb, 4, 'b')).toBe(2);
    const refusal = await idb.request({ type: 'ping' });
    expect(refusal.type).toBe('error');
    const data = refusal.data as { code: string; retry_after_ms: number };
    expect(data.code).toBe('rate_limited');
    expect(data.retry_after_ms).toBeGreaterThan(0);
    expect(data.retry_after_ms).toBeLessThanOrEqual(1000);
  });

  it('the Lua bucket decides like the memory bucket: burst, exact refill, all-or-nothing', async () => {
    const redis = await redisClient();
    const keyPrefix = uniquePrefix();
    cleanKeys(redis, keyPrefix);
    const store = new RedisBucketStore(redis);
    const small: BucketRef = { key: `${keyPrefix}:a`, intervalMs: 200, toleranceMs: 600 }; // burst 3, 5/s
    const big: BucketRef = { key: `${keyPrefix}:b`, intervalMs: 200, toleranceMs: 2000 }; // burst 10
    const taken = [];
    for (let i = 0; i < 5; i++) taken.push(await store.take([small, big]));
    expect(taken.map((t) => t.allowed)).toEqual([true, true, true, false, false]);
    expect(taken[0]!.remaining).toEqual([2, 9]);
    expect(taken[3]!.remaining).toEqual([0, 7]); // refused: the big bucket gave nothing either
    expect(taken[3]!.retryAfterMs).toBeGreaterThan(150);
    expect(taken[3]!.retryAfterMs).toBeLessThanOrEqual(200);
    expect(await store.peek([small, big])).toEqual([0, 7]);
    await sleep(taken[4]!.retryAfterMs + 20);
    expect((await store.take([small, big])).allowed).toBe(true);
    expect((await store.take([small, big])).allowed).toBe(false);
    const ttl = await redis.pttl(small.key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(601);
  });
});

describe('Redis outage (own redis-server)', () => {
  it('falls back to the in-memory insurance limiter when Redis dies, keeps serving and limiting, and returns to Redis', async () => {
    const own = await startOwnRedis();
    const redis = await redisClient(own.port);
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger = {
      debug: () => undefined,
      info: (_f: unknown, msg?: string) => infos.push(msg ?? ''),
      warn: (_f: unknown, msg?: string) => warnings.push(msg ?? ''),
      error: () => undefined,
    };
    const { url, gw, limiter } = await startLimited(
      {
        redis,
        keyPrefix: uniquePrefix(),
        maxConnectionsPerIp: 2,
        messagesPerMinute: 60,
        burstSize: 5,
        messageLimits: { user: false },
        logger,
      },
      { rateLimitCloseAfter: 1000 },
    );
    const c = await TestClient.open(url, from(50));
    const session = await sessionOf(gw, c);
    expect(await pings(c, 2, 'r')).toBe(2);
    expect(limiter.store).toBe('redis');
    expect((await limiter.getRateLimitStatus(session)).messages[0]!.remaining).toBe(3);

    await own.kill();
    await waitUntil(() => redis.status !== 'ready', 3000, 'the client to notice');

    // Served by the insurance limiter: a fresh bucket on this node, same limits.
    const during = await Promise.all(
      Array.from({ length: 8 }, (_, i) => c.request({ type: 'ping', id: `f${i}` })),
    );
    expect(during.filter((f) => f.type === 'pong').length).toBe(5);
    expect(during.filter((f) => f.type === 'error').map((f) => (f.data as { code: string }).code)).toEqual([
      'rate_limited',
      'rate_limited',
      'rate_limited',
    ]);
    expect(limiter.store).toBe('insurance');
    expect(warnings).toEqual([
      'Redis is unreachable: rate limits fall back to this node (insurance limiter)',
    ]);
    const status = await limiter.getRateLimitStatus(session);
    expect(status.store).toBe('insurance');
    // The connection before the outage was counted in Redis; the insurance counter starts at 0.
    expect(status.connections).toEqual([{ scope: 'ip', key: '127.0.0.50', limit: 2, open: 0 }]);
    const second = await TestClient.open(url, from(50));
    await second.welcome();
    await (await TestClient.open(url, from(50))).welcome();
    expect((await TestClient.refused(url, from(50))).status).toBe(429);
    second.close();
    await second.waitClose();

    // Redis comes back on the same port: limits are shared again.
    await startOwnRedis(own.port);
    await waitUntil(() => redis.status === 'ready', 5000, 'the client to reconnect');
    expect(await pings(c, 1, 'b')).toBe(1);
    expect(limiter.store).toBe('redis');
    expect(infos).toContain('Redis is back: limits are shared again');
  });
});

describe('Redis that hangs (own redis-server, SIGSTOP)', () => {
  it('decides by the insurance limiter after redisTimeoutMs, and undoes a count Redis took late', async () => {
    const own = await startOwnRedis();
    const redis = await redisClient(own.port);
    const keyPrefix = uniquePrefix();
    const { url } = await startLimited({ redis, keyPrefix, maxConnectionsPerIp: 5, redisTimeoutMs: 100 });
    own.proc.kill('SIGSTOP');
    try {
      const t0 = performance.now();
      const c = await TestClient.open(url, from(51));
      await c.welcome();
      const ping = await c.request({ type: 'ping' });
      expect(ping.type).toBe('pong');
      // Two decisions (handshake, ping), each waited for at most about 100 ms.
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      own.proc.kill('SIGCONT');
    }
    // The handshake's consume reached Redis after its timeout; it is given back.
    await waitUntil(
      async () =>
        // The late acquire ran (it set this node's liveness key), and its count was given back.
        (await redis.keys(`${keyPrefix}:node:*`)).length === 1 &&
        (await redis.exists(`${keyPrefix}:conn:ip:127.0.0.51`)) === 0,
      3000,
      'the late count to be undone',
    );
  });
});
