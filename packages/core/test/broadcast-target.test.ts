import { TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import {
  type EnvelopeHeader,
  encodeEnvelope,
  MemoryBackend,
  MemoryBus,
  type ObservabilityHooks,
  ProtocolError,
} from '../src/index';
import { startTestGateway } from './helpers';

describe('gateway.broadcast(target, type, data)', () => {
  it('reaches a channel, a user and everyone through one entry point', async () => {
    const { gw, url } = await startTestGateway();
    const c = await TestClient.open(url);
    await c.request({ type: 'subscribe', channel: 'news' });
    const session = [...gw.sessions()][0]!;
    session.setUserInfo('alice', null);
    expect(await gw.broadcast({ kind: 'channel', name: 'news' }, 'headline', { n: 1 })).toBe(1);
    expect(await gw.broadcast({ kind: 'user', userId: 'alice' }, 'notice', 2)).toBe(1);
    expect(await gw.broadcast({ kind: 'user', userId: 'bob' }, 'notice', 3)).toBe(0);
    expect(await gw.broadcast({ kind: 'all' }, 'everyone', null)).toBe(1);
    await c.waitFor((f) => f.type === 'everyone');
    expect(c.frames.filter((f) => f.type !== 'welcome' && f.type !== 'ack')).toEqual([
      { type: 'headline', channel: 'news', data: { n: 1 } },
      { type: 'notice', data: 2 },
      { type: 'everyone', data: null },
    ]);
  });

  it.each([
    [{ kind: 'channel', name: 'no spaces' }, 'x', 'invalid_channel'],
    [{ kind: 'channel', name: 'news' }, 'welcome', 'bad_request'],
    [{ kind: 'user', userId: '' }, 'x', 'bad_request'],
    [{ kind: 'role', role: 'admin', tenantId: '' }, 'x', 'bad_request'],
    [{ kind: 'nope' }, 'x', 'bad_request'],
    [null, 'x', 'bad_request'],
  ])('refuses the target %j with type %s as %s', async (target, type, code) => {
    const { gw } = await startTestGateway();
    const error = await gw.broadcast(target as never, type, 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(code);
  });
});

describe('the sessions health component', () => {
  it('is degraded near maxConnections, and GET /health still answers 200', async () => {
    const { gw, url, base } = await startTestGateway({ maxConnections: 2 });
    await TestClient.open(url);
    expect((await gw.healthCheck()).components.sessions).toMatchObject({ status: 'healthy' });
    await TestClient.open(url);
    const health = await gw.healthCheck();
    expect(health.status).toBe('degraded');
    expect(health.components.sessions).toEqual({
      status: 'degraded',
      total_sessions: 2,
      authenticated_sessions: 0,
      channels: 0,
      subscriptions: 0,
      max_connections: 2,
      reasons: ['near_capacity'],
    });
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'degraded',
      components: { sessions: { status: 'degraded' } },
    });
  });

  it('is degraded when the event loop was blocked since the previous check', async () => {
    const { gw } = await startTestGateway();
    await gw.healthCheck();
    // The histogram's first tick after a check only sets its baseline.
    await new Promise((r) => setTimeout(r, 100));
    const until = Date.now() + 700;
    while (Date.now() < until) {
      // Block the event loop, as a runaway handler would.
    }
    await new Promise((r) => setTimeout(r, 30));
    const sessions = (await gw.healthCheck()).components.sessions!;
    expect(sessions.status).toBe('degraded');
    expect(sessions.reasons).toEqual(['event_loop_delay']);
    expect(sessions.event_loop_delay_p99_ms).toBeGreaterThan(500);
  });
});

describe('header hooks around the backend', () => {
  it('get the decoded header on both nodes; the echo of a node never reaches its delivery hook', async () => {
    const bus = new MemoryBus();
    const a = await startTestGateway({ backend: new MemoryBackend({ bus }), nodeId: 'a' });
    const b = await startTestGateway({ backend: new MemoryBackend({ bus }), nodeId: 'b' });
    const calls: string[] = [];
    const hooks = (node: string): ObservabilityHooks => ({
      aroundBackendPublish: async (header, topic, bytes, publish) => {
        calls.push(`${node} publish ${header.origin} ${header.type} ${topic} ${bytes > 0}`);
        await publish();
      },
      aroundRemoteDelivery: (header, topic, _bytes, deliver) => {
        calls.push(`${node} deliver-start ${header.origin} ${header.type} ${topic}`);
        deliver();
        calls.push(`${node} deliver-end`);
      },
      onBroadcast: (e) => calls.push(`${node} onBroadcast ${e.origin} ${e.delivered}`),
    });
    a.gw.setObservabilityHooks(hooks('a'));
    b.gw.setObservabilityHooks(hooks('b'));
    const onA = await TestClient.open(a.url);
    const onB = await TestClient.open(b.url);
    for (const c of [onA, onB]) await c.request({ type: 'subscribe', channel: 'news' });

    expect(await a.gw.broadcastToChannel('news', 'headline', 1)).toBe(1);
    await onB.waitFor((f) => f.type === 'headline');
    // An envelope that claims to come from node a, as a broker echoes a node's own publish.
    const echo: EnvelopeHeader = {
      v: 1,
      origin: 'a',
      ts: Date.now(),
      target: { kind: 'channel', channel: 'news', name: 'news' },
      type: 'echoed',
    };
    const raw = new MemoryBackend({ bus });
    await raw.start(() => undefined);
    await raw.publish('channel:news', encodeEnvelope(echo, Buffer.from('{"type":"echoed","data":0}')));
    await onB.waitFor((f) => f.type === 'echoed');
    await raw.stop();
    expect(calls).toEqual([
      'a onBroadcast local 1',
      'a publish a headline channel:news true',
      'b deliver-start a headline channel:news',
      'b onBroadcast remote 1',
      'b deliver-end',
      'b deliver-start a echoed channel:news',
      'b onBroadcast remote 1',
      'b deliver-end',
    ]);
    await waitUntil(() => onA.frames.some((f) => f.type === 'headline'));
    expect(onA.frames.some((f) => f.type === 'echoed')).toBe(false);
  });

  it('a hook that throws neither loses the broadcast nor delivers it twice', async () => {
    const bus = new MemoryBus();
    const a = await startTestGateway({ backend: new MemoryBackend({ bus }) });
    const b = await startTestGateway({ backend: new MemoryBackend({ bus }) });
    const broken: ObservabilityHooks = {
      aroundBackendPublish: () => {
        throw new Error('publish hook broke');
      },
      aroundRemoteDelivery: (_h, _t, _b, deliver) => {
        deliver();
        throw new Error('delivery hook broke');
      },
    };
    a.gw.setObservabilityHooks(broken);
    b.gw.setObservabilityHooks(broken);
    const onB = await TestClient.open(b.url);
    await onB.request({ type: 'subscribe', channel: 'news' });
    expect(await a.gw.broadcastToChannel('news', 'headline', 1)).toBe(0);
    await onB.waitFor((f) => f.type === 'headline');
    expect(await a.gw.broadcastToChannel('news', 'headline', 2)).toBe(0);
    await onB.waitFor((f) => f.data === 2);
    expect(onB.frames.filter((f) => f.type === 'headline').map((f) => f.data)).toEqual([1, 2]);
  });
});
