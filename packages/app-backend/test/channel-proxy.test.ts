import type { ChannelPolicy } from '@dotmac-ws/core';
import { describe, expect, it } from 'vitest';
import { connect, SECRET, startBacked, TestApp } from './helpers';

describe('subscribe and publish proxy', () => {
  it('asks about a subscribe and lets it go on a result', async () => {
    const app = await TestApp.start();
    const { url } = await startBacked({ proxy: { subscribeUrl: app.url('/sub'), secret: SECRET } });
    const c = await connect(url);
    const ack = await c.request({ type: 'subscribe', data: { channel: 'room:1', extra: 7 } });
    expect(ack).toMatchObject({ type: 'ack', data: { channel: 'room:1', subscribers: 1 } });
    const [req] = app.to('/sub');
    expect(req?.verified).toBe(true);
    expect(req?.body).toMatchObject({
      route: 'subscribe',
      channel: 'room:1',
      data: { channel: 'room:1', extra: 7 },
    });
  });

  it('refuses a subscribe with the application error, and closes the session on a disconnect', async () => {
    const app = await TestApp.start((req) =>
      req.body.channel === 'closed'
        ? { body: { disconnect: { code: 4403, reason: 'banned' } } }
        : { body: { error: { code: 'not_a_member', message: 'join the room first', retry_after_ms: 500 } } },
    );
    const { url, gateway } = await startBacked({ proxy: { subscribeUrl: app.url('/sub'), secret: SECRET } });
    const c = await connect(url);
    expect(await c.request({ type: 'subscribe', channel: 'room:1' })).toMatchObject({
      type: 'error',
      data: { code: 'not_a_member', message: 'join the room first', retry_after_ms: 500 },
    });
    expect(c.frames.some((f) => f.type === 'ack')).toBe(false);
    c.send({ type: 'subscribe', id: 2, channel: 'closed' });
    expect(await c.waitClose()).toEqual({ code: 4403, reason: 'banned' });
    expect(gateway.getStats().subscriptions).toBe(0);
  });

  it('replaces the data of a publish when the result holds data, and keeps it when not', async () => {
    const app = await TestApp.start((req) =>
      (req.body.data as { text: string }).text === 'keep'
        ? { body: { result: {} } }
        : { body: { result: { data: { text: 'cleaned', by: 'app' } } } },
    );
    const { url } = await startBacked({ proxy: { publishUrl: app.url('/pub'), secret: SECRET } });
    const c = await connect(url);
    await c.request({ type: 'subscribe', channel: 'chat' });
    expect(
      await c.request({ type: 'publish', channel: 'chat', event: 'said', data: { text: 'dirty' } }),
    ).toMatchObject({
      type: 'ack',
    });
    const delivered = await c.waitFor((f) => f.type === 'said');
    expect(delivered).toEqual({ type: 'said', channel: 'chat', data: { text: 'cleaned', by: 'app' } });
    await c.request({ type: 'publish', channel: 'chat', data: { text: 'keep' } });
    expect((await c.waitFor((f) => f.type === 'message')).data).toEqual({ text: 'keep' });
    expect(app.to('/pub').map((r) => [r.body.event, r.body.data])).toEqual([
      ['said', { text: 'dirty' }],
      ['message', { text: 'keep' }],
    ]);
  });

  it('refuses a publish with the application error: nothing is delivered', async () => {
    const app = await TestApp.start(() => ({
      body: { error: { code: 'spam', message: 'looks like spam' } },
    }));
    const { url } = await startBacked({ proxy: { publishUrl: app.url('/pub'), secret: SECRET } });
    const c = await connect(url);
    await c.request({ type: 'subscribe', channel: 'chat' });
    expect(await c.request({ type: 'publish', channel: 'chat', data: 1 })).toMatchObject({
      type: 'error',
      data: { code: 'spam', message: 'looks like spam' },
    });
    expect(c.frames.some((f) => f.type === 'message')).toBe(false);
  });

  it('asks only about the channels its patterns name', async () => {
    const app = await TestApp.start(() => ({ body: { error: { code: 'no', message: 'no' } } }));
    const { url } = await startBacked({
      proxy: {
        subscribeUrl: app.url('/sub'),
        publishUrl: app.url('/pub'),
        subscribeChannels: ['private:*'],
        publishChannels: ['orders', 'chat:*:moderated'],
        secret: SECRET,
      },
    });
    const c = await connect(url);
    expect((await c.request({ type: 'subscribe', channel: 'public' })).type).toBe('ack');
    expect((await c.request({ type: 'subscribe', channel: 'private:x' })).type).toBe('error');
    expect((await c.request({ type: 'publish', channel: 'chat:1', data: 1 })).type).toBe('ack');
    expect((await c.request({ type: 'publish', channel: 'chat:1:moderated', data: 1 })).type).toBe('error');
    expect((await c.request({ type: 'publish', channel: 'orders', data: 1 })).type).toBe('error');
    expect(app.requests.map((r) => `${r.path} ${r.body.channel}`)).toEqual([
      '/sub private:x',
      '/pub chat:1:moderated',
      '/pub orders',
    ]);
  });

  it('does not ask about frames the gateway refuses anyway', async () => {
    const app = await TestApp.start();
    const policy: ChannelPolicy = {
      canSubscribe: (_s, ch) => ch.name !== 'secret',
      canPublish: (_s, ch) => ch.name === 'open',
    };
    const { url } = await startBacked(
      { proxy: { subscribeUrl: app.url('/sub'), publishUrl: app.url('/pub'), secret: SECRET } },
      { channelPolicy: policy, clientPublish: false, maxSubscriptionsPerSession: 1 },
    );
    const c = await connect(url);
    expect((await c.request({ type: 'subscribe', channel: 'bad channel!' })).data).toMatchObject({
      code: 'invalid_channel',
    });
    expect((await c.request({ type: 'subscribe', channel: 'secret' })).data).toMatchObject({
      code: 'forbidden',
    });
    expect((await c.request({ type: 'publish', channel: 'closed', data: 1 })).data).toMatchObject({
      code: 'forbidden',
    });
    expect((await c.request({ type: 'subscribe', channel: 'a' })).type).toBe('ack');
    expect((await c.request({ type: 'subscribe', channel: 'a' })).type).toBe('ack');
    expect((await c.request({ type: 'subscribe', channel: 'b' })).data).toMatchObject({
      code: 'too_many_subscriptions',
    });
    expect((await c.request({ type: 'publish', channel: 'open', data: 1 })).type).toBe('ack');
    expect(app.requests.map((r) => `${r.path} ${r.body.channel}`)).toEqual(['/sub a', '/pub open']);
  });

  it('refuses with proxy_unavailable and retry_after_ms when the application fails', async () => {
    const app = await TestApp.start(() => ({ status: 502 }));
    const { url } = await startBacked({
      proxy: {
        subscribeUrl: app.url('/sub'),
        publishUrl: app.url('/pub'),
        secret: SECRET,
        retryAfterMs: 750,
      },
    });
    const c = await connect(url);
    const expected = {
      type: 'error',
      data: {
        code: 'proxy_unavailable',
        message: 'the application backend did not answer: try again later',
        retry_after_ms: 750,
      },
    };
    expect(await c.request({ type: 'subscribe', channel: 'a' })).toMatchObject(expected);
    expect(await c.request({ type: 'publish', channel: 'a', data: 1 })).toMatchObject(expected);
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
  });
});
