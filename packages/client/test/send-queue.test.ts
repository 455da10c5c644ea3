import { silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup, sleep, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { RequestError } from '../src/index';
import { nextEvent, startGateway, testClient } from './helpers';

describe('send queue', () => {
  it('keeps at most maxQueuedFrames while disconnected, rejects the overflow, sends the rest in order', async () => {
    const { url } = await startGateway();
    const reader = await TestClient.open(url);
    await reader.welcome();
    await reader.request({ type: 'subscribe', data: { channel: 'q' } });
    const client = testClient({ url, autoConnect: false, maxQueuedFrames: 3 });
    const acks = [1, 2, 3].map((n) => client.publish('q', n));
    expect(client.queuedFrames).toBe(3);
    const overflow = await client.publish('q', 4).catch((e: unknown) => e);
    expect(overflow).toBeInstanceOf(RequestError);
    expect(overflow).toMatchObject({
      code: 'queue_full',
      message: 'not connected and the send queue is full (3 frames)',
      requestType: 'publish',
    });
    client.connect();
    expect(await Promise.all(acks)).toEqual([{ channel: 'q' }, { channel: 'q' }, { channel: 'q' }]);
    expect(client.queuedFrames).toBe(0);
    await reader.waitFor((f) => f.data === 3);
    expect(reader.frames.filter((f) => f.type === 'message').map((f) => f.data)).toEqual([1, 2, 3]);
  });

  it('maxQueuedFrames 0 queues nothing', async () => {
    const { url } = await startGateway();
    const client = testClient({ url, autoConnect: false, maxQueuedFrames: 0 });
    await expect(client.request('ping')).rejects.toMatchObject({ code: 'queue_full' });
  });

  it('a queued request that times out frees its place', async () => {
    const { url } = await startGateway();
    const client = testClient({ url, autoConnect: false, maxQueuedFrames: 1 });
    const first = client.request('ping', 1, { timeoutMs: 50 });
    await expect(client.request('ping', 2)).rejects.toMatchObject({ code: 'queue_full' });
    await expect(first).rejects.toMatchObject({ code: 'timeout' });
    expect(client.queuedFrames).toBe(0);
    const second = client.request('ping', 3);
    client.connect();
    expect(await second).toBe(3);
  });

  it('frames queued during a restart go out after the resubscribe', async () => {
    const { gw, port, url } = await startGateway();
    const client = testClient({ url, reconnect: { minDelayMs: 50, maxDelayMs: 200 } });
    const got: unknown[] = [];
    await client.subscribe('loop', (data) => got.push(data)).ready;
    const lost = nextEvent(client, 'disconnected');
    await gw.stop();
    await lost;
    // The publisher is subscribed: it receives its own message only if the subscribe went first.
    const ack = client.publish('loop', 'queued while down');
    expect(client.queuedFrames).toBe(1);
    await sleep(100);
    const restarted = await new WebSocketGateway({
      port,
      host: '127.0.0.1',
      logger: silentLogger,
      clientPublish: true,
    }).start();
    onCleanup(() => restarted.stop());
    expect(await ack).toEqual({ channel: 'loop' });
    await expect.poll(() => got).toEqual(['queued while down']);
  });
});
