import type { ChannelPolicy, GatewayOptions } from '@dotmac-ws/core';
import { sleep, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { WebhookEvent, WebhookEventName, WebhookOptions } from '../src';
import { type AppRequest, connect, SECRET, startBacked, TestApp } from './helpers';

/** Presence on `room:*`, publishing anywhere. */
const presencePolicy: ChannelPolicy = {
  canSubscribe: () => true,
  canPublish: () => true,
  options: (ch) => (ch.name.startsWith('room:') ? { presence: true } : null),
};

function events(requests: readonly AppRequest[]): WebhookEvent[] {
  return requests.flatMap((r) => (r.body as { events: WebhookEvent[] }).events);
}

/**
 * A test app (answering with `answer`) and a gateway whose one webhook target, `/hooks`, gets
 * `events` (every event when undefined).
 */
async function hooked(
  events: readonly WebhookEventName[] | undefined,
  webhooks: Partial<WebhookOptions>,
  answer: TestApp['handler'] = () => ({ body: {} }),
  gatewayOptions: GatewayOptions = {},
) {
  const app = await TestApp.start(answer);
  const backed = await startBacked(
    { webhooks: { targets: [{ url: app.url('/hooks'), events }], secret: SECRET, ...webhooks } },
    gatewayOptions,
  );
  return { app, ...backed };
}

describe('webhooks', () => {
  it('sends every event kind with its fields, signed, in the documented batch shape', async () => {
    const { app, url, gateway } = await hooked(
      undefined,
      { batchMs: 20, vacateDelayMs: 0, clientEventChannels: ['room:*'] },
      undefined,
      { channelPolicy: presencePolicy, presenceGraceMs: 0 },
    );
    const c = await connect(url, {});
    const sessionId = ((await c.welcome()).data as { session_id: string }).session_id;
    await c.request({ type: 'subscribe', channel: 'room:1' });
    await c.request({ type: 'publish', channel: 'room:1', event: 'typing', data: { on: true } });
    await c.request({ type: 'publish', channel: 'lobby', data: 'not opted in' });
    c.close(1000);
    await waitUntil(() => events(app.requests).length >= 7, 3000, '7 events');
    await sleep(100);
    const got = events(app.requests);
    const base = { id: expect.any(String), time_ms: expect.any(Number), node_id: gateway.nodeId };
    const room = { channel: 'room:1', tenant_id: null };
    const member = { session_id: sessionId, user_id: null, joined_at: expect.any(Number) };
    // Events of different kinds may be told in any order: compared by name.
    const byName = (list: readonly Record<string, unknown>[]) =>
      [...list].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    expect(byName(got)).toEqual(
      byName([
        {
          ...base,
          name: 'session.connected',
          session_id: sessionId,
          user_id: null,
          tenant_id: null,
          remote_address: '127.0.0.1',
        },
        { ...base, name: 'channel.occupied', ...room },
        { ...base, name: 'presence.member_added', ...room, ...member },
        {
          ...base,
          name: 'client.event',
          ...room,
          session_id: sessionId,
          user_id: null,
          event: 'typing',
          data: { on: true },
        },
        { ...base, name: 'channel.vacated', ...room },
        {
          ...base,
          name: 'session.disconnected',
          session_id: sessionId,
          user_id: null,
          tenant_id: null,
          code: 1000,
          reason: '',
          duration_ms: expect.any(Number),
        },
        { ...base, name: 'presence.member_removed', ...room, ...member },
      ]),
    );
    expect(new Set(got.map((e) => e.id)).size).toBe(7);
    for (const r of app.requests) {
      expect(r.verified).toBe(true);
      expect(Object.keys(r.body).sort()).toEqual(['events', 'time_ms']);
    }
  });

  it('sends each target only the events it lists', async () => {
    const app = await TestApp.start(() => ({ body: {} }));
    const { url } = await startBacked({
      webhooks: {
        secret: SECRET,
        batchMs: 0,
        targets: [
          { url: app.url('/sessions'), events: ['session.connected', 'session.disconnected'] },
          { url: app.url('/channels'), events: ['channel.occupied'], name: 'channels' },
        ],
      },
    });
    const c = await connect(url);
    await c.request({ type: 'subscribe', channel: 'x' });
    await waitUntil(
      () => events(app.to('/channels')).length === 1 && events(app.to('/sessions')).length === 1,
    );
    expect(events(app.to('/sessions')).map((e) => e.name)).toEqual(['session.connected']);
    expect(events(app.to('/channels')).map((e) => e.name)).toEqual(['channel.occupied']);
  });

  it('batches up to batchSize events, or what came within batchMs', async () => {
    const { app, url } = await hooked(['session.connected'], { batchSize: 3, batchMs: 400 });
    const opened = Date.now();
    for (let i = 0; i < 7; i++) await connect(url);
    await app.waitRequests('/hooks', 2, 300);
    expect(app.requests.map((r) => events([r]).length)).toEqual([3, 3]);
    await app.waitRequests('/hooks', 3, 2000);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(390);
    expect(app.requests.map((r) => events([r]).length)).toEqual([3, 3, 1]);
  });

  it('retries a failing endpoint with backoff: the same events, the same ids, delivered once it answers 2xx', async () => {
    let attempts = 0;
    const { app, url, appBackend } = await hooked(
      ['session.connected'],
      { batchMs: 50, retryBaseMs: 100 },
      () => (++attempts <= 2 ? { status: 500 } : { body: {} }),
    );
    await Promise.all([connect(url), connect(url)]);
    const [first, second, third] = await app.waitRequests('/hooks', 3, 3000);
    const ids = (r: AppRequest | undefined) => events(r === undefined ? [] : [r]).map((e) => e.id);
    expect(ids(first)).toHaveLength(2);
    expect(ids(second)).toEqual(ids(first));
    expect(ids(third)).toEqual(ids(first));
    await sleep(300);
    expect(app.requests).toHaveLength(3);
    expect(appBackend.stats().webhooks?.targets[0]).toEqual({
      name: '0',
      queued: 0,
      sent: 2,
      failed: 0,
      dropped: { queue_full: 0, stopped: 0 },
      failed_requests: 2,
      failing: false,
    });
  });

  it('gives a batch up after retryForMs and counts its events as failed', async () => {
    const app = await TestApp.start(() => ({ status: 503 }));
    const { url, appBackend, gateway } = await startBacked({
      webhooks: {
        targets: [{ url: app.url('/hooks'), events: ['session.connected'], name: 'app' }],
        secret: SECRET,
        batchMs: 0,
        retryBaseMs: 50,
        retryForMs: 300,
      },
    });
    await connect(url);
    await waitUntil(() => appBackend.stats().webhooks?.targets[0]?.failing === true);
    expect((await gateway.healthCheck()).components.app_backend).toMatchObject({
      status: 'degraded',
      reasons: ['webhook_app_failing'],
    });
    await waitUntil(() => appBackend.stats().webhooks?.targets[0]?.failed === 1, 3000, 'given up');
    expect(app.requests.length).toBeGreaterThanOrEqual(3);
    expect(appBackend.metrics()).toContain('dotmac_ws_webhook_events_total{target="app",outcome="failed"} 1');
    expect((await gateway.healthCheck()).components.app_backend?.status).toBe('healthy');
  });

  it('drops and counts events beyond the queue', async () => {
    const { url, appBackend } = await hooked(
      ['session.connected'],
      { batchSize: 1, batchMs: 0, queueSize: 2 },
      () => ({ body: {}, delayMs: 500 }),
    );
    for (let i = 0; i < 5; i++) await connect(url);
    expect(appBackend.stats().webhooks?.targets[0]).toMatchObject({ queued: 2, dropped: { queue_full: 3 } });
    expect(appBackend.metrics()).toContain(
      'dotmac_ws_webhook_events_total{target="0",outcome="dropped_queue_full"} 3',
    );
    await waitUntil(() => appBackend.stats().webhooks?.targets[0]?.sent === 2, 3000, 'the two queued sent');
  });

  it('waits vacateDelayMs before channel.vacated: a quick resubscribe sends nothing', async () => {
    const { app, url } = await hooked(['channel.occupied', 'channel.vacated'], {
      batchMs: 0,
      vacateDelayMs: 400,
    });
    const c = await connect(url);
    await c.request({ type: 'subscribe', channel: 'q' });
    await c.request({ type: 'unsubscribe', channel: 'q' });
    await sleep(100);
    await c.request({ type: 'subscribe', channel: 'q' });
    await sleep(500);
    expect(events(app.requests).map((e) => e.name)).toEqual(['channel.occupied']);
    const left = Date.now();
    await c.request({ type: 'unsubscribe', channel: 'q' });
    await waitUntil(() => events(app.requests).length === 2, 2000, 'vacated');
    expect(Date.now() - left).toBeGreaterThanOrEqual(390);
    expect(events(app.requests).map((e) => `${e.name} ${e.channel}`)).toEqual([
      'channel.occupied q',
      'channel.vacated q',
    ]);
  });

  it('at stop, sends what is queued (the vacates of the drain included); drops what cannot go', async () => {
    const { app, url, gateway, appBackend } = await hooked(['channel.vacated', 'session.disconnected'], {
      batchMs: 60_000,
      vacateDelayMs: 60_000,
    });
    const c = await connect(url);
    await c.request({ type: 'subscribe', channel: 'z' });
    await gateway.stop();
    await appBackend.stop();
    expect(
      events(app.requests)
        .map((e) => e.name)
        .sort(),
    ).toEqual(['channel.vacated', 'session.disconnected']);
  });

  it('drops what is queued at stop when the endpoint does not answer within stopTimeoutMs', async () => {
    const { url, gateway, appBackend } = await hooked(
      ['session.connected'],
      { batchSize: 1, batchMs: 60_000, retryBaseMs: 100, stopTimeoutMs: 300 },
      () => ({ status: 500 }),
    );
    await connect(url);
    await connect(url);
    const stopping = Date.now();
    await gateway.stop();
    await appBackend.stop();
    expect(Date.now() - stopping).toBeLessThan(2000);
    const t = appBackend.stats().webhooks?.targets[0];
    expect(t?.sent).toBe(0);
    expect((t?.failed ?? 0) + (t?.dropped.stopped ?? 0)).toBe(2);
  });
});
