import { sleep } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { ServerError } from '../src/index';
import {
  nextEvent,
  onlySession,
  recordEvents,
  startGateway,
  testAuthenticator,
  testClient,
  tokenFor,
} from './helpers';

describe('authentication', () => {
  it('authenticates with an auth frame after welcome by default', async () => {
    const { gw, url } = await startGateway({ authenticator: testAuthenticator, requireToken: true });
    const client = testClient({ url, token: tokenFor('alice') });
    const connected = await client.whenConnected(3000);
    expect(connected.welcome.authenticated).toBe(false);
    expect(connected.auth).toEqual({
      user_id: 'alice',
      tenant_id: null,
      roles: [],
      permissions: [],
      expires_at: null,
    });
    expect(client.identity).toEqual({
      userId: 'alice',
      tenantId: null,
      roles: [],
      permissions: [],
      expiresAt: null,
    });
    expect(onlySession(gw).userId).toBe('alice');
    expect(await client.request('ping', 'ok')).toBe('ok');
  });

  it.each(['query', 'subprotocol'] as const)(
    'can present the token at the handshake (%s)',
    async (tokenTransport) => {
      const { url } = await startGateway({
        authenticator: testAuthenticator,
        requireToken: true,
        authInBand: false,
      });
      const client = testClient({ url, token: 'user.bob', tokenTransport });
      const connected = await client.whenConnected(3000);
      expect(connected.welcome).toMatchObject({ authenticated: true, user_id: 'bob' });
      expect(connected.auth).toBeNull();
      expect(client.identity?.userId).toBe('bob');
    },
  );

  it('connects to the tenant endpoint and sees only its tenant', async () => {
    const { gw, url } = await startGateway();
    const client = testClient({ url, tenant: 'acme' });
    const got: unknown[] = [];
    expect((await client.whenConnected(3000)).welcome.tenant_id).toBe('acme');
    await client.subscribe('news', (data) => got.push(data)).ready;
    await gw.broadcastToChannel('news', 'message', 'other tenant', { tenantId: 'globex' });
    await gw.broadcastToChannel('news', 'message', 'for acme', { tenantId: 'acme' });
    await expect.poll(() => got).toEqual(['for acme']);
  });

  it('a refused token: no reconnect with it; getToken is asked and a new token connects', async () => {
    const { url } = await startGateway({ authenticator: testAuthenticator, requireToken: true });
    const asked: string[] = [];
    const client = testClient({
      url,
      token: 'forged',
      getToken: () => {
        asked.push('getToken');
        return tokenFor('carol');
      },
    });
    const events = recordEvents(client);
    const connected = await nextEvent(client, 'connected');
    expect(connected.auth?.user_id).toBe('carol');
    expect(asked).toEqual(['getToken']);
    const error = events.find((e) => e.type === 'error')!.event as { error: ServerError; context: string };
    expect(error.context).toBe('auth');
    expect(error.error).toBeInstanceOf(ServerError);
    expect(error.error).toMatchObject({ code: 'auth_failed', message: 'the token was refused' });
    expect(events.map((e) => e.type)).toEqual([
      'connecting',
      'error',
      'disconnected',
      'reconnecting',
      'connecting',
      'connected',
    ]);
    expect(events[2]!.event).toEqual({
      code: 4401,
      reason: 'auth_failed',
      willReconnect: false,
      needsToken: true,
    });
  });

  it('a getToken that returns the refused token again leaves the client disconnected', async () => {
    const { gw, url } = await startGateway({ authenticator: testAuthenticator, requireToken: true });
    let calls = 0;
    const client = testClient({
      url,
      getToken: () => {
        calls++;
        return 'forged';
      },
    });
    await nextEvent(client, 'disconnected');
    await sleep(400);
    expect(client.state).toBe('disconnected');
    expect(calls).toBe(2); // once to connect, once after the refusal
    expect(gw.getStats().counters.connections_total).toBe(1);
  });

  it('refreshes the token through getToken on auth_expiring, and the session lives on', async () => {
    const { gw, url } = await startGateway({
      authenticator: testAuthenticator,
      requireToken: true,
      authExpiringLeadMs: 1000,
    });
    const shortLived = tokenFor('dave', 1500);
    const renewed = tokenFor('dave', 60_000);
    let calls = 0;
    const client = testClient({
      url,
      token: shortLived,
      getToken: () => {
        calls++;
        return renewed;
      },
    });
    const events = recordEvents(client);
    const first = await client.whenConnected(3000);
    expect(first.auth?.expires_at).toBe(Math.floor(Number(shortLived.split(':')[2]) / 1000));
    const warned = await nextEvent(client, 'auth_expiring', 3000);
    expect(warned.expiresAt).toBe(Math.floor(Number(shortLived.split(':')[2]) / 1000));
    const refreshed = await nextEvent(client, 'token_refreshed', 3000);
    expect(refreshed).toMatchObject({
      user_id: 'dave',
      expires_at: Math.floor(Number(renewed.split(':')[2]) / 1000),
    });
    expect(client.identity?.expiresAt).toBe(refreshed.expires_at);
    // Past the first token's expiry: no 4401, same session.
    await sleep(Number(shortLived.split(':')[2]) - Date.now() + 400);
    expect(client.state).toBe('connected');
    expect(onlySession(gw).sessionId).toBe(first.welcome.session_id);
    expect(events.filter((e) => e.type === 'disconnected')).toEqual([]);
    expect(calls).toBe(1);
  });

  it('when getToken has no new token at auth_expiring, it is asked again after the 4401', async () => {
    const { url } = await startGateway({
      authenticator: testAuthenticator,
      requireToken: true,
      authExpiringLeadMs: 300,
    });
    const short = tokenFor('jane', 600);
    const tokens = [short, short, tokenFor('jane', 60_000)];
    const client = testClient({ url, getToken: () => tokens.shift() });
    const events = recordEvents(client);
    await client.whenConnected(3000);
    await nextEvent(client, 'connected', 3000);
    expect(tokens).toEqual([]);
    expect(events.map((e) => e.type)).toEqual([
      'connecting',
      'connected',
      'auth_expiring',
      'error',
      'disconnected',
      'reconnecting',
      'connecting',
      'connected',
    ]);
    expect(events[3]!.event).toMatchObject({
      context: 'getToken',
      error: { message: 'getToken gave no new token: the server closes with 4401 at expiry' },
    });
    expect(events[4]!.event).toEqual({
      code: 4401,
      reason: 'unauthorized',
      willReconnect: false,
      needsToken: true,
    });
  });

  it('after 4401 at token expiry it does not reconnect until auth() gives a new token', async () => {
    const { gw, url } = await startGateway({
      authenticator: testAuthenticator,
      requireToken: true,
      authExpiringLeadMs: 300,
    });
    const client = testClient({ url, token: tokenFor('erin', 600) });
    await client.whenConnected(3000);
    const lost = await nextEvent(client, 'disconnected', 3000);
    expect(lost).toEqual({ code: 4401, reason: 'unauthorized', willReconnect: false, needsToken: true });
    const events = recordEvents(client);
    await sleep(600);
    expect(client.state).toBe('disconnected');
    expect(events).toEqual([]);
    expect(gw.getStats().counters.connections_total).toBe(1);

    const back = nextEvent(client, 'connected');
    expect(await client.auth(tokenFor('erin', 60_000))).toBeNull();
    expect((await back).auth?.user_id).toBe('erin');
    expect(gw.getStats().counters.connections_total).toBe(2);
  });

  it('after 4403 a getToken with the same token keeps it down; connect() tries again', async () => {
    const { gw, url } = await startGateway({ authenticator: testAuthenticator, requireToken: true });
    const token = tokenFor('frank');
    let calls = 0;
    const client = testClient({
      url,
      getToken: () => {
        calls++;
        return token;
      },
    });
    const first = await client.whenConnected(3000);
    const lost = nextEvent(client, 'disconnected');
    gw.disconnectSession(first.welcome.session_id); // 4403: revoked
    expect(await lost).toEqual({ code: 4403, reason: 'forbidden', willReconnect: false, needsToken: true });
    await sleep(400);
    expect(client.state).toBe('disconnected');
    expect(calls).toBe(2);
    expect(gw.getStats().counters.connections_total).toBe(1);
    const back = nextEvent(client, 'connected');
    client.connect();
    expect((await back).auth?.user_id).toBe('frank');
  });

  it('after 4403 a getToken with a new token reconnects by itself', async () => {
    const { gw, url } = await startGateway({ authenticator: testAuthenticator, requireToken: true });
    const tokens = [tokenFor('gina'), tokenFor('gina', 60_000)];
    const client = testClient({ url, getToken: () => tokens.shift() });
    const first = await client.whenConnected(3000);
    const back = nextEvent(client, 'connected');
    gw.disconnectSession(first.welcome.session_id);
    const again = await back;
    expect(again.auth).toMatchObject({ user_id: 'gina', expires_at: expect.any(Number) });
    expect(tokens).toEqual([]);
  });

  it('auth() on a live connection re-authenticates; another user is refused with forbidden', async () => {
    const { url } = await startGateway({ authenticator: testAuthenticator, requireToken: true });
    const client = testClient({ url, token: tokenFor('hank') });
    await client.whenConnected(3000);
    const ack = await client.auth(tokenFor('hank', 90_000));
    expect(ack).toMatchObject({ user_id: 'hank', expires_at: expect.any(Number) });
    await expect(client.auth(tokenFor('ivan'))).rejects.toMatchObject({
      name: 'ServerError',
      code: 'forbidden',
      message: 'a session cannot change its user: open a new connection',
      requestType: 'auth',
    });
    expect(client.identity?.userId).toBe('hank');
    expect(() => client.auth('')).toThrow('token must be a non-empty string');
  });
});
