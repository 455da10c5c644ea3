import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { ChannelPolicy } from '../src/index';
import { startTestGateway } from './helpers';
import { rawExchange, upgradeRequest } from './raw-http';
import { testAuthenticator as authenticator } from './test-authenticator';

const TENANTLESS_AT_HANDSHAKE = {
  error: { code: 'tenant_mismatch', message: 'the token has no tenant_id and cannot enter a tenant' },
};

describe('a token without tenant_id', () => {
  it('cannot enter a tenant named by the path, X-Tenant-ID or ?tenant= at the handshake (403)', async () => {
    const { url } = await startTestGateway({ authenticator });
    const bearer = { Authorization: 'Bearer good.alice' };
    for (const [where, target, headers] of [
      ['path', `${url}/tenant/acme`, bearer],
      ['header', url, { ...bearer, 'X-Tenant-ID': 'acme' }],
      ['query', `${url}?tenant=acme`, bearer],
    ] as const) {
      const refusal = await TestClient.refused(target, { headers });
      expect(refusal.status, where).toBe(403);
      expect(JSON.parse(refusal.body), where).toEqual(TENANTLESS_AT_HANDSHAKE);
    }
    // Outside any tenant it is fine, and so is a token of that tenant.
    expect((await (await TestClient.open(url, { headers: bearer })).welcome()).data).toMatchObject({
      authenticated: true,
      tenant_id: null,
    });
    const own = await TestClient.open(`${url}/tenant/acme`, {
      headers: { Authorization: 'Bearer good.alice.acme' },
    });
    expect((await own.welcome()).data).toMatchObject({ tenant_id: 'acme' });
  });

  it('cannot authenticate in-band on a tenant URL (forbidden, with the request id)', async () => {
    const { url } = await startTestGateway({ authenticator, requireToken: true });
    const c = await TestClient.open(`${url}/tenant/acme`);
    expect(await c.request({ type: 'auth', id: 'a1', data: { token: 'good.alice' } })).toEqual({
      type: 'error',
      id: 'a1',
      data: { code: 'forbidden', message: 'the token has no tenant_id and cannot enter a tenant' },
    });
    expect((await c.request({ type: 'subscribe', data: { channel: 'news' } })).data).toMatchObject({
      code: 'unauthenticated',
    });
  });

  it('is accepted in any tenant when tenantAgnosticTokens is on, at the handshake and in-band', async () => {
    const { url } = await startTestGateway({ authenticator, tenantAgnosticTokens: true });
    const atHandshake = await TestClient.open(`${url}/tenant/acme`, {
      headers: { Authorization: 'Bearer good.alice' },
    });
    expect((await atHandshake.welcome()).data).toMatchObject({ user_id: 'alice', tenant_id: 'acme' });
    const inBand = await TestClient.open(`${url}/tenant/acme`);
    expect(await inBand.request({ type: 'auth', id: 2, data: { token: 'good.bob' } })).toMatchObject({
      type: 'ack',
      id: 2,
      data: { user_id: 'bob', tenant_id: 'acme' },
    });
  });
});

describe('the auth timeout', () => {
  it('ends the socket even when the client never answers the close frame', async () => {
    const { port } = await startTestGateway({ authenticator, requireToken: true, authTimeoutMs: 200 });
    const started = Date.now();
    // A raw client: it upgrades, then never sends a byte (no auth, no close reply).
    const answer = await rawExchange(port, upgradeRequest('/ws'), 3000);
    expect(answer.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
    expect(answer.closedByServer).toBe(true);
    expect(Date.now() - started).toBeLessThan(200 + 1000);
    // The close frame (opcode 8) with 4401 came before the end: 0x88, length, 0x11 0x31.
    expect(answer.text).toContain('\x88\x0e\x11\x31unauthorized');
  });
});

describe('re-auth with fewer rights', () => {
  const policy: ChannelPolicy = {
    canSubscribe: (session, channel) => !channel.name.startsWith('staff') || session.roles.includes('staff'),
    canPublish: () => false,
  };

  it('drops the subscriptions the policy no longer allows, with an unsubscribed push', async () => {
    const { gw, url } = await startTestGateway({ authenticator, channelPolicy: policy });
    const c = await TestClient.open(url, {
      headers: { Authorization: 'Bearer good.alice.-.-.staff+reader' },
    });
    await c.welcome();
    expect((await c.request({ type: 'subscribe', data: { channel: 'staff-room' } })).type).toBe('ack');
    expect((await c.request({ type: 'subscribe', data: { channel: 'lobby' } })).type).toBe('ack');
    await gw.broadcastToChannel('staff-room', 'memo', { n: 1 });
    await c.waitFor((f) => f.type === 'memo');

    const before = c.frames.length;
    const ack = await c.request({ type: 'auth', data: { token: 'good.alice.-.-.reader' } });
    expect(ack).toMatchObject({ type: 'ack', data: { roles: ['reader'] } });
    expect(c.since(before).filter((f) => f.type === 'unsubscribed')).toEqual([
      { type: 'unsubscribed', channel: 'staff-room', data: { reason: 'forbidden' } },
    ]);

    // Later publications on that channel do not arrive; the allowed channel still works.
    await gw.broadcastToChannel('staff-room', 'memo', { n: 2 });
    await gw.broadcastToChannel('lobby', 'hello', { n: 3 });
    await c.waitFor((f) => f.type === 'hello');
    expect(c.frames.filter((f) => f.type === 'memo').map((f) => f.data)).toEqual([{ n: 1 }]);
    expect(gw.getStats().subscriptions).toBe(1);
  });

  it('keeps every subscription when the rights still allow them', async () => {
    const { url } = await startTestGateway({ authenticator, channelPolicy: policy });
    const c = await TestClient.open(`${url}?token=good.alice.-.-.staff`);
    await c.welcome();
    await c.request({ type: 'subscribe', data: { channel: 'staff-room' } });
    const before = c.frames.length;
    expect((await c.request({ type: 'auth', data: { token: 'good.alice.-.-.staff+admin' } })).type).toBe(
      'ack',
    );
    expect(c.since(before).map((f) => f.type)).toEqual(['ack']);
  });
});
