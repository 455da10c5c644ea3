import { ProtocolError } from '@dotmac-ws/core';
import { freePort, sleep } from '@dotmac-ws/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from '../src/index';
import { nextEvent, onlySession, recordEvents, startGateway, testClient } from './helpers';

describe('backoff', () => {
  it('grows exponentially with full jitter between minDelayMs and the capped ceiling', () => {
    const o = { minDelayMs: 500, maxDelayMs: 30_000 };
    expect([0, 1, 2, 3, 6, 7, 50, 5000].map((n) => backoffDelay(n, o, () => 1))).toEqual([
      1000, 2000, 4000, 8000, 30_000, 30_000, 30_000, 30_000,
    ]);
    expect([0, 1, 2, 5000].map((n) => backoffDelay(n, o, () => 0))).toEqual([500, 500, 500, 500]);
    expect(backoffDelay(2, o, () => 0.5)).toBe(2250);
    expect(backoffDelay(4, { minDelayMs: 0, maxDelayMs: 100 }, () => 1)).toBe(0);
    expect(backoffDelay(3, { minDelayMs: 100, maxDelayMs: 100 }, () => 0.7)).toBe(100);
  });
});

describe('backoff timing (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** Waits for real I/O (a refused TCP connect) while the timers are fake. */
  async function ioUntil(check: () => boolean, what: string): Promise<void> {
    const deadline = performance.now() + 3000;
    while (!check()) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('waits exactly the scheduled delay before each attempt, capped at maxDelayMs', async () => {
    const port = await freePort(); // nothing listens there: every attempt is refused
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.spyOn(Math, 'random').mockReturnValue(1);
    const client = testClient({
      url: `ws://127.0.0.1:${port}/ws`,
      reconnect: { minDelayMs: 1000, maxDelayMs: 5000, maxAttempts: 5 },
    });
    const events = recordEvents(client);
    const count = (type: string) => events.filter((e) => e.type === type).length;
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      await ioUntil(() => count('reconnecting') === attempt, `reconnect ${attempt}`);
      const last = events.at(-1)!;
      expect(last.type).toBe('reconnecting');
      const { delayMs } = last.event as { delayMs: number; attempt: number };
      expect(last.event).toMatchObject({ attempt });
      delays.push(delayMs);
      expect(count('connecting')).toBe(attempt);
      await vi.advanceTimersByTimeAsync(delayMs - 1);
      expect(count('connecting')).toBe(attempt); // not a millisecond early
      await vi.advanceTimersByTimeAsync(1);
      expect(count('connecting')).toBe(attempt + 1);
    }
    expect(delays).toEqual([2000, 4000, 5000, 5000, 5000]);
    await ioUntil(() => client.state === 'closed', 'giving up');
    expect(events.at(-1)).toMatchObject({ type: 'closed', event: { reason: 'max_attempts' } });
    expect(events.at(-2)).toMatchObject({
      type: 'disconnected',
      event: { code: 1006, willReconnect: false },
    });
  });
});

describe('reconnect', () => {
  it.each([1000, 1001, 1011, 4408, 4429])('reconnects after the server closes with %i', async (code) => {
    const { gw, url } = await startGateway();
    const client = testClient({ url });
    const first = await client.whenConnected(3000);
    const lost = nextEvent(client, 'disconnected');
    const back = nextEvent(client, 'connected');
    gw.disconnectSession(first.welcome.session_id, code);
    expect(await lost).toMatchObject({ code, willReconnect: true, needsToken: false });
    const again = await back;
    expect(again.reconnected).toBe(true);
    expect(again.welcome.session_id).not.toBe(first.welcome.session_id);
  });

  it('reconnects after the connection drops without a close frame (1006)', async () => {
    const { gw, url } = await startGateway();
    const client = testClient({ url });
    await client.whenConnected(3000);
    const lost = nextEvent(client, 'disconnected');
    onlySession(gw).socket.terminate();
    expect(await lost).toMatchObject({ code: 1006, willReconnect: true });
    await nextEvent(client, 'connected');
  });

  it("after 4429 waits at least the server's advised retry_after_ms", async () => {
    const { gw, url } = await startGateway({ rateLimitCloseAfter: 3 });
    gw.use({
      message: async (ctx, next) => {
        if (ctx.type === 'spam') throw new ProtocolError('rate_limited', 'slow down', { retryAfterMs: 700 });
        await next();
      },
    });
    const client = testClient({ url, reconnect: { minDelayMs: 10, maxDelayMs: 50 } });
    await client.whenConnected(3000);
    const events = recordEvents(client);
    const refusals = await Promise.allSettled([1, 2, 3].map(() => client.request('spam')));
    expect(refusals.map((r) => r.status === 'rejected' && (r.reason as { code: string }).code)).toEqual([
      'rate_limited',
      'rate_limited',
      'rate_limited',
    ]);
    await nextEvent(client, 'connected');
    const lost = events.find((e) => e.type === 'disconnected')!;
    const scheduled = events.find((e) => e.type === 'reconnecting')!;
    const attempt = events.find((e) => e.type === 'connecting')!;
    expect(lost.event).toMatchObject({ code: 4429, reason: 'rate_limited', willReconnect: true });
    expect(scheduled.event).toMatchObject({ attempt: 1, delayMs: 700 });
    // Timers may fire a millisecond early on some platforms; the schedule is exact above.
    expect(attempt.at - scheduled.at).toBeGreaterThanOrEqual(690);
  });

  it('with reconnect: false a lost connection closes the client', async () => {
    const { gw, url } = await startGateway();
    const client = testClient({ url, reconnect: false });
    const first = await client.whenConnected(3000);
    const closed = nextEvent(client, 'closed');
    gw.disconnectSession(first.welcome.session_id, 1001);
    expect(await closed).toEqual({ reason: 'reconnect_disabled' });
    expect(client.state).toBe('closed');
  });

  it('close() stops a scheduled reconnect', async () => {
    const { gw, url } = await startGateway();
    const client = testClient({ url, reconnect: { minDelayMs: 300, maxDelayMs: 300 } });
    const first = await client.whenConnected(3000);
    const scheduled = nextEvent(client, 'reconnecting');
    gw.disconnectSession(first.welcome.session_id, 1011);
    await scheduled;
    const events = recordEvents(client);
    client.close();
    await sleep(500);
    expect(events.map((e) => e.type)).toEqual(['closed']);
    expect(gw.getStats().counters.connections_total).toBe(1);
    await expect(client.whenConnected()).rejects.toMatchObject({ code: 'closed' });
  });
});
