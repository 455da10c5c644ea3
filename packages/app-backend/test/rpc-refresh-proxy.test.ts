import { sleep } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { connect, SECRET, startBacked, TestApp } from './helpers';

describe('RPC proxy', () => {
  it('answers frame types without a handler: method and data go, the result data is the ack', async () => {
    const app = await TestApp.start((req) =>
      req.body.method === 'fail'
        ? { body: { error: { code: 'no_such_order', message: 'order 9 does not exist' } } }
        : { body: { result: { data: { price: 42, asked: req.body.data } } } },
    );
    const { url, gateway } = await startBacked({ proxy: { rpcUrl: app.url('/rpc'), secret: SECRET } });
    gateway.addMessageHandler('local', () => 'handled here');
    const c = await connect(url);
    expect(await c.request({ type: 'getPrice', data: { id: 7 } })).toMatchObject({
      type: 'ack',
      data: { price: 42, asked: { id: 7 } },
    });
    expect(await c.request({ type: 'fail', data: null })).toMatchObject({
      type: 'error',
      data: { code: 'no_such_order', message: 'order 9 does not exist' },
    });
    expect(await c.request({ type: 'local' })).toMatchObject({ type: 'ack', data: 'handled here' });
    expect(app.to('/rpc').map((r) => [r.body.method, r.body.data, r.verified])).toEqual([
      ['getPrice', { id: 7 }, true],
      ['fail', null, true],
    ]);
  });

  it('acks null when the result has no data, and closes the session on a disconnect', async () => {
    const app = await TestApp.start((req) =>
      req.body.method === 'bye'
        ? { body: { disconnect: { code: 4000, reason: 'see you' } } }
        : { body: { result: {} } },
    );
    const { url } = await startBacked({ proxy: { rpcUrl: app.url('/rpc'), secret: SECRET } });
    const c = await connect(url);
    expect(await c.request({ type: 'noop' })).toMatchObject({ type: 'ack', data: null });
    c.send({ type: 'bye', id: 1 });
    expect(await c.waitClose()).toEqual({ code: 4000, reason: 'see you' });
  });
});

describe('refresh proxy', () => {
  /** A connect result that expires in 2 s, with the refresh asked for at once (lead 1900 ms). */
  async function expiringSession(refresh: Parameters<typeof TestApp.start>[0]) {
    const app = await TestApp.start((req) =>
      req.path === '/connect'
        ? { body: { result: { user: 'u1', expires_at: Math.floor(Date.now() / 1000) + 2 } } }
        : refresh?.(req),
    );
    const backed = await startBacked(
      { proxy: { connectUrl: app.url('/connect'), refreshUrl: app.url('/refresh'), secret: SECRET } },
      { authExpiringLeadMs: 1900 },
    );
    return { app, ...backed, client: await connect(backed.url) };
  }

  it('extends the session silently with a later expires_at', async () => {
    const later = Math.floor(Date.now() / 1000) + 3600;
    const { app, client } = await expiringSession(() => ({
      body: { result: { expires_at: later, info: { seen: true } } },
    }));
    const [req] = await app.waitRequests('/refresh', 1);
    expect(req?.body).toMatchObject({ route: 'refresh', user_id: 'u1', expires_at: expect.any(Number) });
    expect(req?.verified).toBe(true);
    await sleep(2600);
    expect(client.closed).toBeNull();
    expect(client.frames.some((f) => f.type === 'auth_expiring')).toBe(false);
    expect((await client.request({ type: 'ping' })).type).toBe('pong');
  });

  it('closes the session with 4401 when the result says expired', async () => {
    const { client } = await expiringSession(() => ({ body: { result: { expired: true } } }));
    expect(await client.waitClose()).toEqual({ code: 4401, reason: 'unauthorized' });
  });

  it('falls back to auth_expiring when the application fails', async () => {
    const { client, appBackend } = await expiringSession(() => ({ status: 503 }));
    const warned = await client.waitFor((f) => f.type === 'auth_expiring');
    expect(warned.data).toEqual({ expires_at: expect.any(Number) });
    expect(appBackend.stats().proxy?.routes.refresh?.outcomes).toEqual({ bad_status: 1 });
  });
});
