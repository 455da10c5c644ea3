import { onCleanup, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, MemoryBackend } from '../src/index';
import { startTestGateway } from './helpers';

const KEY = 'k3y';
const MESSAGE = 'the scaling backend did not accept the message: only subscribers on this node got it';

/** Fails the test on any unhandled rejection while it runs. */
function collectUnhandled(): unknown[] {
  const seen: unknown[] = [];
  const on = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', on);
  onCleanup(() => process.off('unhandledRejection', on));
  return seen;
}

// The backend here is a real MemoryBackend that was stopped under the running gateway: its
// publish rejects as a broker's does while unreachable (the Redis and NATS outage cases run in
// the backend conformance suite, against brokers the tests kill).
describe('a publish the backend did not accept (protocol.md v1.1, "Failure to reach the broker")', () => {
  it('is answered backend_unavailable to a client, never acked; local subscribers still get it', async () => {
    const unhandled = collectUnhandled();
    const backend = new MemoryBackend();
    const { gw, url } = await startTestGateway({ backend, clientPublish: true });
    const c = await TestClient.open(url);
    await c.welcome();
    await c.request({ type: 'subscribe', data: { channel: 'news' } });
    expect(await c.request({ type: 'publish', id: 1, channel: 'news', data: 'up' })).toEqual({
      type: 'ack',
      id: 1,
      data: { channel: 'news' },
    });

    await backend.stop();
    expect(await c.request({ type: 'publish', id: 7, channel: 'news', data: 'down' })).toEqual({
      type: 'error',
      id: 7,
      data: { code: 'backend_unavailable', message: MESSAGE, retry_after_ms: 1000 },
    });
    expect(c.frames.filter((f) => f.type === 'message').map((f) => f.data)).toEqual(['up', 'down']);
    expect(c.frames.some((f) => f.type === 'ack' && f.id === 7)).toBe(false);
    // Without an id: no ack ever, and still an error (protocol.md, "Requests and replies").
    c.send({ type: 'publish', channel: 'news', data: 'no id' });
    expect(await c.waitFor((f) => f.type === 'error' && f.id === undefined)).toEqual({
      type: 'error',
      data: { code: 'backend_unavailable', message: MESSAGE, retry_after_ms: 1000 },
    });
    expect(gw.getStats().counters.backend_errors).toBe(2);
    expect(unhandled).toEqual([]);
  });

  it('makes broadcastTo* reject with BackendUnavailableError, local delivery standing', async () => {
    const backend = new MemoryBackend();
    const { gw, url } = await startTestGateway({ backend });
    const c = await TestClient.open(url);
    await c.welcome();
    await c.request({ type: 'subscribe', data: { channel: 'news' } });
    await backend.stop();
    const error = await gw.broadcastToChannel('news', 'headline', { n: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error).toMatchObject({
      code: 'backend_unavailable',
      retryAfterMs: 1000,
      deliveredLocal: 1,
      message: MESSAGE,
    });
    expect((error as Error).cause).toBeInstanceOf(BackendUnavailableError);
    await c.waitFor((f) => f.type === 'headline');
    await expect(gw.broadcastToAll('x', null)).rejects.toMatchObject({ deliveredLocal: 1 });
    await expect(gw.broadcastToUser('nobody', 'x', null)).rejects.toMatchObject({ deliveredLocal: 0 });
  });

  it('a handler that lets the rejection through answers backend_unavailable too', async () => {
    const backend = new MemoryBackend();
    const { gw, url } = await startTestGateway({ backend });
    gw.addMessageHandler('shout', (_s, data) => gw.broadcastToAll('shouted', data));
    const c = await TestClient.open(url);
    await c.welcome();
    await backend.stop();
    expect(await c.request({ type: 'shout', id: 'a', data: 1 })).toEqual({
      type: 'error',
      id: 'a',
      data: { code: 'backend_unavailable', message: MESSAGE, retry_after_ms: 1000 },
    });
  });

  it('POST /api/publish answers 503 with delivered_local and Retry-After', async () => {
    const backend = new MemoryBackend();
    const { url, base } = await startTestGateway({ backend, apiKey: KEY });
    const c = await TestClient.open(url);
    await c.welcome();
    await c.request({ type: 'subscribe', data: { channel: 'news' } });
    await backend.stop();
    const r = await fetch(`${base}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'news', type: 'headline', data: { n: 1 } }),
    });
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(await r.json()).toEqual({
      error: { code: 'backend_unavailable', message: MESSAGE, retry_after_ms: 1000 },
      delivered_local: 1,
    });
    await c.waitFor((f) => f.type === 'headline');
  });
});
