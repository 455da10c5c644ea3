import { onCleanup, sleep, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { ObservabilityHooks } from '../src/index';
import { startTestGateway } from './helpers';
import { testAuthenticator } from './test-authenticator';

const authenticator = testAuthenticator;

async function welcomeOf(c: TestClient) {
  return (await c.welcome()).data as Record<string, unknown>;
}

describe('tokens at the handshake', () => {
  it.each([
    ['header', { headers: { Authorization: 'Bearer good.alice' } }, ''],
    ['query', {}, '?token=good.alice'],
    ['subprotocol', { protocols: ['dotmac.v1', 'bearer.good.alice'] }, ''],
  ])('a token in the %s authenticates the session', async (_where, options, query) => {
    const { url } = await startTestGateway({ authenticator });
    const c = await TestClient.open(url + query, options);
    expect(await welcomeOf(c)).toMatchObject({ authenticated: true, user_id: 'alice', tenant_id: null });
    if ('protocols' in options) expect(c.ws.protocol).toBe('dotmac.v1');
  });

  it('the header wins over the query, the query over the subprotocol', async () => {
    const { url } = await startTestGateway({ authenticator });
    const c = await TestClient.open(`${url}?token=good.bob`, {
      headers: { Authorization: 'Bearer good.alice' },
      protocols: ['dotmac.v1', 'bearer.good.carol'],
    });
    expect((await welcomeOf(c)).user_id).toBe('alice');
    const d = await TestClient.open(`${url}?token=good.bob`, {
      protocols: ['dotmac.v1', 'bearer.good.carol'],
    });
    expect((await welcomeOf(d)).user_id).toBe('bob');
  });

  it('an invalid token is refused with 401 before the upgrade, whether or not tokens are required', async () => {
    const failures: string[] = [];
    const hooks: ObservabilityHooks = { onAuthFailure: (reason) => failures.push(reason) };
    for (const requireToken of [false, true]) {
      const { url } = await startTestGateway({ authenticator, requireToken, hooks });
      const r = await TestClient.refused(`${url}?token=forged`);
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body)).toEqual({
        error: { code: 'auth_failed', message: 'the token was refused' },
      });
    }
    expect(failures).toEqual(['bad_signature', 'bad_signature']);
  });

  it('an expired identity is refused with 401', async () => {
    const { url } = await startTestGateway({ authenticator });
    expect((await TestClient.refused(`${url}?token=good.alice.-.-1000`)).status).toBe(401);
  });

  it('without in-band auth, a missing required token is refused with 401', async () => {
    const { url } = await startTestGateway({ authenticator, requireToken: true, authInBand: false });
    expect((await TestClient.refused(url)).status).toBe(401);
    expect((await welcomeOf(await TestClient.open(`${url}?token=good.a`))).authenticated).toBe(true);
  });

  it("a token whose tenant differs from the URL's is refused with 403", async () => {
    const { url, base } = await startTestGateway({ authenticator });
    const wsBase = base.replace('http', 'ws');
    expect((await TestClient.refused(`${wsBase}/ws/tenant/acme?token=good.alice.globex`)).status).toBe(403);
    expect(
      (await TestClient.refused(`${url}?token=good.alice.globex`, { headers: { 'X-Tenant-ID': 'acme' } }))
        .status,
    ).toBe(403);
    const ok = await TestClient.open(`${wsBase}/ws/tenant/acme?token=good.alice.acme`);
    expect(await welcomeOf(ok)).toMatchObject({ tenant_id: 'acme', user_id: 'alice' });
    // Without a tenant in the URL, the token's tenant is the session's.
    const fromToken = await TestClient.open(`${url}?token=good.alice.globex`);
    expect((await welcomeOf(fromToken)).tenant_id).toBe('globex');
  });
});

describe('in-band auth', () => {
  it('until auth, every request but auth gets unauthenticated; auth acks the identity', async () => {
    const { url } = await startTestGateway({ authenticator, requireToken: true });
    const c = await TestClient.open(url);
    expect((await welcomeOf(c)).authenticated).toBe(false);
    for (const frame of [
      { type: 'ping' },
      { type: 'subscribe', data: { channel: 'a' } },
      { type: 'publish', channel: 'a', data: 1 },
      { type: 'whatever' },
    ]) {
      expect((await c.request(frame)).data, frame.type).toMatchObject({ code: 'unauthenticated' });
    }
    expect(await c.request({ type: 'auth', id: 'a1', data: { token: 'good.alice.-.120000' } })).toEqual({
      type: 'ack',
      id: 'a1',
      data: {
        user_id: 'alice',
        tenant_id: null,
        roles: ['reader'],
        permissions: ['chat:read'],
        expires_at: expect.any(Number),
      },
    });
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
  });

  it.each([
    [{ token: 'forged' }, 'the token was refused'],
    [{ token: '' }, 'data.token must be a non-empty string'],
    [{}, 'data.token must be a non-empty string'],
    ['just a string', 'data.token must be a non-empty string'],
  ])('auth with %j gets auth_failed', async (data, message) => {
    const { url } = await startTestGateway({ authenticator, requireToken: true });
    const c = await TestClient.open(url);
    expect(await c.request({ type: 'auth', id: 1, data })).toEqual({
      type: 'error',
      id: 1,
      data: { code: 'auth_failed', message },
    });
  });

  it('auth without an authenticator gets auth_failed', async () => {
    const { url } = await startTestGateway();
    const c = await TestClient.open(url);
    expect((await c.request({ type: 'auth', data: { token: 'good.a' } })).data).toEqual({
      code: 'auth_failed',
      message: 'authentication is not configured on this gateway',
    });
  });

  it('a token of another tenant or another user gets forbidden', async () => {
    const { base } = await startTestGateway({ authenticator });
    const c = await TestClient.open(`${base.replace('http', 'ws')}/ws/tenant/acme`);
    expect((await c.request({ type: 'auth', data: { token: 'good.alice.globex' } })).data).toEqual({
      code: 'forbidden',
      message: 'the token belongs to another tenant',
    });
    expect((await c.request({ type: 'auth', data: { token: 'good.alice.acme' } })).type).toBe('ack');
    expect((await c.request({ type: 'auth', data: { token: 'good.mallory.acme' } })).data).toEqual({
      code: 'forbidden',
      message: 'a session cannot change its user: open a new connection',
    });
  });

  it('no valid auth within authTimeoutMs closes with 4401', async () => {
    const { url } = await startTestGateway({ authenticator, requireToken: true, authTimeoutMs: 150 });
    const c = await TestClient.open(url);
    await c.request({ type: 'auth', data: { token: 'forged' } });
    expect(await c.waitClose(2000)).toEqual({ code: 4401, reason: 'unauthorized' });
    const ok = await TestClient.open(url);
    await ok.request({ type: 'auth', data: { token: 'good.alice' } });
    await sleep(300);
    expect(ok.closed).toBeNull();
  });
});

describe('token expiry on a live connection', () => {
  it('sends auth_expiring ahead of time, then closes with 4401 at expiry', async () => {
    const { url } = await startTestGateway({ authenticator, authExpiringLeadMs: 200 });
    const c = await TestClient.open(`${url}?token=good.alice.-.400`);
    const started = Date.now();
    const warning = await c.waitFor((f) => f.type === 'auth_expiring', 2000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(warning.data).toEqual({ expires_at: expect.any(Number) });
    expect(await c.waitClose(2000)).toEqual({ code: 4401, reason: 'unauthorized' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it('a fresh auth frame extends the session', async () => {
    const { url } = await startTestGateway({ authenticator, authExpiringLeadMs: 200 });
    const c = await TestClient.open(`${url}?token=good.alice.-.400`);
    await c.waitFor((f) => f.type === 'auth_expiring', 2000);
    const r = await c.request({ type: 'auth', data: { token: 'good.alice.-.60000' } });
    expect(r.type).toBe('ack');
    await sleep(500);
    expect(c.closed).toBeNull();
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
  });

  it('a token that expires within the lead time gets auth_expiring at once', async () => {
    const { url } = await startTestGateway({ authenticator, authExpiringLeadMs: 30000 });
    const c = await TestClient.open(`${url}?token=good.alice.-.5000`);
    await c.welcome();
    expect((await c.waitFor((f) => f.type === 'auth_expiring', 500)).type).toBe('auth_expiring');
    onCleanup(() => c.terminate());
  });
});
