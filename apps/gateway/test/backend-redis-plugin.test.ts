import { randomBytes } from 'node:crypto';
import { RedisBackend } from '@dotmac-ws/backend-redis';
import { onCleanup, SHARED_REDIS, sharedServiceMissing, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { createGatewayFromEnv } from '../src/index';
import { BASE_ENV as BASE, problemsOf } from './helpers';

const redisUp = (await sharedServiceMissing(SHARED_REDIS)) === false;

describe('backend-redis plugin', () => {
  it('builds a RedisBackend from BACKEND=redis and the REDIS_* variables', () => {
    const { gateway } = createGatewayFromEnv({
      ...BASE,
      BACKEND: 'redis',
      REDIS_URL: 'redis://:secret@cache:6380/2',
      REDIS_KEY_PREFIX: 'chat-prod:',
    });
    const backend = gateway.config.backend as RedisBackend;
    expect(backend).toBeInstanceOf(RedisBackend);
    expect(backend.isCluster).toBe(false);
    expect(backend.channelOf('channel:news')).toBe('chat-prod:channel:news');

    const cluster = createGatewayFromEnv({
      ...BASE,
      BACKEND: 'redis',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7000',
      REDIS_SHARDED: 'true',
    }).gateway.config.backend as RedisBackend;
    expect(cluster.isCluster).toBe(true);
    expect(cluster.channelOf('user:u1')).toBe('dotmac-ws:user:u1');
  });

  it('reports bad Redis settings in the names of the variables', () => {
    expect(
      problemsOf({
        BACKEND: 'redis',
        REDIS_URL: 'redis://:pw@host:6379/x',
        REDIS_KEY_PREFIX: 'has space',
        REDIS_CLUSTER_NODES: 'ok:7000,nohost,h:99999',
      }),
    ).toEqual([
      "REDIS_URL names the database 'x' when it must be an integer from 0 (as in redis://host:6379/0)",
      "REDIS_CLUSTER_NODES entry 2 is 'nohost' when it must be host:port (port 1-65535) or a redis:// URL",
      "REDIS_CLUSTER_NODES entry 3 is 'h:99999' when it must be host:port (port 1-65535) or a redis:// URL",
      "REDIS_KEY_PREFIX is set as 'has space' when it must be a string of at most 200 characters without spaces or braces",
    ]);
    expect(problemsOf({ BACKEND: 'redis', REDIS_SHARDED: 'maybe' })).toEqual([
      "REDIS_SHARDED is set as 'maybe' when it must be true or false",
    ]);
  });

  it.skipIf(!redisUp)('runs two reference gateways that deliver to each other over Redis', async () => {
    const env = {
      BACKEND: 'redis',
      REDIS_KEY_PREFIX: `dotmac-ws-test:gw-${randomBytes(4).toString('hex')}:`,
      API_KEY: 'k3y',
    };
    const started = [];
    for (let i = 0; i < 2; i++) {
      const { gateway } = createGatewayFromEnv({ ...BASE, ...env });
      await gateway.start();
      onCleanup(() => gateway.stop());
      started.push(gateway);
    }
    const [a, b] = await Promise.all(
      started.map((g) => TestClient.open(`ws://127.0.0.1:${g.address()!.port}/ws`)),
    );
    for (const c of [a!, b!]) {
      await c.welcome();
      expect(await c.request({ type: 'subscribe', channel: 'room.1' })).toMatchObject({ type: 'ack' });
    }
    a!.send({ type: 'publish', channel: 'room.1', data: { text: 'hi' } });
    expect(await b!.waitFor((f) => f.type === 'message', 3000, 'the message')).toEqual({
      type: 'message',
      channel: 'room.1',
      data: { text: 'hi' },
    });
    // The details (backend, mode) are for the API key holder.
    const res = await fetch(`http://127.0.0.1:${started[0]!.address()!.port}/health`, {
      headers: { authorization: 'Bearer k3y' },
    });
    const health = (await res.json()) as {
      status: string;
      components: { scaling_backend: Record<string, unknown> };
    };
    expect(res.status).toBe(200);
    expect(health.status).toBe('healthy');
    expect(health.components.scaling_backend).toMatchObject({
      status: 'healthy',
      backend: 'redis',
      mode: 'standalone',
    });
  });
});
