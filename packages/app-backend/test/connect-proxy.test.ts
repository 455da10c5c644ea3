import type { Authenticator } from '@dotmac-ws/core';
import { freePort, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { connect, SECRET, startBacked, TestApp } from './helpers';

describe('connect proxy', () => {
  it('applies a result: user, tenant, roles, channels, info; forwards the chosen headers and cookies; keeps meta for later requests', async () => {
    const app = await TestApp.start((req) =>
      req.path === '/connect'
        ? {
            body: {
              result: {
                user: 'u1',
                tenant: 'acme',
                roles: ['admin'],
                permissions: ['chat:write'],
                channels: ['news'],
                info: { name: 'Ann' },
                meta: { plan: 'gold' },
              },
            },
          }
        : { body: { result: {} } },
    );
    const { url } = await startBacked({
      proxy: {
        connectUrl: app.url('/connect'),
        subscribeUrl: app.url('/subscribe'),
        secret: SECRET,
        forwardHeaders: ['X-App-Session', 'cookie:sid'],
      },
    });
    const c = await TestClient.open(url, {
      headers: { 'x-app-session': 'abc', cookie: 'other=1; sid=s1', 'x-not-forwarded': 'no' },
      protocols: ['dotmac.v1'],
    });
    const welcome = await c.welcome();
    expect(welcome.data).toMatchObject({ authenticated: true, user_id: 'u1', tenant_id: 'acme' });
    const pushed = await c.waitFor((f) => f.type === 'subscribed');
    expect(pushed.channel).toBe('news');

    const [connectRequest] = app.to('/connect');
    expect(connectRequest?.verified).toBe(true);
    expect(connectRequest?.body).toEqual({
      route: 'connect',
      session_id: null,
      user_id: null,
      tenant_id: null,
      roles: [],
      permissions: [],
      transport: {
        name: 'websocket',
        subprotocol: 'dotmac.v1',
        remote_address: '127.0.0.1',
        node_id: expect.any(String),
      },
      path: '/ws',
      headers: { 'x-app-session': 'abc' },
      cookies: { sid: 's1' },
      meta: null,
    });

    expect((await c.request({ type: 'subscribe', channel: 'room:1' })).type).toBe('ack');
    const [subscribeRequest] = app.to('/subscribe');
    expect(subscribeRequest?.body).toEqual({
      route: 'subscribe',
      session_id: (welcome.data as { session_id: string }).session_id,
      user_id: 'u1',
      tenant_id: 'acme',
      roles: ['admin'],
      permissions: ['chat:write'],
      transport: {
        name: 'websocket',
        subprotocol: 'dotmac.v1',
        remote_address: '127.0.0.1',
        node_id: expect.any(String),
      },
      headers: { 'x-app-session': 'abc' },
      cookies: { sid: 's1' },
      meta: { plan: 'gold' },
      channel: 'room:1',
      data: null,
    });
  });

  it("puts the result's info in the session's presence", async () => {
    const app = await TestApp.start(() => ({ body: { result: { user: 'u1', info: { name: 'Ann' } } } }));
    const { url } = await startBacked(
      { proxy: { connectUrl: app.url('/connect'), secret: SECRET } },
      {
        channelPolicy: {
          canSubscribe: () => true,
          canPublish: () => true,
          options: () => ({ presence: true }),
        },
      },
    );
    const c = await connect(url);
    await c.request({ type: 'subscribe', channel: 'room' });
    const presence = await c.request({ type: 'presence', channel: 'room' });
    expect(Object.values((presence.data as { clients: Record<string, unknown> }).clients)).toEqual([
      { user: 'u1', node: expect.any(String), joined_at: expect.any(Number), info: { name: 'Ann' } },
    ]);
  });

  it("keeps a token session's forwarded headers across an in-band auth", async () => {
    const app = await TestApp.start();
    const tokens: Authenticator = { authenticate: (token) => ({ userId: token.replace('user:', '') }) };
    const { url } = await startBacked(
      { proxy: { subscribeUrl: app.url('/sub'), secret: SECRET, forwardHeaders: ['x-trace'] } },
      { authenticator: tokens },
    );
    const c = await connect(url, { authorization: 'Bearer user:u1', 'x-trace': 't-1' });
    expect((await c.request({ type: 'auth', data: { token: 'user:u1' } })).type).toBe('ack');
    await c.request({ type: 'subscribe', channel: 'a' });
    expect(app.to('/sub')[0]?.body).toMatchObject({ user_id: 'u1', headers: { 'x-trace': 't-1' } });
  });

  it('lets an anonymous connection in when the result names no user', async () => {
    const app = await TestApp.start(() => ({ body: { result: {} } }));
    const { url } = await startBacked({ proxy: { connectUrl: app.url('/connect'), secret: SECRET } });
    const c = await connect(url);
    expect(c.frames[0]?.data).toMatchObject({ authenticated: false, user_id: null, tenant_id: null });
  });

  it("keeps an anonymous session's forwarded headers, cookies and meta for its later requests", async () => {
    const app = await TestApp.start((req) =>
      req.body.route === 'connect'
        ? { body: { result: { meta: { plan: 'free' } } } }
        : { body: { result: {} } },
    );
    const { url } = await startBacked({
      proxy: {
        connectUrl: app.url('/connect'),
        subscribeUrl: app.url('/sub'),
        forwardHeaders: ['x-request-id', 'cookie:sid'],
        secret: SECRET,
      },
    });
    const c = await connect(url, { 'x-request-id': 'r-1', cookie: 'sid=anon-7; other=x' });
    expect(c.frames[0]?.data).toMatchObject({ authenticated: false, user_id: null });
    expect((await c.request({ type: 'subscribe', channel: 'room:1' })).type).toBe('ack');
    const [sub] = app.to('/sub');
    expect(sub?.body).toMatchObject({
      user_id: null,
      headers: { 'x-request-id': 'r-1' },
      cookies: { sid: 'anon-7' },
      meta: { plan: 'free' },
    });
  });

  it('refuses with 403 and the application code on an error answer', async () => {
    const app = await TestApp.start(() => ({
      body: { error: { code: 'banned', message: 'you are banned', retry_after_ms: 30_000 } },
    }));
    const { url } = await startBacked({ proxy: { connectUrl: app.url('/connect'), secret: SECRET } });
    const refused = await TestClient.refused(url);
    expect(refused.status).toBe(403);
    expect(refused.headers['retry-after']).toBe('30');
    expect(JSON.parse(refused.body)).toEqual({ error: { code: 'banned', message: 'you are banned' } });
  });

  it('refuses with the HTTP status a disconnect code echoes', async () => {
    const app = await TestApp.start(() => ({ body: { disconnect: { code: 4401, reason: 'log in first' } } }));
    const { url } = await startBacked({ proxy: { connectUrl: app.url('/connect'), secret: SECRET } });
    const refused = await TestClient.refused(url);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({ error: { code: 'refused', message: 'log in first' } });
  });

  it('refuses a tenant other than the one the request named', async () => {
    const app = await TestApp.start(() => ({ body: { result: { user: 'u1', tenant: 'acme' } } }));
    const { url } = await startBacked({ proxy: { connectUrl: app.url('/connect'), secret: SECRET } });
    const refused = await TestClient.refused(`${url}/tenant/globex`);
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error.code).toBe('tenant_mismatch');
    const c = await connect(`${url}/tenant/acme`);
    expect(c.frames[0]?.data).toMatchObject({ user_id: 'u1', tenant_id: 'acme' });
  });

  it.each([
    ['HTTP 500', { status: 500, body: { result: {} } }],
    ['not JSON', { raw: 'ok' }],
    ['two decisions', { body: { result: {}, error: { code: 'x' } } }],
    ['a user that is not a string', { body: { result: { user: 42 } } }],
    ['expires_at in ms as a float', { body: { result: { user: 'u', expires_at: 1.5 } } }],
  ])('answers 503 proxy_unavailable when the application answers %s', async (_what, answer) => {
    const app = await TestApp.start(() => answer);
    const { url, appBackend } = await startBacked({
      proxy: { connectUrl: app.url('/connect'), secret: SECRET },
    });
    const refused = await TestClient.refused(url);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(JSON.parse(refused.body)).toEqual({
      error: {
        code: 'proxy_unavailable',
        message: 'the application backend did not answer: try again later',
      },
    });
    const outcomes = appBackend.stats().proxy?.routes.connect?.outcomes;
    expect(outcomes).toEqual('status' in answer ? { bad_status: 1 } : { invalid_answer: 1 });
  });

  it('answers 503 at once when the application is down', async () => {
    const port = await freePort();
    const { url, appBackend } = await startBacked({
      proxy: { connectUrl: `http://127.0.0.1:${port}/connect`, secret: SECRET },
    });
    const started = Date.now();
    const refused = await TestClient.refused(url);
    expect(refused.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(appBackend.stats().proxy?.routes.connect?.outcomes).toEqual({ unreachable: 1 });
  });
});
