import { sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { type Authenticator, type GatewayOptions, MemoryBackend, MemoryBus } from '../src/index';
import { startTestGateway, type TestGateway } from './helpers';

/** `user[.tenant][|["ch1","ch2"]]` tokens: the part after `|` is a `channels` claim. */
const authenticator: Authenticator = {
  authenticate(token) {
    const [who, channels] = token.split('|');
    const [user, tenant] = who!.split('.');
    return {
      userId: user!,
      ...(tenant === undefined ? {} : { tenantId: tenant }),
      extra: channels === undefined ? {} : { claims: { channels: JSON.parse(channels) } },
    };
  },
};

const ADMIN = 'admin-key-0123456789';
const PUBLISHER = 'publish-key-0123456789';

async function cluster(count: number, extra: GatewayOptions = {}): Promise<TestGateway[]> {
  const bus = new MemoryBus();
  const nodes: TestGateway[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startTestGateway({
        nodeId: `n${i + 1}`,
        backend: new MemoryBackend({ bus }),
        authenticator,
        announceIntervalMs: 100,
        clusterQueryTimeoutMs: 300,
        channelPolicy: { canSubscribe: (_s, c) => !c.name.startsWith('secret'), canPublish: () => true },
        apiKeys: [
          { id: 'ops', key: ADMIN },
          { id: 'app', key: PUBLISHER, scope: 'publish' },
        ],
        ...extra,
      }),
    );
  }
  // Every node has heard every other once.
  await waitUntil(() => nodes.every((n) => n.gw.cluster.nodes().length === count), 2000, 'announcements');
  return nodes;
}

async function connect(url: string, token: string): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.open(`${url}?token=${encodeURIComponent(token)}`);
  return { c, id: ((await c.welcome()).data as { session_id: string }).session_id };
}

async function api(base: string, path: string, body?: unknown, key = ADMIN) {
  const r = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

describe('server API and control plane (protocol.md v1.1)', () => {
  it('GET /api/info lists every live node; a stopped node is dropped after three silent announcements', async () => {
    const nodes = await cluster(3);
    await connect(nodes[1]!.url, 'u1');
    const info = await api(nodes[0]!.base, '/api/info');
    expect(info.status).toBe(200);
    const list = info.body.nodes as Record<string, unknown>[];
    expect(list.map((n) => n.node_id).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(list.find((n) => n.node_id === 'n2')).toMatchObject({
      sessions: 1,
      users: 1,
      version: expect.any(String),
    });
    expect(Object.keys(list[0]!).sort()).toEqual(
      [
        'channels',
        'memory_rss',
        'messages_received',
        'messages_sent',
        'node_id',
        'sessions',
        'subscriptions',
        'uptime_s',
        'users',
        'version',
      ].sort(),
    );
    await nodes[2]!.gw.stop();
    await waitUntil(() => nodes[0]!.gw.cluster.nodes().length === 2, 1500, 'n3 dropped');
    expect(
      ((await api(nodes[0]!.base, '/api/info')).body.nodes as { node_id: string }[])
        .map((n) => n.node_id)
        .sort(),
    ).toEqual(['n1', 'n2']);
  });

  it('POST /api/disconnect closes a user on every node with 4403, or the code given', async () => {
    const nodes = await cluster(3);
    const sessions = await Promise.all(nodes.map((n) => connect(n.url, 'victim')));
    const bystander = await connect(nodes[0]!.url, 'other');
    const dis = await api(nodes[2]!.base, '/api/disconnect', { user_id: 'victim' });
    expect(dis, JSON.stringify(dis)).toEqual({ status: 200, body: {} });
    for (const s of sessions) expect(await s.c.waitClose()).toEqual({ code: 4403, reason: 'forbidden' });
    const again = await connect(nodes[1]!.url, 'other');
    expect(
      await api(nodes[0]!.base, '/api/disconnect', { session_id: again.id, code: 4000, reason: 'bye' }),
    ).toEqual({
      status: 200,
      body: {},
    });
    expect(await again.c.waitClose()).toEqual({ code: 4000, reason: 'bye' });
    await sleep(50);
    expect(bystander.c.closed).toBeNull();
  });

  it('POST /api/disconnect by tenant closes only that tenant', async () => {
    const nodes = await cluster(2);
    const acme = await connect(nodes[0]!.url, 'a.acme');
    const acme2 = await connect(nodes[1]!.url, 'b.acme');
    const globex = await connect(nodes[1]!.url, 'c.globex');
    await api(nodes[0]!.base, '/api/disconnect', { tenant_id: 'acme' });
    expect((await acme.c.waitClose()).code).toBe(4403);
    expect((await acme2.c.waitClose()).code).toBe(4403);
    await sleep(50);
    expect(globex.c.closed).toBeNull();
  });

  it('POST /api/subscribe subscribes a user on two nodes (subscribed push), /api/unsubscribe removes it', async () => {
    const nodes = await cluster(3);
    const s1 = await connect(nodes[0]!.url, 'amy');
    const s2 = await connect(nodes[1]!.url, 'amy');
    expect(await api(nodes[2]!.base, '/api/subscribe', { user_id: 'amy', channel: 'alerts' })).toEqual({
      status: 200,
      body: {},
    });
    for (const s of [s1, s2]) {
      expect(await s.c.waitFor((f) => f.type === 'subscribed')).toEqual({
        type: 'subscribed',
        channel: 'alerts',
        data: {},
      });
    }
    await nodes[2]!.gw.broadcastToChannel('alerts', 'alert', { n: 1 });
    for (const s of [s1, s2]) await s.c.waitFor((f) => f.type === 'alert');
    expect(await api(nodes[0]!.base, '/api/unsubscribe', { user_id: 'amy', channel: 'alerts' })).toEqual({
      status: 200,
      body: {},
    });
    for (const s of [s1, s2]) {
      expect(await s.c.waitFor((f) => f.type === 'unsubscribed')).toEqual({
        type: 'unsubscribed',
        channel: 'alerts',
        data: { reason: 'server' },
      });
    }
    await nodes[2]!.gw.broadcastToChannel('alerts', 'alert', { n: 2 });
    await sleep(100);
    for (const s of [s1, s2]) expect(s.c.frames.filter((f) => f.type === 'alert')).toHaveLength(1);
  });

  it("the token's channels claim subscribes the session at connect, as the channel policy allows", async () => {
    const [node] = await cluster(1);
    const { c } = await connect(node!.url, 'u|["news","secret:x","bad channel"]');
    expect(await c.waitFor((f) => f.type === 'subscribed')).toEqual({
      type: 'subscribed',
      channel: 'news',
      data: {},
    });
    await sleep(100);
    expect(c.frames.filter((f) => f.type === 'subscribed').map((f) => f.channel)).toEqual(['news']);
    await node!.gw.broadcastToChannel('news', 'headline', 1);
    await c.waitFor((f) => f.type === 'headline');
  });

  it('POST /api/channels sums subscribers over the nodes, by pattern and tenant', async () => {
    const nodes = await cluster(3);
    const subscribe = async (n: number, token: string, channel: string) => {
      const { c } = await connect(nodes[n]!.url, token);
      await c.request({ type: 'subscribe', data: { channel } });
    };
    await subscribe(0, 'a', 'room:1');
    await subscribe(1, 'b', 'room:1');
    await subscribe(2, 'c', 'room:2');
    await subscribe(2, 'd', 'lobby');
    await subscribe(1, 'e.acme', 'room:1');
    expect(await api(nodes[0]!.base, '/api/channels', { pattern: 'room:*' })).toEqual({
      status: 200,
      body: { channels: { 'room:1': { num_clients: 2 }, 'room:2': { num_clients: 1 } } },
    });
    expect(await api(nodes[0]!.base, '/api/channels', { tenant_id: 'acme' })).toEqual({
      status: 200,
      body: { channels: { 'room:1': { num_clients: 1 } } },
    });
    const all = await api(nodes[1]!.base, '/api/channels', {});
    expect(all.body.channels).toEqual({
      'room:1': { num_clients: 2 },
      'room:2': { num_clients: 1 },
      lobby: { num_clients: 1 },
      'tenant:acme:room:1': { num_clients: 1 },
    });
  });

  it('POST /api/broadcast publishes to many channels in one call, each with its result', async () => {
    const nodes = await cluster(2);
    const { c } = await connect(nodes[1]!.url, 'r');
    await c.request({ type: 'subscribe', data: { channel: 'a' } });
    await c.request({ type: 'subscribe', data: { channel: 'b' } });
    const r = await api(
      nodes[0]!.base,
      '/api/broadcast',
      { channels: ['a', 'b', 'c'], type: 'note', data: { x: 1 } },
      PUBLISHER,
    );
    expect(r).toEqual({
      status: 200,
      body: { results: [{ channel: 'a' }, { channel: 'b' }, { channel: 'c' }] },
    });
    await waitUntil(() => c.frames.filter((f) => f.type === 'note').length === 2);
    expect(
      c.frames
        .filter((f) => f.type === 'note')
        .map((f) => f.channel)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('API keys: several with ids; a publish key may only publish; every problem named in one 400', async () => {
    const [node] = await cluster(1);
    const base = node!.base;
    expect((await api(base, '/api/disconnect', { user_id: 'x' }, PUBLISHER)).body).toEqual({
      error: {
        code: 'forbidden',
        message: 'the API key "app" may only publish (/api/publish, /api/broadcast)',
      },
    });
    expect((await api(base, '/api/info', undefined, PUBLISHER)).status).toBe(403);
    expect((await api(base, '/api/info', undefined, 'wrong-key-0123456789')).status).toBe(401);
    expect((await api(base, '/api/publish', { channel: 'x', type: 'm' }, PUBLISHER)).status).toBe(200);
    const bad = (body: unknown, path: string) => api(base, path, body);
    expect(await bad({ user_id: '', session_id: 7, code: 1000, reason: 5 }, '/api/disconnect')).toEqual({
      status: 400,
      body: {
        error: {
          code: 'bad_request',
          message:
            '"user_id" must be a string of 1-256 characters; "session_id" must be a string of 1-256 characters; name one of "user_id" and "session_id", not both; "code" must be an integer from 4000 to 4999; "reason" must be a string of at most 123 bytes',
        },
      },
    });
    expect(await bad({ channel: 'ok' }, '/api/subscribe')).toEqual({
      status: 400,
      body: { error: { code: 'bad_request', message: 'name "user_id" or "session_id"' } },
    });
    expect(await bad({ channels: [], type: 'ack' }, '/api/broadcast')).toEqual({
      status: 400,
      body: {
        error: {
          code: 'bad_request',
          message:
            '"channels" must be a list of 1-1000 channel names; "type" must be 1-100 characters of A-Z a-z 0-9 _ - . : @ / and not a server frame type',
        },
      },
    });
  });

  it('answers 503 backend_unavailable when the backend does not take the command', async () => {
    const backend = new MemoryBackend();
    const [node] = await cluster(1, { backend });
    await backend.stop();
    const r = await api(node!.base, '/api/disconnect', { user_id: 'x' });
    expect(r.status).toBe(503);
    expect((r.body.error as { code: string }).code).toBe('backend_unavailable');
  });

  it('a query says which live node did not answer in time', async () => {
    /** A node whose answers to queries are lost on the way (its announcements still arrive). */
    class MuteBackend extends MemoryBackend {
      override publish(topic: string, payload: Uint8Array): Promise<void> {
        return topic.startsWith('node:') ? Promise.resolve() : super.publish(topic, payload);
      }
    }
    const bus = new MemoryBus();
    const [a] = await cluster(1, {
      backend: new MemoryBackend({ bus }),
      nodeId: 'talker',
      clusterQueryTimeoutMs: 200,
    });
    await startTestGateway({ backend: new MuteBackend({ bus }), nodeId: 'mute', announceIntervalMs: 100 });
    await waitUntil(() => a!.gw.cluster.nodes().length === 2, 2000, 'the mute node announced');
    const t0 = Date.now();
    const info = await a!.gw.cluster.info();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(info.nodes.map((n) => n.node_id)).toEqual(['talker']);
    expect(info.missing).toEqual(['mute']);
    expect(await api(a!.base, '/api/info')).toEqual({
      status: 200,
      body: { nodes: [expect.objectContaining({ node_id: 'talker' })], missing: ['mute'] },
    });
  });
});
