import { silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup, sleep } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { ChannelMessageFrame } from '../src/index';
import { nextEvent, onlySession, recordEvents, startGateway, testClient } from './helpers';

describe('subscriptions', () => {
  it('subscribe() receives the channel; two subscriptions share one server subscription', async () => {
    const { gw, url } = await startGateway();
    const client = testClient({ url });
    const a: unknown[] = [];
    const b: ChannelMessageFrame[] = [];
    const first = client.subscribe<{ n: number }>('news', (data) => a.push(data.n));
    expect(await first.ready).toEqual({ channel: 'news', subscribers: 1 });
    const second = client.subscribe('news', (_data, frame) => b.push(frame));
    expect(await second.ready).toEqual({ channel: 'news', subscribers: 1 });
    expect(gw.getStats().subscriptions).toBe(1);
    await gw.broadcastToChannel('news', 'headline', { n: 1 });
    await expect.poll(() => b.length).toBe(1);
    expect(a).toEqual([1]);
    expect(b[0]).toEqual({ type: 'headline', channel: 'news', data: { n: 1 } });

    await first.unsubscribe();
    expect(first.active).toBe(false);
    expect(gw.getStats().subscriptions).toBe(1);
    await second.unsubscribe();
    await expect.poll(() => gw.getStats().subscriptions).toBe(0);
    expect(client.channels()).toEqual([]);
    await gw.broadcastToChannel('news', 'headline', { n: 2 });
    expect(await client.request('ping', 'x')).toBe('x');
    expect(a).toEqual([1]);
  });

  it('a refused channel rejects ready with the server code and is removed', async () => {
    const { url } = await startGateway();
    const client = testClient({ url });
    const events = recordEvents(client);
    const sub = client.subscribe('no spaces allowed', () => undefined);
    await expect(sub.ready).rejects.toMatchObject({
      name: 'ServerError',
      code: 'invalid_channel',
      requestType: 'subscribe',
    });
    expect(sub.active).toBe(false);
    expect(client.channels()).toEqual([]);
    expect(events.filter((e) => e.type === 'subscription_error').map((e) => e.event)).toMatchObject([
      { channel: 'no spaces allowed', error: { code: 'invalid_channel' } },
    ]);
  });

  it('a subscription made before connecting is sent once connected', async () => {
    const { gw, url } = await startGateway();
    const client = testClient({ url, autoConnect: false });
    const got: unknown[] = [];
    const sub = client.subscribe('early', (data) => got.push(data));
    await sleep(50);
    expect(gw.getStats().subscriptions).toBe(0);
    client.connect();
    await sub.ready;
    await gw.broadcastToChannel('early', 'message', 'hello');
    await expect.poll(() => got).toEqual(['hello']);
  });

  it('resubscribes after the server is restarted on the same port', async () => {
    const { gw, port, url } = await startGateway();
    const client = testClient({ url, reconnect: { minDelayMs: 50, maxDelayMs: 300 } });
    const events = recordEvents(client);
    const got: unknown[] = [];
    await client.subscribe('news', (data) => got.push(data)).ready;
    client.subscribe('sport', (data) => got.push(data));
    await gw.broadcastToChannel('news', 'message', 'before');
    await expect.poll(() => got).toEqual(['before']);
    const firstSession = client.welcome!.session_id;

    const lost = nextEvent(client, 'disconnected');
    await gw.stop();
    expect(await lost).toMatchObject({ code: 1001, reason: 'going_away', willReconnect: true });
    const restarted = await new WebSocketGateway({ port, host: '127.0.0.1', logger: silentLogger }).start();
    onCleanup(() => restarted.stop());
    const back = await nextEvent(client, 'connected');
    expect(back.reconnected).toBe(true);
    expect(back.welcome.session_id).not.toBe(firstSession);
    expect(back.welcome.node_id).toBe(restarted.nodeId);
    await expect.poll(() => restarted.getStats().subscriptions).toBe(2);
    expect(onlySession(restarted).channels.sort()).toEqual(['news', 'sport']);
    await restarted.broadcastToChannel('news', 'message', 'after');
    await restarted.broadcastToChannel('sport', 'message', 'goal');
    await expect.poll(() => got).toEqual(['before', 'after', 'goal']);
    expect(events.map((e) => e.type)).toEqual([
      'connecting',
      'connected',
      'disconnected',
      'reconnecting',
      // The restart may take a few attempts; only the end state matters.
      ...events.slice(4, -1).map((e) => e.type),
      'connected',
    ]);
  });
});
