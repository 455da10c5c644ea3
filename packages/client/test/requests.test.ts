import { ProtocolError } from '@dotmac-ws/core';
import { onCleanup, sleep, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { RequestError, ServerError } from '../src/index';
import { nextEvent, onlySession, recordEvents, startGateway, testClient } from './helpers';

describe('requests', () => {
  it('resolves with the handler reply of the same id, and ping with its pong', async () => {
    const { gw, url } = await startGateway();
    gw.addMessageHandler('echo', (_session, data) => ({ echo: data }));
    const client = testClient({ url });
    const connected = await client.whenConnected(3000);
    expect(connected.welcome).toMatchObject({ protocol: 1, node_id: gw.nodeId, authenticated: false });
    expect(connected.reconnected).toBe(false);
    const [a, b] = await Promise.all([client.request('echo', { n: 1 }), client.request('echo', [2, 'two'])]);
    expect(a).toEqual({ echo: { n: 1 } });
    expect(b).toEqual({ echo: [2, 'two'] });
    expect(await client.request('ping', { t: 42 })).toEqual({ t: 42 });
  });

  it("rejects with a ServerError carrying the server's code, message and retry_after_ms", async () => {
    const { gw, url } = await startGateway();
    gw.addMessageHandler('quota', () => {
      throw new ProtocolError('over_quota', 'try again later', { retryAfterMs: 1200 });
    });
    const client = testClient({ url });
    const error = await client.request('quota', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({
      code: 'over_quota',
      message: 'try again later',
      retryAfterMs: 1200,
      requestType: 'quota',
    });
    const unknown = await client.request('nobody_handles_this').catch((e: unknown) => e);
    expect(unknown).toMatchObject({
      name: 'ServerError',
      code: 'unknown_type',
      message: 'no handler for frame type "nobody_handles_this"',
      retryAfterMs: undefined,
    });
  });

  it('a rate_limited refusal carries retry_after_ms', async () => {
    const { gw, url } = await startGateway();
    gw.use({
      message: async (ctx, next) => {
        if (ctx.type === 'spam') throw new ProtocolError('rate_limited', 'slow down', { retryAfterMs: 350 });
        await next();
      },
    });
    const client = testClient({ url });
    await expect(client.request('spam')).rejects.toMatchObject({
      code: 'rate_limited',
      message: 'slow down',
      retryAfterMs: 350,
    });
  });

  it('publish is acked and delivered with its event; bad channels and events get the server codes', async () => {
    const { url } = await startGateway();
    const reader = await TestClient.open(url);
    await reader.welcome();
    await reader.request({ type: 'subscribe', data: { channel: 'news' } });
    const client = testClient({ url });
    expect(await client.publish('news', { title: 'hi' }, { event: 'headline' })).toEqual({ channel: 'news' });
    expect(await reader.waitFor((f) => f.type === 'headline')).toEqual({
      type: 'headline',
      channel: 'news',
      data: { title: 'hi' },
    });
    await client.publish('news', 'plain');
    expect(await reader.waitFor((f) => f.type === 'message')).toMatchObject({
      channel: 'news',
      data: 'plain',
    });
    await expect(client.publish('bad channel!', 1)).rejects.toMatchObject({
      name: 'ServerError',
      code: 'invalid_channel',
      requestType: 'publish',
    });
    await expect(client.publish('news', 1, { event: 'welcome' })).rejects.toMatchObject({
      code: 'bad_request',
      requestType: 'publish',
    });
  });

  it('times out with RequestError timeout, and ignores the late reply', async () => {
    const { gw, url } = await startGateway();
    gw.addMessageHandler('slow', async () => {
      await sleep(400);
      return 'late';
    });
    const client = testClient({ url });
    const log = recordEvents(client);
    const started = Date.now();
    const error = await client.request('slow', null, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestError);
    expect(error).toMatchObject({
      code: 'timeout',
      message: 'no reply to "slow" within 100 ms',
      requestType: 'slow',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    await sleep(500);
    // The late ack changed nothing: the connection is fine and answers the next request.
    expect(client.state).toBe('connected');
    expect(await client.request('ping', 'still here')).toBe('still here');
    expect(log.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('rejects requests in flight with RequestError disconnected when the connection is lost', async () => {
    const { gw, url } = await startGateway();
    let release: () => void = () => undefined;
    gw.addMessageHandler('hang', () => new Promise<void>((resolve) => (release = resolve)));
    onCleanup(() => release());
    const client = testClient({ url });
    await client.whenConnected(3000);
    const pending = client.request('hang');
    await sleep(50);
    gw.disconnectSession(onlySession(gw).sessionId, 1011);
    await expect(pending).rejects.toMatchObject({
      name: 'RequestError',
      code: 'disconnected',
      requestType: 'hang',
    });
  });

  it('close() rejects what waits with RequestError closed, and later requests too', async () => {
    const { url } = await startGateway();
    const client = testClient({ url, autoConnect: false });
    const queued = client.request('ping', 1);
    expect(client.queuedFrames).toBe(1);
    client.close();
    await expect(queued).rejects.toMatchObject({ code: 'closed' });
    await expect(client.request('ping')).rejects.toMatchObject({
      code: 'closed',
      message: 'the client is closed',
    });
    expect(client.state).toBe('closed');
  });

  it('refuses types the client manages or the server owns', async () => {
    const { url } = await startGateway();
    const client = testClient({ url, autoConnect: false });
    expect(() => client.request('subscribe')).toThrow(
      'use the client\'s subscribe() method for "subscribe" frames',
    );
    expect(() => client.request('auth')).toThrow('use the client\'s auth() method for "auth" frames');
    expect(() => client.request('ack')).toThrow('"ack" is a server frame type');
    expect(() => client.request('')).toThrow('a request type must be a string of 1 to 100 characters');
    expect(() => client.request('ping', null, { timeoutMs: 0 })).toThrow(
      'timeoutMs must be a positive integer, got 0',
    );
  });

  it('on(type) receives direct messages; a throwing handler is reported, not fatal', async () => {
    const { gw, url } = await startGateway();
    const client = testClient({ url });
    await client.whenConnected(3000);
    const got: unknown[] = [];
    const off = client.on<{ n: number }>('notice', (data, frame) => got.push([data.n, frame.type]));
    client.on('notice', () => {
      throw new Error('handler bug');
    });
    const errored = nextEvent(client, 'error');
    await gw.broadcastToAll('notice', { n: 1 });
    expect(await errored).toMatchObject({ context: 'handler of notice', error: { message: 'handler bug' } });
    await expect.poll(() => got).toEqual([[1, 'notice']]);
    off();
    await gw.broadcastToAll('notice', { n: 2 });
    expect(await client.request('ping', 'after')).toBe('after');
    expect(got).toEqual([[1, 'notice']]);
  });
});
