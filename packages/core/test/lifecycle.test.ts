import { onCleanup, sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { HandshakeError, ProtocolError, silentLogger, WebSocketGateway } from '../src/index';
import { createGate } from './gate';
import { startTestGateway } from './helpers';

describe('start and stop', () => {
  it('port 0 binds a free port that address() reports; stop is idempotent', async () => {
    const gw = new WebSocketGateway({ port: 0, host: '127.0.0.1', logger: silentLogger });
    expect(gw.address()).toBeNull();
    expect(gw.isReady).toBe(false);
    await gw.start();
    const addr = gw.address()!;
    expect(addr.host).toBe('127.0.0.1');
    expect(addr.port).toBeGreaterThan(0);
    await expect(gw.start()).rejects.toThrow('the gateway cannot start: it is running');
    await Promise.all([gw.stop(), gw.stop()]);
    expect(gw.status).toBe('stopped');
    await gw.stop();
  });

  it('a port in use fails start() and leaves nothing running', async () => {
    const { port } = await startTestGateway();
    const second = new WebSocketGateway({ port, host: '127.0.0.1', logger: silentLogger });
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(second.status).toBe('stopped');
  });

  it('drains: sessions get 1001, readiness and new upgrades get 503 meanwhile', async () => {
    const { gw, url, base } = await startTestGateway({ drainTimeoutMs: 5000 });
    const clients = await Promise.all(Array.from({ length: 5 }, () => TestClient.open(url)));
    await Promise.all(clients.map((c) => c.welcome()));
    // One client does not read: its close handshake stays open, so the drain has to wait for it.
    const late = clients[0]!;
    late.ws.pause();
    const stopping = gw.stop();
    expect(gw.isReady).toBe(false);
    const others = await Promise.all(clients.slice(1).map((c) => c.waitClose()));
    expect(others).toEqual(Array(4).fill({ code: 1001, reason: 'going_away' }));
    const ready = await fetch(`${base}/ready`);
    expect([ready.status, await ready.json()]).toEqual([503, { ready: false, status: 'draining' }]);
    const refused = await TestClient.refused(url);
    expect([refused.status, refused.headers['retry-after']]).toEqual([503, '5']);
    late.ws.resume();
    expect(await late.waitClose()).toEqual({ code: 1001, reason: 'going_away' });
    await stopping;
    expect(gw.status).toBe('stopped');
    await expect(TestClient.open(url)).rejects.toThrow();
  });

  it('closes many sessions in jittered batches, all with 1001, within the drain timeout', async () => {
    const { gw, url } = await startTestGateway({ drainTimeoutMs: 2000 });
    const clients: TestClient[] = [];
    for (let i = 0; i < 250; i++) clients.push(await TestClient.open(url));
    await waitUntil(() => gw.getStats().sessions.total === 250);
    const closedAt: number[] = [];
    const started = Date.now();
    for (const c of clients) c.ws.on('close', () => closedAt.push(Date.now() - started));
    await gw.stop();
    const codes = await Promise.all(clients.map((c) => c.waitClose()));
    expect(codes.every((c) => c.code === 1001)).toBe(true);
    // Three batches of at most 100, each at a random moment of a 60 ms window.
    expect(Math.max(...closedAt)).toBeLessThan(800);
  });

  it('terminates sessions that do not close within drainTimeoutMs', async () => {
    const { gw, url } = await startTestGateway({ drainTimeoutMs: 200 });
    const c = await TestClient.open(url);
    await c.welcome();
    // Stop reading: the close frame is never answered.
    c.ws.pause();
    const t = Date.now();
    await gw.stop();
    expect(Date.now() - t).toBeLessThan(1500);
    expect(gw.getStats().sessions.total).toBe(0);
  });
});

describe('heartbeat', () => {
  it('pings clients and terminates one that stops answering within two intervals', async () => {
    const { gw, url } = await startTestGateway({ heartbeatMs: 100 });
    const alive = await TestClient.open(url);
    const dead = await TestClient.open(url);
    await Promise.all([alive.welcome(), dead.welcome()]);
    let pings = 0;
    alive.ws.on('ping', () => pings++);
    // A dead peer: its socket stops reading, so no pong ever comes back.
    dead.ws.pause();
    await waitUntil(() => gw.getStats().counters.heartbeat_timeouts === 1, 3000, 'heartbeat timeout');
    await waitUntil(() => gw.getStats().sessions.total === 1, 1000, 'the dead session to be removed');
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(alive.closed).toBeNull();
  });
});

/** Broadcasts 32 KiB blobs on `firehose` until `counter` moves (at most 400, about 12 MiB). */
async function flood(gw: WebSocketGateway, counter: 'slow_consumer_disconnects' | 'slow_consumer_drops') {
  const chunk = 'x'.repeat(32 * 1024);
  for (let i = 0; i < 400 && gw.getStats().counters[counter] === 0; i++) {
    await gw.broadcastToChannel('firehose', 'blob', chunk);
    if (i % 20 === 0) await sleep(1);
  }
}

describe('outbound buffer', () => {
  it('closes a slow consumer with 4408 and keeps serving the others', async () => {
    const { gw, url } = await startTestGateway({ maxBufferedBytes: 64 * 1024 });
    const slow = await TestClient.open(url);
    const fast = await TestClient.open(url);
    for (const c of [slow, fast]) await c.request({ type: 'subscribe', data: { channel: 'firehose' } });
    slow.ws.pause();
    await flood(gw, 'slow_consumer_disconnects');
    expect(gw.getStats().counters.slow_consumer_disconnects).toBe(1);
    slow.ws.resume();
    expect(await slow.waitClose()).toEqual({ code: 4408, reason: 'slow_consumer' });
    await fast.request({ type: 'ping' });
    expect(fast.closed).toBeNull();
  });

  it('with the drop policy, drops and counts instead of closing', async () => {
    const { gw, url } = await startTestGateway({ maxBufferedBytes: 64 * 1024, slowConsumerPolicy: 'drop' });
    const slow = await TestClient.open(url);
    await slow.request({ type: 'subscribe', data: { channel: 'firehose' } });
    slow.ws.pause();
    await flood(gw, 'slow_consumer_drops');
    expect(gw.getStats().counters.slow_consumer_drops).toBeGreaterThan(0);
    slow.ws.resume();
    expect((await slow.request({ type: 'ping' }, 10000)).type).toBe('pong');
    expect(slow.closed).toBeNull();
  });
});

describe('handshake rules', () => {
  it('unknown paths get 404 without an upgrade', async () => {
    const { base } = await startTestGateway();
    const r = await TestClient.refused(`${base.replace('http', 'ws')}/nope`);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body)).toEqual({
      error: { code: 'not_found', message: 'no WebSocket endpoint at this path' },
    });
  });

  it('an Origin outside allowedOrigins gets 403; listed ones and none are accepted', async () => {
    const { url } = await startTestGateway({ allowedOrigins: ['https://app.example.com'] });
    expect((await TestClient.refused(url, { headers: { Origin: 'https://evil.example.com' } })).status).toBe(
      403,
    );
    expect(
      (await (await TestClient.open(url, { headers: { Origin: 'https://app.example.com' } })).welcome()).type,
    ).toBe('welcome');
    expect((await (await TestClient.open(url)).welcome()).type).toBe('welcome');
  });

  it('maxConnections answers 503 with Retry-After past the limit', async () => {
    const { url } = await startTestGateway({ maxConnections: 2 });
    const a = await TestClient.open(url);
    await TestClient.open(url);
    const r = await TestClient.refused(url);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('5');
    a.close();
    await a.waitClose();
    await sleep(20);
    await TestClient.open(url);
  });

  it('connection middleware refuses with any status and headers; onClose runs exactly once however it ends', async () => {
    const { gw, url } = await startTestGateway();
    const closes: string[] = [];
    gw.use({
      connection: async (ctx, next) => {
        const name = ctx.url.searchParams.get('name') ?? '?';
        ctx.onClose(() => closes.push(name));
        if (name === 'refuse') throw new HandshakeError(429, 'too many', { 'Retry-After': '7' });
        await next();
      },
    });
    gw.use({
      connection: async (ctx, next) => {
        if (ctx.url.searchParams.get('name') === 'later') throw new HandshakeError(403, 'no');
        await next();
      },
    });
    const r = await TestClient.refused(`${url}?name=refuse`);
    expect([r.status, r.headers['retry-after'], JSON.parse(r.body)]).toEqual([
      429,
      '7',
      { error: { code: 'rate_limited', message: 'too many' } },
    ]);
    expect((await TestClient.refused(`${url}?name=later`)).status).toBe(403);
    const ok = await TestClient.open(`${url}?name=ok`);
    await ok.welcome();
    const crash = await TestClient.open(`${url}?name=crash`);
    await crash.welcome();
    ok.close();
    crash.terminate();
    await waitUntil(() => closes.length === 4);
    expect(closes.sort()).toEqual(['crash', 'later', 'ok', 'refuse']);
  });

  it('a throw that is not a HandshakeError answers 500', async () => {
    const { gw, url } = await startTestGateway();
    gw.use({
      connection: async () => {
        throw new Error('boom');
      },
    });
    expect((await TestClient.refused(url)).status).toBe(500);
  });

  it('calling next() twice is an error', async () => {
    const { gw, url } = await startTestGateway();
    gw.use({
      connection: async (_ctx, next) => {
        await next();
        await next();
      },
    });
    expect((await TestClient.refused(url)).status).toBe(500);
  });
});

describe('message middleware', () => {
  it('refuses frames with rate_limited and retry_after_ms; the refused frame is not performed; 4429 after N in a row', async () => {
    const { gw, url } = await startTestGateway({ rateLimitCloseAfter: 5, clientPublish: true });
    let allowed = 2;
    gw.use({
      message: async (_ctx, next) => {
        if (allowed-- <= 0) throw new ProtocolError('rate_limited', 'slow down', { retryAfterMs: 1000 });
        await next();
      },
    });
    const c = await TestClient.open(url);
    await c.welcome();
    expect((await c.request({ type: 'subscribe', id: 1, data: { channel: 'rl' } })).type).toBe('ack');
    expect((await c.request({ type: 'ping', id: 2 })).type).toBe('pong');
    expect(await c.request({ type: 'publish', id: 3, channel: 'rl', data: 'refused' })).toEqual({
      type: 'error',
      id: 3,
      data: { code: 'rate_limited', message: 'slow down', retry_after_ms: 1000 },
    });
    for (let i = 0; i < 4; i++) c.send({ type: 'ping' });
    expect(await c.waitClose()).toEqual({ code: 4429, reason: 'rate_limited' });
    expect(c.frames.some((f) => f.type === 'message')).toBe(false);
    expect(gw.getStats().counters.rate_limited).toBe(5);
  });

  it('a performed frame resets the refusal streak', async () => {
    const { gw, url } = await startTestGateway({ rateLimitCloseAfter: 3 });
    let n = 0;
    gw.use({
      message: async (_ctx, next) => {
        // Refuse two of every three frames: never three in a row.
        if (n++ % 3 !== 2) throw new ProtocolError('rate_limited', 'slow down', { retryAfterMs: 10 });
        await next();
      },
    });
    const c = await TestClient.open(url);
    await c.welcome();
    for (let i = 0; i < 12; i++) await c.request({ type: 'ping' });
    expect(c.closed).toBeNull();
  });
});

describe('inbound backpressure', () => {
  it('stops reading a client whose frames queue up, and loses none of them', async () => {
    const { gw, url } = await startTestGateway({ maxPendingFrames: 4 });
    const gate = createGate();
    const handled: number[] = [];
    gw.addMessageHandler('work', async (_s, data) => {
      await gate.opened;
      handled.push(data as number);
      return data;
    });
    const c = await TestClient.open(url);
    await c.welcome();
    for (let i = 0; i < 50; i++) c.send({ type: 'work', id: i, data: i });
    await sleep(100);
    expect(handled).toEqual([]);
    gate.open();
    await c.waitFor((f) => f.id === 49, 5000);
    expect(handled).toEqual(Array.from({ length: 50 }, (_, i) => i));
    onCleanup(() => c.terminate());
  });
});

describe('sessions from the server side', () => {
  it('disconnectSession closes with 4403 by default', async () => {
    const { gw, url } = await startTestGateway();
    const c = await TestClient.open(url);
    const id = ((await c.welcome()).data as { session_id: string }).session_id;
    expect(gw.disconnectSession(id)).toBe(true);
    expect(await c.waitClose()).toEqual({ code: 4403, reason: 'forbidden' });
    expect(gw.disconnectSession('nope')).toBe(false);
  });

  it('stats count connections, frames and bytes', async () => {
    const { gw, url } = await startTestGateway();
    const c = await TestClient.open(url);
    await c.welcome();
    await c.request({ type: 'ping', id: 1 });
    const s = gw.getStats();
    expect(s.sessions.total).toBe(1);
    expect(s.counters.connections_total).toBe(1);
    expect(s.counters.messages_received).toBe(1);
    expect(s.counters.messages_sent).toBe(2);
    expect(s.counters.bytes_received).toBe(Buffer.byteLength(JSON.stringify({ type: 'ping', id: 1 })));
    c.close();
    await waitUntil(() => gw.getStats().counters.disconnections_total === 1);
    expect(gw.getStats().sessions.total).toBe(0);
  });
});

describe('fairness between sessions', () => {
  it("one client's burst does not hold back another client's frames until it is done", async () => {
    const { gw, url } = await startTestGateway({ maxPendingFrames: 10_000 });
    let handled = 0;
    let handledWhenPinged = -1;
    gw.addMessageHandler('work', () => {
      handled++;
    });
    gw.use({
      message: async (ctx, next) => {
        if (ctx.type === 'ping' && ctx.id === 'other') handledWhenPinged = handled;
        await next();
      },
    });
    const burst = await TestClient.open(url);
    const other = await TestClient.open(url);
    await Promise.all([burst.welcome(), other.welcome()]);
    // 800 frames in one write (one read on the server), then the other client's ping right behind them.
    const frame = JSON.stringify({ type: 'work' });
    const raw = (burst.ws as unknown as { _socket: import('node:net').Socket })._socket;
    raw.cork();
    for (let i = 0; i < 800; i++) burst.ws.send(frame);
    raw.uncork();
    other.send({ type: 'ping', id: 'other' });
    await other.waitFor((f) => f.id === 'other');
    await waitUntil(() => handled === 800, 5000);
    expect(handledWhenPinged).toBeGreaterThanOrEqual(0);
    expect(handledWhenPinged).toBeLessThan(800);
  });
});

describe('background cleanup', () => {
  it('removes a session whose close event never arrived, and runs its onClose callbacks', async () => {
    const { gw, url } = await startTestGateway({ heartbeatMs: 100 });
    let closed = 0;
    gw.use({
      connection: async (ctx, next) => {
        ctx.onClose(() => closed++);
        await next();
      },
    });
    const c = await TestClient.open(url);
    const id = ((await c.welcome()).data as { session_id: string }).session_id;
    // Lose the close event: the socket closes, the gateway never hears of it.
    gw.getSession(id)!.socket.removeAllListeners('close');
    c.terminate();
    await waitUntil(() => gw.getStats().counters.stale_sessions_removed === 1, 3000, 'the sweep');
    expect(gw.getStats().sessions.total).toBe(0);
    expect(closed).toBe(1);
  });
});
