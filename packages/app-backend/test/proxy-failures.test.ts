import { sleep } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { connect, SECRET, startBacked, TestApp } from './helpers';

const UNAVAILABLE = 'proxy_unavailable';

describe('proxy failure modes', () => {
  it('times out a slow application and answers proxy_unavailable, never hanging', async () => {
    const app = await TestApp.start(() => ({ body: { result: {} }, delayMs: 2000 }));
    const { url, appBackend } = await startBacked({
      proxy: { subscribeUrl: app.url('/sub'), secret: SECRET, timeoutMs: 200 },
    });
    const c = await connect(url);
    const started = Date.now();
    const reply = await c.request({ type: 'subscribe', channel: 'slow' });
    const took = Date.now() - started;
    expect(reply.data).toMatchObject({ code: UNAVAILABLE, retry_after_ms: 1000 });
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1000);
    expect(appBackend.stats().proxy?.routes.subscribe?.outcomes).toEqual({ timeout: 1 });
  });

  it('bounds the requests in flight per node and refuses beyond the queue at once', async () => {
    const app = await TestApp.start(() => ({ body: { result: {} }, delayMs: 300 }));
    const { url, appBackend } = await startBacked({
      proxy: {
        subscribeUrl: app.url('/sub'),
        secret: SECRET,
        maxConcurrency: 2,
        maxQueue: 1,
        timeoutMs: 3000,
      },
    });
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => connect(url)));
    const replies = await Promise.all(
      clients.map((c, i) => c.request({ type: 'subscribe', channel: `c${i}` })),
    );
    const codes = replies.map((r) => (r.type === 'ack' ? 'ack' : (r.data as { code: string }).code)).sort();
    expect(codes).toEqual(['ack', 'ack', 'ack', UNAVAILABLE, UNAVAILABLE]);
    expect(app.maxInFlight).toBe(2);
    expect(app.requests.length).toBe(3);
    const stats = appBackend.stats().proxy;
    expect(stats?.routes.subscribe?.outcomes).toEqual({ result: 3, overloaded: 2 });
    // Refusals for want of a slot say nothing about the application: the breaker stays closed.
    expect(stats?.routes.subscribe?.breaker).toBe('closed');
    expect(stats).toMatchObject({ in_flight: 0, queued: 0 });
  });

  it('opens the breaker after failures in a row, refuses without asking, and closes after a good trial', async () => {
    let healthy = false;
    const app = await TestApp.start(() => (healthy ? { body: { result: {} } } : { status: 500 }));
    const { url, appBackend, gateway } = await startBacked(
      {
        proxy: { subscribeUrl: app.url('/sub'), secret: SECRET, breakerFailures: 3, breakerCooldownMs: 400 },
      },
      { apiKey: 'k'.repeat(32) },
    );
    const c = await connect(url);
    for (let i = 0; i < 3; i++) {
      expect((await c.request({ type: 'subscribe', channel: `a${i}` })).data).toMatchObject({
        code: UNAVAILABLE,
        retry_after_ms: i < 2 ? 1000 : 400,
      });
    }
    const refused = await c.request({ type: 'subscribe', channel: 'b' });
    expect(refused.data).toMatchObject({ code: UNAVAILABLE });
    expect((refused.data as { retry_after_ms: number }).retry_after_ms).toBeLessThanOrEqual(400);
    expect(app.requests.length).toBe(3);

    const health = await gateway.healthCheck();
    expect(health.status).toBe('degraded');
    expect(health.components.app_backend).toEqual({
      status: 'degraded',
      reasons: ['proxy_subscribe_breaker_open'],
      proxy: { in_flight: 0, queued: 0, breakers: { subscribe: 'open' } },
    });
    const port = gateway.address()!.port;
    const publicHealth = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as {
      components: Record<string, unknown>;
    };
    expect(publicHealth.components.app_backend).toEqual({ status: 'degraded' });

    // After the cooldown one trial goes; it fails: open again.
    await sleep(450);
    expect((await c.request({ type: 'subscribe', channel: 'c' })).data).toMatchObject({ code: UNAVAILABLE });
    expect(app.requests.length).toBe(4);
    expect(appBackend.stats().proxy?.routes.subscribe).toMatchObject({ breaker: 'open', breaker_opened: 2 });

    healthy = true;
    await sleep(450);
    expect((await c.request({ type: 'subscribe', channel: 'd' })).type).toBe('ack');
    expect((await c.request({ type: 'subscribe', channel: 'e' })).type).toBe('ack');
    expect(app.requests.length).toBe(6);
    expect(appBackend.stats().proxy?.routes.subscribe).toMatchObject({
      breaker: 'closed',
      failures_in_a_row: 0,
      outcomes: { bad_status: 4, breaker_open: 1, result: 2 },
    });
    expect((await gateway.healthCheck()).components.app_backend?.status).toBe('healthy');
    const metrics = appBackend.metrics();
    expect(metrics).toContain('dotmac_ws_proxy_requests_total{route="subscribe",outcome="bad_status"} 4');
    expect(metrics).toContain('dotmac_ws_proxy_breaker_state{route="subscribe"} 0');
    expect(metrics).toContain('dotmac_ws_proxy_breaker_opened_total{route="subscribe"} 2');
    expect(metrics).toContain('dotmac_ws_proxy_request_duration_seconds_count{route="subscribe"} 6');
  });
});
