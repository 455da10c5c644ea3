import { ConfigError } from '@dotmac-ws/core';
import {
  HandshakeRefused,
  SHARED_REDIS,
  sharedServiceMissing,
  TestClient,
  waitUntil,
} from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { SECRET, sign } from '../../../packages/auth-jwt/test/helpers';
import { createGatewayFromEnv } from '../src/index';
import { BASE_ENV as BASE, startApp } from './helpers';

async function performedOf(c: TestClient, n: number): Promise<number> {
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) => c.request({ type: 'ping', id: `p${i}` })),
  );
  return replies.filter((f) => f.type === 'pong').length;
}

const startUrl = async (env: Record<string, string>) => (await startApp(env)).url;

describe('ratelimit plugin', () => {
  it('is off unless RATE_LIMIT_ENABLED', async () => {
    const url = await startUrl({ MAX_CONNECTIONS_PER_IP: '1', BURST_SIZE: '1' });
    const a = await TestClient.open(url);
    await TestClient.open(url);
    expect(await performedOf(a, 5)).toBe(5);
  });

  it('limits connections per address and frames per bucket from the environment', async () => {
    const url = await startUrl({
      RATE_LIMIT_ENABLED: 'true',
      MAX_CONNECTIONS_PER_IP: '1',
      MESSAGES_PER_MINUTE: '60',
      BURST_SIZE: '3',
    });
    const a = await TestClient.open(url);
    await a.welcome();
    const refusal = await TestClient.refused(url);
    expect(refusal.status).toBe(429);
    expect(refusal.headers['retry-after']).toBe('5');
    expect(await performedOf(a, 6)).toBe(3);
  });

  it('TENANT_MESSAGES_PER_MINUTE gives each tenant one frame bucket shared by its sessions', async () => {
    const url = await startUrl({
      RATE_LIMIT_ENABLED: 'true',
      JWT_SECRET_KEY: SECRET,
      REQUIRE_TOKEN: 'true',
      MAX_CONNECTIONS_PER_IP: '0',
      MESSAGES_PER_MINUTE: '60',
      BURST_SIZE: '10',
      TENANT_MESSAGES_PER_MINUTE: '60',
      TENANT_BURST_SIZE: '4',
    });
    const open = (sub: string, tenant: string) =>
      TestClient.open(url, { headers: { Authorization: `Bearer ${sign({ sub, tenant_id: tenant })}` } });
    const [a, b, other] = await Promise.all([open('a', 'acme'), open('b', 'acme'), open('c', 'globex')]);
    for (const c of [a, b, other]) await c.welcome();
    // Each user's own bucket holds 10; acme's holds 4 for both of its users together.
    expect(await performedOf(a, 3)).toBe(3);
    expect(await performedOf(b, 3)).toBe(1);
    expect(await performedOf(other, 6)).toBe(4);
  });

  it('reports a bad value among the others', () => {
    let problems: readonly string[] = [];
    try {
      createGatewayFromEnv({
        ...BASE,
        BURST_SIZE: '0',
        RATE_LIMIT_STORE: 'disk',
        REDIS_URL: 'localhost:6379',
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      "BURST_SIZE is set as '0' when it must be an integer from 1 to 1000000",
      "RATE_LIMIT_STORE is set as 'disk' when it must be one of memory, redis",
      "REDIS_URL is set as 'localhost:6379' when it must be a URL such as 'redis://127.0.0.1:6379'",
    ]);
  });

  it('shares limits through REDIS_URL with RATE_LIMIT_STORE=redis', async (t) => {
    const missing = await sharedServiceMissing(SHARED_REDIS);
    if (missing) t.skip(missing);
    const env = {
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_STORE: 'redis',
      REDIS_URL: 'redis://127.0.0.1:6379',
      MAX_CONNECTIONS_PER_IP: '1',
      MESSAGES_PER_MINUTE: '60',
      BURST_SIZE: '4',
    };
    const urlA = await startUrl(env);
    const urlB = await startUrl(env);
    // Fresh client addresses per run, so that no earlier run's counts are in Redis.
    const net = `127.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    let probe = 0;
    // Each node connects to Redis in the background and decides alone until then: wait until
    // one address's connection on node A keeps it out of node B.
    await waitUntil(
      async () => {
        const localAddress = `${net}.${++probe}`;
        const a = await TestClient.open(urlA, { localAddress });
        await a.welcome();
        const b = await TestClient.open(urlB, { localAddress }).catch((error: unknown) => error);
        if (b instanceof TestClient) b.terminate();
        a.terminate();
        return b instanceof HandshakeRefused && b.status === 429;
      },
      5000,
      'both nodes to share counts through Redis',
    );
    const a = await TestClient.open(urlA, { localAddress: `${net}.200` });
    const b = await TestClient.open(urlB, { localAddress: `${net}.200` }).catch((error: unknown) => error);
    expect(b).toBeInstanceOf(HandshakeRefused);
    expect(await performedOf(a, 6)).toBe(4);
  });
});
