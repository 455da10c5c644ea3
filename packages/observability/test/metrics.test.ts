import {
  ConfigError,
  HandshakeError,
  MemoryBackend,
  MemoryBus,
  ProtocolError,
  type WebSocketGateway,
} from '@dotmac-ws/core';
import { TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundedLabel, createDotmacObservabilityHooks, GatewayMetrics } from '../src/index';
import { TallyCounter, TallyHistogram } from '../src/tally-metrics';
import { get, labelSets, sample, startTestGateway, testAuthenticator } from './helpers';

async function instrumented(
  metrics: ConstructorParameters<typeof GatewayMetrics>[0] = {},
  options: Parameters<typeof startTestGateway>[0] = {},
  before: (gw: WebSocketGateway) => void = () => undefined,
) {
  const obs = createDotmacObservabilityHooks('metrics-test', { metrics, tracing: false });
  const t = await startTestGateway(options, (gw) => {
    before(gw);
    obs.instrument(gw);
  });
  const scrape = async () => {
    const res = await get(`${t.base}/metrics`);
    expect(res.status).toBe(200);
    return res.body;
  };
  return { ...t, obs, scrape };
}

describe('GET /metrics after known traffic', () => {
  it('counts 5 connections, then 2 after 3 closes, with their close codes', async () => {
    const { url, scrape, gw } = await instrumented({ defaultMetrics: false });
    const clients = await Promise.all(Array.from({ length: 5 }, () => TestClient.open(url)));
    await Promise.all(clients.map((c) => c.welcome()));
    let text = await scrape();
    expect(sample(text, 'dotmac_ws_connections', { tenant: '' })).toBe(5);
    expect(sample(text, 'dotmac_ws_connections_total')).toBe(5);

    clients[0]!.ws.close(1000);
    clients[1]!.ws.close(1000);
    clients[2]!.ws.close(4000, 'client says bye');
    await waitUntil(() => gw.getStats().sessions.total === 2, 3000, 'three sessions to close');
    text = await scrape();
    expect(sample(text, 'dotmac_ws_connections', { tenant: '' })).toBe(2);
    expect(sample(text, 'dotmac_ws_connections_total')).toBe(5);
    expect(sample(text, 'dotmac_ws_disconnections_total', { code: '1000' })).toBe(2);
    // 4000 is no known code: it gets a label of its own while under the cap.
    expect(sample(text, 'dotmac_ws_disconnections_total', { code: '4000' })).toBe(1);
  });

  it('counts frames by type, bytes and sent frames exactly as the gateway does', async () => {
    const { url, scrape, gw } = await instrumented({ defaultMetrics: false }, { clientPublish: true }, (g) =>
      g.addMessageHandler('echo', (_s, data) => data),
    );
    const c = await TestClient.open(url);
    await c.welcome();
    for (let i = 0; i < 3; i++) expect((await c.request({ type: 'ping' })).type).toBe('pong');
    expect((await c.request({ type: 'echo', data: 'x' })).data).toBe('x');
    expect((await c.request({ type: 'subscribe', channel: 'news' })).type).toBe('ack');
    expect((await c.request({ type: 'nope' })).data).toMatchObject({ code: 'unknown_type' });
    expect((await c.request({ type: 'made-up-1' })).data).toMatchObject({ code: 'unknown_type' });
    c.send('{not json');
    await c.waitFor((f) => f.type === 'error' && (f.data as { code: string }).code === 'bad_request');
    await c.request({ type: 'publish', channel: 'news', data: { n: 1 } });
    await c.waitFor((f) => f.channel === 'news' && f.type === 'message');

    const text = await scrape();
    const counters = gw.getStats().counters;
    expect(sample(text, 'dotmac_ws_messages_received_total', { type: 'ping' })).toBe(3);
    expect(sample(text, 'dotmac_ws_messages_received_total', { type: 'echo' })).toBe(1);
    expect(sample(text, 'dotmac_ws_messages_received_total', { type: 'subscribe' })).toBe(1);
    expect(sample(text, 'dotmac_ws_messages_received_total', { type: 'publish' })).toBe(1);
    // Types without a handler never get a label of their own: clients cannot grow the series.
    expect(sample(text, 'dotmac_ws_messages_received_total', { type: 'unknown' })).toBe(2);
    expect(sample(text, 'dotmac_ws_messages_received_total', { type: 'invalid' })).toBe(1);
    expect(labelSets(text, 'dotmac_ws_messages_received_total').sort()).toEqual([
      '{type="echo"}',
      '{type="invalid"}',
      '{type="ping"}',
      '{type="publish"}',
      '{type="subscribe"}',
      '{type="unknown"}',
    ]);
    expect(counters.messages_received).toBe(9);
    expect(sample(text, 'dotmac_ws_bytes_received_total')).toBe(counters.bytes_received);
    expect(sample(text, 'dotmac_ws_messages_sent_total')).toBe(counters.messages_sent);
    expect(sample(text, 'dotmac_ws_bytes_sent_total')).toBe(counters.bytes_sent);
    // welcome + 3 pongs + 4 acks/errors of requests + bad_request + publish ack + delivery
    expect(counters.messages_sent).toBe(11);
    expect(sample(text, 'dotmac_ws_subscriptions')).toBe(1);
    expect(sample(text, 'dotmac_ws_channels')).toBe(1);
    expect(sample(text, 'dotmac_ws_broadcasts_total', { target: 'channel' })).toBe(1);
    expect(sample(text, 'dotmac_ws_broadcast_delivery_seconds_count', { origin: 'local' })).toBe(1);
    expect(sample(text, 'dotmac_ws_backend_up')).toBe(1);
    expect(sample(text, 'dotmac_ws_backend_errors_total')).toBe(0);
  });

  it('caps tenant labels of authenticated sessions and folds the rest into "other"', async () => {
    const { url, scrape, gw } = await instrumented(
      { tenantLabelLimit: 2, defaultMetrics: false },
      { authenticator: testAuthenticator },
    );
    const open = (tenant: string) => TestClient.open(`${url}/tenant/${tenant}?token=tok-u1-${tenant}`);
    const a = await Promise.all([open('acme'), open('acme'), open('beta')]);
    const late = await Promise.all([open('gamma'), open('delta'), open('delta')]);
    await Promise.all([...a, ...late].map((c) => c.welcome()));
    let text = await scrape();
    const tenants = labelSets(text, 'dotmac_ws_connections');
    expect(tenants.sort()).toEqual([
      '{tenant=""}',
      '{tenant="acme"}',
      '{tenant="beta"}',
      '{tenant="other"}',
      '{tenant="unauthenticated"}',
    ]);
    expect(sample(text, 'dotmac_ws_connections', { tenant: 'acme' })).toBe(2);
    expect(sample(text, 'dotmac_ws_connections', { tenant: 'beta' })).toBe(1);
    expect(sample(text, 'dotmac_ws_connections', { tenant: 'other' })).toBe(3);
    expect(sample(text, 'dotmac_ws_connections', { tenant: '' })).toBe(0);
    expect(sample(text, 'dotmac_ws_connections', { tenant: 'unauthenticated' })).toBe(0);

    // A tenant that had a series keeps it (at 0) after its last session leaves.
    a[2]!.ws.close();
    await waitUntil(() => gw.getStats().sessions.total === 5, 3000, 'beta to leave');
    text = await scrape();
    expect(sample(text, 'dotmac_ws_connections', { tenant: 'beta' })).toBe(0);
    expect(sample(text, 'dotmac_ws_connections', { tenant: 'other' })).toBe(3);
  });

  it('gives no tenant label to unauthenticated sessions: 150 random tenants claim none', async () => {
    const { url, scrape } = await instrumented(
      { tenantLabelLimit: 100, defaultMetrics: false },
      { authenticator: testAuthenticator },
    );
    const anonymous: TestClient[] = [];
    for (let i = 0; i < 150; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: 25 }, (_, j) =>
          TestClient.open(`${url}/tenant/t${Math.random().toString(36).slice(2, 10)}${i + j}`),
        ),
      );
      await Promise.all(batch.map((c) => c.welcome()));
      anonymous.push(...batch);
    }
    let text = await scrape();
    expect(labelSets(text, 'dotmac_ws_connections').sort()).toEqual([
      '{tenant=""}',
      '{tenant="unauthenticated"}',
    ]);
    expect(sample(text, 'dotmac_ws_connections', { tenant: 'unauthenticated' })).toBe(150);

    // An authenticated tenant still gets its own label: the anonymous ones used up none.
    const member = await TestClient.open(`${url}/tenant/acme?token=tok-u1-acme`);
    await member.welcome();
    // One that authenticates in-band moves from "unauthenticated" to its tenant.
    const late = anonymous[0]!;
    const tenant = new URL(late.ws.url).pathname.split('/').at(-1)!;
    expect(await late.request({ type: 'auth', data: { token: `tok-u2-${tenant}` } })).toMatchObject({
      type: 'ack',
    });
    text = await scrape();
    expect(sample(text, 'dotmac_ws_connections', { tenant: 'acme' })).toBe(1);
    expect(sample(text, 'dotmac_ws_connections', { tenant })).toBe(1);
    expect(sample(text, 'dotmac_ws_connections', { tenant: 'unauthenticated' })).toBe(149);
    expect(labelSets(text, 'dotmac_ws_connections')).toHaveLength(4);
  });

  it('counts auth failures by reason, rate limiting by scope, refused handshakes by status', async () => {
    let limitFrames = false;
    const { url, scrape } = await instrumented(
      { defaultMetrics: false },
      { authenticator: testAuthenticator },
      (gw) =>
        gw.use({
          connection: async (ctx, next) => {
            if (ctx.url.searchParams.get('flood') === '1')
              throw new HandshakeError(429, 'too many', { 'Retry-After': '1' }, 'rate_limited');
            await next();
          },
          message: async (_ctx, next) => {
            if (limitFrames) throw new ProtocolError('rate_limited', 'slow down', { retryAfterMs: 10 });
            await next();
          },
        }),
    );
    expect((await TestClient.refused(`${url}?token=bad`)).status).toBe(401);
    expect((await TestClient.refused(`${url}?flood=1`)).status).toBe(429);
    expect((await TestClient.refused(`${url}?flood=1`)).status).toBe(429);
    const c = await TestClient.open(url);
    await c.welcome();
    expect((await c.request({ type: 'auth', data: { token: 'nope' } })).data).toMatchObject({
      code: 'auth_failed',
    });
    expect((await c.request({ type: 'auth', data: {} })).data).toMatchObject({ code: 'auth_failed' });
    limitFrames = true;
    for (let i = 0; i < 3; i++)
      expect((await c.request({ type: 'ping' })).data).toMatchObject({ code: 'rate_limited' });
    const text = await scrape();
    expect(sample(text, 'dotmac_ws_auth_failures_total', { reason: 'invalid' })).toBe(2);
    expect(sample(text, 'dotmac_ws_auth_failures_total', { reason: 'missing' })).toBe(1);
    expect(sample(text, 'dotmac_ws_rate_limited_total', { scope: 'message' })).toBe(3);
    expect(sample(text, 'dotmac_ws_rate_limited_total', { scope: 'connection' })).toBe(2);
    expect(sample(text, 'dotmac_ws_handshakes_refused_total', { status: '401' })).toBe(1);
    expect(sample(text, 'dotmac_ws_handshakes_refused_total', { status: '429' })).toBe(2);
  });

  it('counts slow-consumer disconnects', async () => {
    const { url, scrape, gw } = await instrumented(
      { defaultMetrics: false },
      { maxBufferedBytes: 64 * 1024 },
    );
    const c = await TestClient.open(url);
    await c.welcome();
    await c.request({ type: 'subscribe', channel: 'firehose' });
    c.ws.pause(); // stop reading: the gateway's buffer for it fills up
    const big = 'x'.repeat(32 * 1024);
    for (let i = 0; i < 400 && gw.getStats().counters.slow_consumer_disconnects === 0; i++) {
      await gw.broadcastToChannel('firehose', 'chunk', big);
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(gw.getStats().counters.slow_consumer_disconnects).toBe(1);
    c.ws.resume();
    expect(await c.waitClose()).toEqual({ code: 4408, reason: 'slow_consumer' });
    await waitUntil(() => gw.getStats().sessions.total === 0, 3000, 'the session to be gone');
    const text = await scrape();
    expect(sample(text, 'dotmac_ws_slow_consumer_disconnects_total')).toBe(1);
    expect(sample(text, 'dotmac_ws_disconnections_total', { code: '4408' })).toBe(1);
  });

  it('measures cross-node delivery on the receiving node', async () => {
    const bus = new MemoryBus();
    const a = await instrumented({ defaultMetrics: false }, { backend: new MemoryBackend({ bus }) });
    const b = await instrumented({ defaultMetrics: false }, { backend: new MemoryBackend({ bus }) });
    const sub = await TestClient.open(b.url);
    await sub.welcome();
    await sub.request({ type: 'subscribe', channel: 'news' });
    expect(await a.gw.broadcastToChannel('news', 'headline', { t: 1 })).toBe(0);
    await sub.waitFor((f) => f.type === 'headline');
    const textB = await b.scrape();
    expect(sample(textB, 'dotmac_ws_broadcasts_received_total', { target: 'channel' })).toBe(1);
    expect(sample(textB, 'dotmac_ws_broadcast_delivery_seconds_count', { origin: 'remote' })).toBe(1);
    expect(sample(textB, 'dotmac_ws_broadcasts_total', { target: 'channel' })).toBeUndefined();
    const textA = await a.scrape();
    expect(sample(textA, 'dotmac_ws_broadcasts_total', { target: 'channel' })).toBe(1);
    // Nobody on A took it: no delivery to time there.
    expect(sample(textA, 'dotmac_ws_broadcast_delivery_seconds_count', { origin: 'local' })).toBeUndefined();
  });

  it('reports the backend down as backend_up 0', async () => {
    const backend = new MemoryBackend();
    let up = true;
    backend.health = async () => (up ? { status: 'healthy' } : { status: 'unhealthy', error: 'gone' });
    const { scrape } = await instrumented({ defaultMetrics: false }, { backend });
    expect(sample(await scrape(), 'dotmac_ws_backend_up')).toBe(1);
    up = false;
    expect(sample(await scrape(), 'dotmac_ws_backend_up')).toBe(0);
  });

  it('includes prom-client default process and event-loop metrics', async () => {
    const { scrape } = await instrumented();
    const text = await scrape();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it('gateway.getPrometheusMetrics() returns the text GET /metrics serves', async () => {
    const { scrape, gw, url } = await instrumented({ defaultMetrics: false });
    const c = await TestClient.open(url);
    await c.welcome();
    const served = await scrape();
    expect(await gw.getPrometheusMetrics()).toBe(served);
    expect(served).toContain('# TYPE dotmac_ws_broadcast_delivery_seconds histogram');
  });

  it('sets the backend span hooks only with tracing, so that a gateway without wraps nothing', () => {
    const off = createDotmacObservabilityHooks('off', { metrics: false, tracing: false });
    expect(off.aroundBackendPublish).toBeUndefined();
    expect(off.aroundRemoteDelivery).toBeUndefined();
    const on = createDotmacObservabilityHooks('on', { metrics: false });
    expect(typeof on.aroundBackendPublish).toBe('function');
    expect(typeof on.aroundRemoteDelivery).toBe('function');
  });

  it('serves core basic metrics when metrics are off', async () => {
    const obs = createDotmacObservabilityHooks('off', { metrics: false, tracing: false });
    const t = await startTestGateway({}, (gw) => obs.instrument(gw));
    const text = (await get(`${t.base}/metrics`)).body;
    expect(text).toContain('dotmac_ws_connections 0');
    expect(text).not.toContain('dotmac_ws_broadcast_delivery_seconds');
  });
});

describe('metric options', () => {
  it('reports every bad option at once', () => {
    expect(
      () =>
        new GatewayMetrics({
          tenantLabelLimit: -1,
          messageTypeLabelLimit: 1.5,
          deliveryBuckets: [1, 0.5],
          defaultMetrics: 'yes' as unknown as boolean,
        }),
    ).toThrow(
      new ConfigError(
        [
          'tenantLabelLimit is -1 when it must be an integer from 0 to 100000',
          'messageTypeLabelLimit is 1.5 when it must be an integer from 0 to 10000',
          'deliveryBuckets must be a non-empty list of increasing positive numbers',
          'defaultMetrics is "yes" when it must be a boolean',
        ],
        'metrics options',
      ).message,
    );
  });

  it('reports bad observability options with the metric ones', () => {
    expect(() =>
      createDotmacObservabilityHooks('', {
        backendCheckMs: -5,
        metrics: { tenantLabelLimit: 'x' as unknown as number },
      }),
    ).toThrow(
      'Invalid observability options:\n  - serviceName is "" when it must be a non-empty string\n  - backendCheckMs is -5 when it must be an integer from 0 to 3600000',
    );
    expect(() =>
      createDotmacObservabilityHooks('svc', { metrics: { tenantLabelLimit: 'x' as unknown as number } }),
    ).toThrow(
      'Invalid observability options:\n  - metrics.tenantLabelLimit is "x" when it must be an integer from 0 to 100000',
    );
  });
});

describe('tally metrics', () => {
  it('render like prom-client: cumulative buckets with le, sum and count; counters by label', async () => {
    const registry = new Registry();
    const h = new TallyHistogram(registry, 'lat_seconds', 'Latency.', 'origin', [0.1, 1]);
    for (const v of [0.05, 0.1, 0.5, 2]) h.observe('local', v);
    h.observe('remote', 0.2);
    const c = new TallyCounter(registry, 'hits_total', 'Hits.', 'kind');
    c.inc('a');
    c.inc('a');
    c.inc('b');
    expect(await registry.metrics()).toBe(
      [
        '# HELP lat_seconds Latency.',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{le="0.1",origin="local"} 2',
        'lat_seconds_bucket{le="1",origin="local"} 3',
        'lat_seconds_bucket{le="+Inf",origin="local"} 4',
        'lat_seconds_sum{origin="local"} 2.65',
        'lat_seconds_count{origin="local"} 4',
        'lat_seconds_bucket{le="0.1",origin="remote"} 0',
        'lat_seconds_bucket{le="1",origin="remote"} 1',
        'lat_seconds_bucket{le="+Inf",origin="remote"} 1',
        'lat_seconds_sum{origin="remote"} 0.2',
        'lat_seconds_count{origin="remote"} 1',
        '',
        '# HELP hits_total Hits.',
        '# TYPE hits_total counter',
        'hits_total{kind="a"} 2',
        'hits_total{kind="b"} 1',
        '',
      ].join('\n'),
    );
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('# TYPE lat_seconds histogram\n\n');
  });
});

describe('BoundedLabel', () => {
  it('names the first values, folds later ones into other, always names the fixed ones', () => {
    const l = new BoundedLabel(2, ['ping']);
    expect(['a', 'b', 'c', 'a', 'ping', 'd', 'b'].map((v) => l.of(v))).toEqual([
      'a',
      'b',
      'other',
      'a',
      'ping',
      'other',
      'b',
    ]);
    expect([...l.known]).toEqual(['a', 'b']);
  });

  it('with a limit of 0 names nothing but the fixed values', () => {
    const l = new BoundedLabel(0);
    expect(l.of('x')).toBe('other');
  });
});
