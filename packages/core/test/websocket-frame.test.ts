import { TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { encodeTextFrame } from '../src/websocket-frame';
import { startTestGateway } from './helpers';

describe('encodeTextFrame', () => {
  it.each([
    [0, [0x81, 0]],
    [125, [0x81, 125]],
    [126, [0x81, 126, 0, 126]],
    [65535, [0x81, 126, 0xff, 0xff]],
    [65536, [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]],
  ])('frames %i payload bytes with the right header', (n, header) => {
    const frame = encodeTextFrame(Buffer.alloc(n, 0x61));
    expect([...frame.subarray(0, header.length)]).toEqual(header);
    expect(frame.length).toBe(header.length + n);
  });

  it('every header size reaches a real client intact', async () => {
    const { gw, url } = await startTestGateway({ maxMessageBytes: 1024 });
    const c = await TestClient.open(url);
    await c.request({ type: 'subscribe', data: { channel: 'sizes' } });
    const sizes = [0, 100, 125, 126, 1000, 65535, 65536, 200_000];
    for (const n of sizes) await gw.broadcastToChannel('sizes', 'blob', 'x'.repeat(n));
    await waitUntil(() => c.frames.filter((f) => f.type === 'blob').length === sizes.length);
    expect(c.frames.filter((f) => f.type === 'blob').map((f) => (f.data as string).length)).toEqual(sizes);
  });
});

describe('write coalescing', () => {
  it('a burst larger than maxBufferedBytes in one turn does not make a fast reader a slow consumer', async () => {
    const { gw, url } = await startTestGateway({ maxBufferedBytes: 256 * 1024 });
    const c = await TestClient.open(url);
    await c.request({ type: 'subscribe', data: { channel: 'burst' } });
    const chunk = 'y'.repeat(32 * 1024);
    // 20 x 32 KiB = 640 KiB handed over within one event-loop turn.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => gw.broadcastToChannel('burst', 'part', { i, chunk })),
    );
    await waitUntil(() => c.frames.filter((f) => f.type === 'part').length === 20, 5000);
    expect(c.frames.filter((f) => f.type === 'part').map((f) => (f.data as { i: number }).i)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(gw.getStats().counters.slow_consumer_disconnects).toBe(0);
    expect(c.closed).toBeNull();
  });
});
