import { TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { from, startLimited, userTokens } from './helpers';
import { rawUpgrade } from './raw-upgrade';

const inBand = { authenticator: userTokens, requireToken: true } as const;

async function authed(url: string, n: number, token: string): Promise<TestClient> {
  const c = await TestClient.open(url, from(n));
  await c.welcome();
  const reply = await c.request({ type: 'auth', data: { token } });
  expect(reply.type).toBe('ack');
  return c;
}

describe('connection limits of sessions that authenticate in-band', () => {
  it('counts the user at auth: the third session of a user limited to 2 gets rate_limited, then 4429', async () => {
    const { url } = await startLimited(
      { maxConnectionsPerIp: 0, maxConnectionsPerUser: 2, connectionRetryAfterSec: 3 },
      inBand,
    );
    const first = await authed(url, 60, 'user:ivy');
    await authed(url, 61, 'user:ivy');

    const third = await TestClient.open(url, from(62));
    await third.welcome();
    expect(await third.request({ type: 'auth', id: 'a3', data: { token: 'user:ivy' } })).toEqual({
      type: 'error',
      id: 'a3',
      data: {
        code: 'rate_limited',
        message: 'too many open connections for this user',
        retry_after_ms: 3000,
      },
    });
    expect(await third.waitClose(2000)).toEqual({ code: 4429, reason: 'rate_limited' });
    // Another user is not affected.
    await authed(url, 62, 'user:jon');

    first.close();
    await first.waitClose();
    await waitUntil(
      async () => {
        const c = await TestClient.open(url, from(63));
        await c.welcome();
        const reply = await c.request({ type: 'auth', data: { token: 'user:ivy' } });
        c.close();
        return reply.type === 'ack';
      },
      3000,
      'a place for ivy after a close',
    );
  });

  it('a re-auth of the same user is not counted twice', async () => {
    const { url } = await startLimited({ maxConnectionsPerIp: 0, maxConnectionsPerUser: 1 }, inBand);
    const c = await authed(url, 64, 'user:kim');
    expect((await c.request({ type: 'auth', data: { token: 'user:kim' } })).type).toBe('ack');
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
  });

  it('counts the tenant at auth, not while the client is anonymous', async () => {
    const { url } = await startLimited({ maxConnectionsPerIp: 0, maxConnectionsPerTenant: 1 }, inBand);
    // Anonymous sockets that name the tenant hold none of its quota.
    const idle = await Promise.all([70, 71].map((n) => TestClient.open(`${url}/tenant/acme`, from(n))));
    for (const c of idle) await c.welcome();
    const member = await authed(`${url}/tenant/acme`, 72, 'user:lea@acme');
    expect(member.closed).toBeNull();
    const second = await TestClient.open(`${url}/tenant/acme`, from(73));
    await second.welcome();
    expect((await second.request({ type: 'auth', data: { token: 'user:max@acme' } })).data).toEqual({
      code: 'rate_limited',
      message: 'too many open connections for this tenant',
      retry_after_ms: 5000,
    });
    expect((await second.waitClose(2000)).code).toBe(4429);
  });
});

describe('the auth timeout', () => {
  it('ends a silent socket at authTimeoutMs, giving its address count back', async () => {
    const { url, gw } = await startLimited({ maxConnectionsPerIp: 1 }, { ...inBand, authTimeoutMs: 300 });
    const port = gw.address()!.port;
    const started = Date.now();
    // Upgrades, then never sends a byte: no auth, and no answer to the close frame.
    const silent = await rawUpgrade(port, '127.0.0.80', '/ws/tenant/acme');
    expect((await TestClient.refused(url, from(80))).status).toBe(429);
    await silent.ended(300 + 1000);
    expect(Date.now() - started).toBeLessThan(300 + 1000);
    await waitUntil(
      async () => {
        try {
          const c = await TestClient.open(url, from(80));
          await c.welcome();
          return true;
        } catch {
          return false;
        }
      },
      1000,
      'the address to connect again',
    );
  });
});
