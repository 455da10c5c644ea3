import { randomBytes } from 'node:crypto';
import { RedisBackend } from '@dotmac-ws/backend-redis';
import { type Backend, MemoryBackend, MemoryBus } from '@dotmac-ws/core';
import { onCleanup, SHARED_REDIS, sharedServiceMissing, TestClient } from '@dotmac-ws/test-utils';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, type Sampler, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { BACKEND_SPAN, createDotmacObservabilityHooks, createSampler, SPAN } from '../src/index';
import { type ReceivedSpan, startOtlpReceiver, startTestGateway, testAuthenticator } from './helpers';

const API_KEY = 'api-key-do-not-leak';

/**
 * Node A starts the NodeSDK itself (OTLP/HTTP to the receiver); node B uses a tracer
 * provider "the application" set up. Both carry broadcasts over `backendA` / `backendB`.
 */
async function twoNodes(backendA: Backend, backendB: Backend, samplerA?: Sampler) {
  const receiver = await startOtlpReceiver();
  const obsA = createDotmacObservabilityHooks('node-a', {
    startSdk: { url: receiver.url, batch: false, ...(samplerA ? { sampler: samplerA } : {}) },
    metrics: false,
  });
  const providerB = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'node-b' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: receiver.url }))],
  });
  onCleanup(() => providerB.shutdown());
  const obsB = createDotmacObservabilityHooks('node-b', {
    tracing: { tracer: providerB.getTracer('node-b-app') },
    metrics: false,
  });
  const common = { authenticator: testAuthenticator, clientPublish: true, apiKey: API_KEY };
  const a = await startTestGateway({ ...common, nodeId: 'a', backend: obsA.traceBackend(backendA) }, (gw) =>
    obsA.instrument(gw),
  );
  const b = await startTestGateway({ ...common, nodeId: 'b', backend: obsB.traceBackend(backendB) }, (gw) =>
    obsB.instrument(gw),
  );
  return { receiver, a, b, obsB };
}

function secretsIn(bodies: string[]): string[] {
  return ['tok-alice', 'tok-bob', API_KEY].filter((s) => bodies.some((b) => b.includes(s)));
}

async function crossNodeTrace(backendA: Backend, backendB: Backend) {
  const { receiver, a, b } = await twoNodes(backendA, backendB);
  const sub = await TestClient.open(b.url);
  await sub.welcome();
  expect((await sub.request({ type: 'auth', data: { token: 'tok-bob' } })).type).toBe('ack');
  expect((await sub.request({ type: 'subscribe', channel: 'news' })).type).toBe('ack');
  const pub = await TestClient.open(`${a.url}?token=tok-alice`);
  await pub.welcome();
  expect((await pub.request({ type: 'publish', channel: 'news', data: { n: 1 } })).type).toBe('ack');
  await sub.waitFor((f) => f.channel === 'news' && f.type === 'message');

  const deliver = await receiver.span(
    (s) => s.service === 'node-b' && s.name === `${SPAN.deliver} channel`,
    'the delivery span of node B',
  );
  const inTrace = (name: string, service: string) =>
    receiver.span(
      (s) => s.traceId === deliver.traceId && s.name === name && s.service === service,
      `${name} of ${service}`,
    );
  const message = await inTrace(`${SPAN.message} publish`, 'node-a');
  const broadcast = await inTrace(`${SPAN.broadcast} channel`, 'node-a');
  const publish = await inTrace(BACKEND_SPAN.publish, 'node-a');
  const receive = await inTrace(BACKEND_SPAN.receive, 'node-b');

  // One trace: the frame on A -> the broadcast -> the backend publish (A) and receive (B) -> delivery (B).
  expect(message.parentSpanId).toBe('');
  expect(broadcast.parentSpanId).toBe(message.spanId);
  expect(publish.parentSpanId).toBe(broadcast.spanId);
  expect(receive.parentSpanId).toBe(broadcast.spanId);
  expect(deliver.parentSpanId).toBe(receive.spanId);
  expect(message.attributes).toMatchObject({
    'enduser.id': 'alice',
    'dotmac_ws.message.type': 'publish',
    'dotmac_ws.channel': 'news',
  });
  expect(broadcast.attributes).toMatchObject({
    'dotmac_ws.broadcast.target': 'channel',
    'dotmac_ws.broadcast.delivered': 0,
  });
  expect(deliver.attributes).toMatchObject({
    'dotmac_ws.broadcast.delivered': 1,
    'dotmac_ws.channel': 'news',
  });
  expect(receive.attributes).toMatchObject({ 'messaging.destination.name': 'channel:news' });
  expect(new Set([message, broadcast, publish, receive, deliver].map((s) => s.traceId)).size).toBe(1);

  // The connection spans end at the close, with the identity and the code; never a token.
  pub.ws.close(1000);
  const conn = await receiver.span(
    (s) => s.name === SPAN.connection && s.service === 'node-a',
    'the connection span of node A',
  );
  expect(conn.attributes).toMatchObject({ 'enduser.id': 'alice', 'dotmac_ws.close_code': 1000 });
  expect(message.links.map((l) => l.spanId)).toEqual([conn.spanId]);
  sub.ws.close(1000);
  await receiver.span(
    (s) => s.name === SPAN.connection && s.service === 'node-b',
    'the connection span of node B',
  );
  expect(receiver.contentTypes.every((t) => t === 'application/json')).toBe(true);
  expect(secretsIn(receiver.bodies)).toEqual([]);
  return receiver.spans;
}

describe('tracing across two nodes', () => {
  it('one trace spans a client publish on node A and the delivery on node B (MemoryBus)', async () => {
    const bus = new MemoryBus();
    const spans: ReceivedSpan[] = await crossNodeTrace(
      new MemoryBackend({ bus }),
      new MemoryBackend({ bus }),
    );
    expect(spans.length).toBeGreaterThanOrEqual(7);
  });

  it('one trace spans both nodes on the real Redis', async (t) => {
    const missing = await sharedServiceMissing(SHARED_REDIS);
    if (missing) t.skip(missing);
    const keyPrefix = `dotmac-ws-obs-test:${randomBytes(4).toString('hex')}:`;
    const redis = () => new RedisBackend({ url: 'redis://127.0.0.1:6379', keyPrefix });
    await crossNodeTrace(redis(), redis());
  });

  it('POST /api/publish continues the caller traceparent across nodes', async () => {
    const bus = new MemoryBus();
    const { receiver, a, b } = await twoNodes(new MemoryBackend({ bus }), new MemoryBackend({ bus }));
    const sub = await TestClient.open(`${b.url}?token=tok-bob`);
    await sub.welcome();
    await sub.request({ type: 'subscribe', channel: 'alerts' });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const res = await fetch(`${a.base}/api/publish`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_KEY}`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${callerSpan}-01`,
      },
      body: JSON.stringify({ channel: 'alerts', type: 'alert', data: { level: 2 } }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ delivered_local: 0 });
    await sub.waitFor((f) => f.type === 'alert');
    const http = await receiver.span((s) => s.name === SPAN.httpPublish, 'the HTTP publish span');
    expect(http).toMatchObject({ traceId, parentSpanId: callerSpan, service: 'node-a' });
    expect(http.attributes).toEqual({ 'http.request.method': 'POST', 'url.path': '/api/publish' });
    const broadcast = await receiver.span(
      (s) => s.name === `${SPAN.broadcast} channel`,
      'the broadcast span',
    );
    expect(broadcast).toMatchObject({ traceId, parentSpanId: http.spanId });
    const deliver = await receiver.span(
      (s) => s.service === 'node-b' && s.name.startsWith(SPAN.deliver),
      'delivery on B',
    );
    expect(deliver.traceId).toBe(traceId);
    expect(secretsIn(receiver.bodies)).toEqual([]);
  });

  it('with sampling 0 the trace context still travels, unsampled, and no broadcast span is recorded', async () => {
    const bus = new MemoryBus();
    const { receiver, a, b, obsB } = await twoNodes(
      new MemoryBackend({ bus }),
      new MemoryBackend({ bus }),
      createSampler('parentbased_traceidratio', 0),
    );
    const carried: (string | undefined)[] = [];
    const onBroadcast = obsB.onBroadcast.bind(obsB);
    obsB.onBroadcast = (event) => {
      carried.push(event.traceparent);
      onBroadcast(event);
    };
    const sub = await TestClient.open(`${b.url}?token=tok-bob`);
    await sub.request({ type: 'subscribe', channel: 'news' });
    const pub = await TestClient.open(`${a.url}?token=tok-alice`);
    await pub.request({ type: 'publish', channel: 'news', data: 1 });
    await sub.waitFor((f) => f.type === 'message');
    expect(carried).toHaveLength(1);
    expect(carried[0]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // Node B's own roots (its sessions' frames) are sampled by its provider; nothing of the broadcast is.
    await receiver.span((s) => s.name === `${SPAN.message} subscribe`, 'the subscribe span of node B');
    expect(receiver.spans.filter((s) => s.service === 'node-a')).toEqual([]);
    expect(receiver.spans.filter((s) => /broadcast|backend/.test(s.name))).toEqual([]);
  });

  it('a malformed traceparent starts a new trace instead of failing the request', async () => {
    const { receiver, a } = await twoNodes(new MemoryBackend(), new MemoryBackend());
    const res = await fetch(`${a.base}/api/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, traceparent: '00-zz-nope-01' },
      body: JSON.stringify({ channel: 'alerts', type: 'alert' }),
    });
    expect(res.status).toBe(200);
    const http = await receiver.span((s) => s.name === SPAN.httpPublish, 'the HTTP publish span');
    expect(http.parentSpanId).toBe('');
    expect(http.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});
