import net from 'node:net';
import { HandshakeError, type WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup, sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { RateLimiter } from '../src';
import { from, sessionOf, startLimited } from './helpers';

/** Open connections of `scope` as the limiter counts them, seen through `probe`'s session. */
async function openCount(limiter: RateLimiter, gw: WebSocketGateway, probe: TestClient, scope: string) {
  const status = await limiter.getRateLimitStatus(await sessionOf(gw, probe));
  return status.connections.find((c) => c.scope === scope)?.open;
}

describe('connection limits', () => {
  it('refuses the 4th connection from one address with 429 and Retry-After; one after a close succeeds', async () => {
    const { url, gw, limiter } = await startLimited({ maxConnectionsPerIp: 3, connectionRetryAfterSec: 7 });
    const open = await Promise.all([1, 2, 3].map(() => TestClient.open(url, from(2))));
    for (const c of open) await c.welcome();
    expect(await openCount(limiter, gw, open[1]!, 'ip')).toBe(3);

    const refusal = await TestClient.refused(url, from(2));
    expect(refusal.status).toBe(429);
    expect(refusal.headers['retry-after']).toBe('7');
    expect(JSON.parse(refusal.body)).toEqual({
      error: { code: 'rate_limited', message: 'too many open connections for this address' },
    });
    // A refusal is not counted, and another address is not affected.
    expect(await openCount(limiter, gw, open[1]!, 'ip')).toBe(3);
    await (await TestClient.open(url, from(3))).welcome();

    open[0]!.close();
    await open[0]!.waitClose();
    await waitUntil(
      async () => (await openCount(limiter, gw, open[1]!, 'ip')) === 2,
      3000,
      'the count to drop',
    );
    const again = await TestClient.open(url, from(2));
    await again.welcome();
    expect(await openCount(limiter, gw, open[1]!, 'ip')).toBe(3);
  });

  it('counts a socket that is terminated (no close handshake) down too', async () => {
    const { url, gw, limiter } = await startLimited({ maxConnectionsPerIp: 2 });
    const probe = await TestClient.open(url, from(4));
    const lost = await TestClient.open(url, from(4));
    await lost.welcome();
    lost.terminate();
    await waitUntil(async () => (await openCount(limiter, gw, probe, 'ip')) === 1, 3000, 'the count to drop');
    await (await TestClient.open(url, from(4))).welcome();
  });

  it('limits open connections per user across addresses, within the tenant', async () => {
    const { url } = await startLimited({ maxConnectionsPerIp: 0, maxConnectionsPerUser: 2 });
    const alice = { 'x-test-user': 'alice' };
    await (await TestClient.open(url, from(5, alice))).welcome();
    await (await TestClient.open(url, from(6, alice))).welcome();
    const refusal = await TestClient.refused(url, from(7, alice));
    expect(refusal.status).toBe(429);
    expect(JSON.parse(refusal.body).error.message).toBe('too many open connections for this user');
    // Another user, and the same user id in a tenant, are other users.
    await (await TestClient.open(url, from(5, { 'x-test-user': 'bob' }))).welcome();
    await (await TestClient.open(url, from(5, { ...alice, 'x-test-tenant': 'acme' }))).welcome();
  });

  it('limits open connections per tenant', async () => {
    const { url } = await startLimited({ maxConnectionsPerIp: 0, maxConnectionsPerTenant: 2 });
    await (await TestClient.open(`${url}/tenant/acme`, from(8))).welcome();
    await (await TestClient.open(url, from(9, { 'x-test-tenant': 'acme' }))).welcome();
    const refusal = await TestClient.refused(`${url}/tenant/acme`, from(10));
    expect(refusal.status).toBe(429);
    expect(JSON.parse(refusal.body).error.message).toBe('too many open connections for this tenant');
    await (await TestClient.open(`${url}/tenant/globex`, from(10))).welcome();
  });

  it('gives the count back when a later middleware refuses the handshake', async () => {
    const { url, gw } = await startLimited({ maxConnectionsPerIp: 1 });
    gw.use({
      connection: async (ctx, next) => {
        if (ctx.request.headers['x-refuse'] === 'yes') throw new HandshakeError(403, 'refused by test');
        await next();
      },
    });
    for (let i = 0; i < 3; i++) {
      expect((await TestClient.refused(url, from(11, { 'x-refuse': 'yes' }))).status).toBe(403);
    }
    await (await TestClient.open(url, from(11))).welcome();
    expect((await TestClient.refused(url, from(11))).status).toBe(429);
  });

  it('gives the count back when the client goes away before the upgrade', async () => {
    const { url, gw } = await startLimited({ maxConnectionsPerIp: 1 });
    let entered = 0;
    gw.use({
      connection: async (ctx, next) => {
        if (ctx.request.headers['x-slow'] === 'yes') {
          entered++;
          await sleep(300);
        }
        await next();
      },
    });
    const port = new URL(url).port;
    const socket = net.connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.12' });
    onCleanup(() => socket.destroy());
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nx-slow: yes\r\n\r\n',
    );
    await waitUntil(() => entered === 1, 3000, 'the handshake to reach the slow middleware');
    socket.destroy();
    // While it was pending the count was taken; once it is gone, the address may connect again.
    await waitUntil(
      async () => {
        try {
          await (await TestClient.open(url, from(12))).welcome();
          return true;
        } catch {
          return false;
        }
      },
      3000,
      'a connection after the lost handshake',
    );
  });

  it('does not count a scope whose limit is 0', async () => {
    const { url, gw, limiter } = await startLimited({
      maxConnectionsPerIp: 0,
      maxConnectionsPerUser: 0,
      maxConnectionsPerTenant: 0,
    });
    const clients = await Promise.all(
      [1, 2, 3, 4, 5].map(() => TestClient.open(url, from(13, { 'x-test-user': 'u' }))),
    );
    const status = await limiter.getRateLimitStatus(await sessionOf(gw, clients[0]!));
    expect(status.connections).toEqual([]);
  });
});
