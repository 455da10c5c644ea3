import type { IncomingMessage } from 'node:http';
import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { type BroadcastEvent, MemoryBackend, MemoryBus, type ObservabilityHooks } from '../src/index';
import { startTestGateway } from './helpers';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('observability hooks', () => {
  it('getPrometheusMetrics() returns what GET /metrics serves: the basic set, then the hooks text', async () => {
    const { gw, base } = await startTestGateway();
    const basic = await gw.getPrometheusMetrics();
    expect(basic).toContain('# TYPE dotmac_ws_connections gauge\ndotmac_ws_connections 0\n');
    expect(await (await fetch(`${base}/metrics`)).text()).toBe(basic);
    gw.setObservabilityHooks({ metrics: async () => 'custom_metric 1\n' });
    expect(await gw.getPrometheusMetrics()).toBe('custom_metric 1\n');
    expect(await (await fetch(`${base}/metrics`)).text()).toBe('custom_metric 1\n');
  });

  it('hasMessageHandler() tells whether a type has a handler', async () => {
    const { gw } = await startTestGateway();
    expect(gw.hasMessageHandler('echo')).toBe(false);
    gw.addMessageHandler('echo', (_s, d) => d);
    expect(gw.hasMessageHandler('echo')).toBe(true);
    expect(gw.hasMessageHandler('ping')).toBe(false);
    gw.removeMessageHandler('echo');
    expect(gw.hasMessageHandler('echo')).toBe(false);
  });

  it('asks currentTraceparent before local delivery and carries it to the other nodes', async () => {
    const bus = new MemoryBus();
    const seenA: string[] = [];
    const remote: BroadcastEvent[] = [];
    const a = await startTestGateway({ backend: new MemoryBackend({ bus }) });
    const b = await startTestGateway({ backend: new MemoryBackend({ bus }) });
    a.gw.setObservabilityHooks({
      currentTraceparent: () => {
        seenA.push(`traceparent asked, deliveries ${a.gw.getStats().counters.deliveries}`);
        return TP;
      },
      onBroadcast: (e) => seenA.push(`broadcast delivered ${e.delivered}, traceparent ${e.traceparent}`),
    });
    b.gw.setObservabilityHooks({ onBroadcast: (e) => remote.push(e) });
    const onA = await TestClient.open(a.url);
    const onB = await TestClient.open(b.url);
    for (const c of [onA, onB]) await c.request({ type: 'subscribe', channel: 'news' });
    expect(await a.gw.broadcastToChannel('news', 'headline', 1)).toBe(1);
    await onB.waitFor((f) => f.type === 'headline');
    expect(seenA).toEqual(['traceparent asked, deliveries 0', `broadcast delivered 1, traceparent ${TP}`]);
    expect(remote).toMatchObject([{ origin: 'remote', delivered: 1, traceparent: TP, type: 'headline' }]);
  });

  it('runs POST /api/publish through aroundHttpApi with the request', async () => {
    const calls: { operation: string; traceparent: unknown }[] = [];
    const hooks: ObservabilityHooks = {
      aroundHttpApi: async (operation, request: IncomingMessage, run) => {
        calls.push({ operation, traceparent: request.headers.traceparent });
        return run();
      },
    };
    const { base, url } = await startTestGateway({ apiKey: 'k', hooks });
    const c = await TestClient.open(url);
    await c.request({ type: 'subscribe', channel: 'news' });
    const res = await fetch(`${base}/api/publish`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', traceparent: TP },
      body: JSON.stringify({ channel: 'news', type: 'alert', data: 1 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ delivered_local: 1 });
    expect(calls).toEqual([{ operation: 'publish', traceparent: TP }]);
    // A bad body or key never reaches the hook.
    await fetch(`${base}/api/publish`, { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{' });
    await fetch(`${base}/api/publish`, { method: 'POST', body: '{}' });
    expect(calls).toHaveLength(1);
  });

  it('answers 500 when aroundHttpApi fails', async () => {
    const { base } = await startTestGateway({
      apiKey: 'k',
      hooks: { aroundHttpApi: async () => Promise.reject(new Error('tracer broke')) },
    });
    const res = await fetch(`${base}/api/publish`, {
      method: 'POST',
      headers: { authorization: 'Bearer k' },
      body: JSON.stringify({ channel: 'news', type: 'alert' }),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
  });

  it('awaits onStop when the gateway stops; a failing onStop does not fail stop()', async () => {
    const order: string[] = [];
    const { gw } = await startTestGateway({
      hooks: {
        onStop: async () => {
          order.push(`onStop while ${gw.status}`);
          await new Promise((r) => setTimeout(r, 30));
          order.push('onStop done');
        },
      },
    });
    await gw.stop();
    order.push('stop resolved');
    expect(order).toEqual(['onStop while stopped', 'onStop done', 'stop resolved']);

    const failing = await startTestGateway({
      hooks: { onStop: () => Promise.reject(new Error('flush failed')) },
    });
    await expect(failing.gw.stop()).resolves.toBeUndefined();
  });
});
