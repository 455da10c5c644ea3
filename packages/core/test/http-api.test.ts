import { TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  type ComponentHealth,
  MemoryBackend,
  MemoryHistoryStore,
  MemoryPresenceStore,
  parsePublishBody,
} from '../src/index';
import { startTestGateway } from './helpers';

const KEY = 'k3y';

function post(base: string, body: string, key: string | null = KEY, path = '/api/publish') {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key !== null) headers.authorization = `Bearer ${key}`;
  return fetch(`${base}${path}`, { method: 'POST', headers, body });
}

describe('GET /health and /ready', () => {
  it('report healthy components and readiness: statuses to anyone, details with the API key', async () => {
    const { base } = await startTestGateway({ nodeId: 'h1', apiKey: KEY });
    const anonymous = await fetch(`${base}/health`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({
      status: 'healthy',
      components: {
        server: { status: 'healthy' },
        sessions: { status: 'healthy', total_sessions: 0 },
        scaling_backend: { status: 'healthy' },
      },
    });
    // A wrong key is no key: the same minimal body, not a 401 (probes carry no key).
    const wrong = await fetch(`${base}/health`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(200);
    expect(
      Object.keys(((await wrong.json()) as { components: { server: object } }).components.server),
    ).toEqual(['status']);
    const h = await fetch(`${base}/health`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({
      status: 'healthy',
      components: {
        server: { status: 'healthy', state: 'running', node_id: 'h1', uptime_s: expect.any(Number) },
        sessions: {
          status: 'healthy',
          total_sessions: 0,
          authenticated_sessions: 0,
          channels: 0,
          subscriptions: 0,
        },
        // The everyone-broadcast topic and the control topics (cluster-wide and this node's).
        scaling_backend: { status: 'healthy', backend: 'memory', topics: 3 },
      },
    });
    const r = await fetch(`${base}/ready`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ready: true, status: 'running' });
  });

  it('a failing backend makes the gateway degraded, still 200', async () => {
    const backend = new MemoryBackend();
    const broken: Backend = Object.assign(Object.create(backend) as Backend, {
      name: 'memory',
      start: (d: Parameters<Backend['start']>[0]) => backend.start(d),
      subscribe: (t: string) => backend.subscribe(t),
      unsubscribe: (t: string) => backend.unsubscribe(t),
      publish: (t: string, p: Uint8Array) => backend.publish(t, p),
      stop: () => backend.stop(),
      health: async () => {
        throw new Error('broker unreachable');
      },
    });
    const { base } = await startTestGateway({ backend: broken, apiKey: KEY });
    // Anyone sees that the backend is down, not why (no host, no error text).
    const anonymous = await fetch(`${base}/health`);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.json()).toEqual({
      status: 'degraded',
      components: {
        server: { status: 'healthy' },
        sessions: { status: 'healthy', total_sessions: 0 },
        scaling_backend: { status: 'unhealthy' },
      },
    });
    const h = await fetch(`${base}/health`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(h.status).toBe(200);
    const body = (await h.json()) as { status: string; components: Record<string, unknown> };
    expect(body.status).toBe('degraded');
    expect(body.components.scaling_backend).toEqual({
      status: 'unhealthy',
      backend: 'memory',
      error: 'broker unreachable',
    });
  });

  it('stores that tell their health are components: a lost history store degrades, still 200', async () => {
    class FailingHistory extends MemoryHistoryStore {
      async health(): Promise<ComponentHealth> {
        throw new Error('history store unreachable');
      }
    }
    class HealthyPresence extends MemoryPresenceStore {
      async health(): Promise<ComponentHealth> {
        return { status: 'healthy', store: 'test' };
      }
    }
    const { base } = await startTestGateway({
      history: new FailingHistory(),
      presence: new HealthyPresence(),
      apiKey: KEY,
    });
    const anonymous = await fetch(`${base}/health`);
    expect(anonymous.status).toBe(200);
    // Anyone sees the statuses, not the error text.
    const seen = (await anonymous.json()) as { status: string; components: Record<string, unknown> };
    expect(seen.status).toBe('degraded');
    expect(seen.components.history).toEqual({ status: 'unhealthy' });
    expect(seen.components.presence).toEqual({ status: 'healthy' });
    const h = await fetch(`${base}/health`, { headers: { authorization: `Bearer ${KEY}` } });
    const body = (await h.json()) as { components: Record<string, unknown> };
    expect(body.components.history).toEqual({ status: 'unhealthy', error: 'history store unreachable' });
    expect(body.components.presence).toEqual({ status: 'healthy', store: 'test' });
  });

  it('the memory stores, which have no health to tell, add no component', async () => {
    const { base } = await startTestGateway({ apiKey: KEY });
    const body = (await (await fetch(`${base}/health`)).json()) as { components: Record<string, unknown> };
    expect(Object.keys(body.components)).toEqual(['server', 'sessions', 'scaling_backend']);
  });

  it('wrong methods get 405 with Allow; other paths 404', async () => {
    const { base } = await startTestGateway();
    const r = await fetch(`${base}/health`, { method: 'POST' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });

  it('httpFallback serves the paths the gateway does not own', async () => {
    const { base } = await startTestGateway({
      httpFallback: (req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`page ${req.url}`);
      },
    });
    expect(await (await fetch(`${base}/demo`)).text()).toBe('page /demo');
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });

  it('GET /metrics serves Prometheus text of the counters', async () => {
    const { base, url } = await startTestGateway();
    const c = await TestClient.open(url);
    await c.welcome();
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await m.text();
    expect(text).toContain('# TYPE dotmac_ws_connections gauge\ndotmac_ws_connections 1\n');
    expect(text).toContain('dotmac_ws_connections_total 1\n');
  });
});

describe('POST /api/publish', () => {
  it('needs the API key: 401 without or with a wrong one, 404 when the API is off', async () => {
    const { base } = await startTestGateway({ apiKey: KEY });
    const body = JSON.stringify({ channel: 'a', type: 'x', data: 1 });
    for (const key of [null, 'wrong', `${KEY}x`]) {
      const r = await post(base, body, key);
      expect(r.status, String(key)).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect((await fetch(`${base}/api/stats`, { headers: { authorization: 'Bearer nope' } })).status).toBe(
      401,
    );
    const off = await startTestGateway();
    const r = await post(off.base, body);
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({
      error: { code: 'api_disabled', message: 'the HTTP API is off: set an API key to turn it on' },
    });
  });

  it.each([
    ['{oops', 'the body is not valid JSON'],
    ['[1]', 'the body must be a JSON object'],
    [
      '{"data":1,"channel":"a"}',
      '"type" must be 1-100 characters of A-Z a-z 0-9 _ - . : @ / and not a server frame type',
    ],
    [
      '{"type":"welcome","channel":"a"}',
      '"type" must be 1-100 characters of A-Z a-z 0-9 _ - . : @ / and not a server frame type',
    ],
    [
      '{"type":"x","data":1}',
      'name exactly one target: "channel", "user_id", "tenant_id", "role" or "permission"',
    ],
    ['{"type":"x","channel":"a","user_id":"u"}', 'exactly one target is allowed, got channel and user_id'],
    ['{"type":"x","channel":"a b"}', '"channel" must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / ='],
    ['{"type":"x","user_id":""}', '"user_id" must be a non-empty string'],
    ['{"type":"x","role":5}', '"role" must be a non-empty string'],
    ['{"type":"x","tenant_id":"a:b"}', '"tenant_id" must be 1-200 characters of A-Z a-z 0-9 _ - . @ / ='],
  ])('answers 400 to %s', async (body, message) => {
    const { base } = await startTestGateway({ apiKey: KEY });
    const r = await post(base, body);
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: { code: 'bad_request', message } });
    expect(parsePublishBody(body)).toBe(message);
  });

  it('answers 413 to a body over 1 MiB', async () => {
    const { base } = await startTestGateway({ apiKey: KEY });
    const r = await post(base, JSON.stringify({ type: 'x', channel: 'a', data: 'x'.repeat(1024 * 1024) }));
    expect(r.status).toBe(413);
  });

  it('delivers to a channel, a tenant-scoped channel, a user, a role, a permission and a tenant', async () => {
    const { base, url, gw } = await startTestGateway({ apiKey: KEY });
    gw.use({
      connection: async (ctx, next) => {
        ctx.identity = { userId: 'u1', roles: ['r1'], permissions: ['p1'] };
        await next();
      },
    });
    const c = await TestClient.open(url.replace('/ws', '/ws/tenant/acme'));
    await c.welcome();
    await c.request({ type: 'subscribe', data: { channel: 'alerts' } });
    const send = async (target: Record<string, unknown>) => {
      const r = await post(base, JSON.stringify({ type: 'evt', data: target, ...target }));
      return [r.status, await r.json()];
    };
    expect(await send({ channel: 'alerts' })).toEqual([200, { delivered_local: 0 }]);
    expect(await send({ channel: 'alerts', tenant_id: 'acme' })).toEqual([200, { delivered_local: 1 }]);
    expect(await send({ user_id: 'u1' })).toEqual([200, { delivered_local: 1 }]);
    expect(await send({ user_id: 'u1', tenant_id: 'globex' })).toEqual([200, { delivered_local: 0 }]);
    expect(await send({ role: 'r1' })).toEqual([200, { delivered_local: 1 }]);
    expect(await send({ permission: 'p1', tenant_id: 'acme' })).toEqual([200, { delivered_local: 1 }]);
    expect(await send({ tenant_id: 'acme' })).toEqual([200, { delivered_local: 1 }]);
    await waitUntil(() => c.frames.filter((f) => f.type === 'evt').length === 5);
    expect(
      c.frames.filter((f) => f.type === 'evt').map((f) => Object.keys(f.data as object).join('+')),
    ).toEqual(['channel+tenant_id', 'user_id', 'role', 'permission+tenant_id', 'tenant_id']);
    expect(c.frames.find((f) => f.type === 'evt')).toEqual({
      type: 'evt',
      channel: 'alerts',
      data: { channel: 'alerts', tenant_id: 'acme' },
    });
  });

  it('GET /api/stats returns the stats JSON', async () => {
    const { base } = await startTestGateway({ apiKey: KEY, nodeId: 's1' });
    const r = await fetch(`${base}/api/stats`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({
      node_id: 's1',
      status: 'running',
      sessions: { total: 0 },
      backend: { name: 'memory' },
    });
  });

  it('logs each call with its key id: publishes and reads at debug, actions at info', async () => {
    const calls: { level: string; path: unknown; keyId: unknown }[] = [];
    const record =
      (level: string) =>
      (fields: unknown, message: string): void => {
        const f = (fields ?? {}) as Record<string, unknown>;
        if (message === 'server API call') calls.push({ level, path: f.path, keyId: f.key_id });
      };
    const logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    const { base } = await startTestGateway({ apiKey: KEY, logger });
    const expected: Record<string, string> = {
      '/api/publish': 'debug',
      '/api/broadcast': 'debug',
      '/api/history': 'debug',
      '/api/presence': 'debug',
      '/api/presence_stats': 'debug',
      '/api/channels': 'debug',
      '/api/subscribe': 'info',
      '/api/unsubscribe': 'info',
      '/api/disconnect': 'info',
      '/api/history_remove': 'info',
    };
    for (const path of Object.keys(expected)) {
      // The call is logged once its key is known, whatever the body then makes of it.
      const r = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}` },
        body: '{}',
      });
      await r.arrayBuffer();
    }
    await (await fetch(`${base}/api/stats`, { headers: { authorization: `Bearer ${KEY}` } })).arrayBuffer();
    expect(calls).toEqual([
      ...Object.entries(expected).map(([path, level]) => ({ level, path, keyId: 'default' })),
      { level: 'debug', path: '/api/stats', keyId: 'default' },
    ]);
  });
});

describe('attached to an application server', () => {
  it('shares the port: its own routes and upgrades work, other requests reach the application', async () => {
    const { createServer } = await import('node:http');
    const { WebSocketGateway, silentLogger } = await import('../src/index');
    const { onCleanup } = await import('@dotmac-ws/test-utils');
    const gwRef: { gw?: InstanceType<typeof WebSocketGateway> } = {};
    const server = createServer((req, res) => {
      if (gwRef.gw?.handleHttpRequest(req, res)) return;
      res.end('app');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise((r) => server.close(r)));
    const gw = new WebSocketGateway({ server, logger: silentLogger });
    gwRef.gw = gw;
    await gw.start();
    onCleanup(() => gw.stop());
    const port = gw.address()!.port;
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('app');
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(200);
    const c = await TestClient.open(`ws://127.0.0.1:${port}/ws`);
    expect((await c.welcome()).type).toBe('welcome');
    await gw.stop();
    expect(server.listening).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('app');
  });
});

describe('a client that goes away mid-body', () => {
  it('is not an error: nothing is logged above info, no 500, the API keeps serving', async () => {
    const net = await import('node:net');
    const lines: { level: string; message: string }[] = [];
    const record =
      (level: string) =>
      (_fields: unknown, message: string): void => {
        lines.push({ level, message });
      };
    const logger = {
      debug: record('debug'),
      info: record('info'),
      warn: record('warn'),
      error: record('error'),
    };
    const { port, base } = await startTestGateway({ apiKey: 'k', logger });
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.on('data', (d) => {
      answer += d.toString();
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    // Promises 12 bytes, sends 2, then closes its side.
    socket.end(
      'POST /api/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{}',
    );
    await closed;
    await waitUntil(() => lines.some((l) => l.message === 'HTTP API request aborted by the client'), 2000);
    // Node's parser answers the truncated request itself (400); the gateway adds no 500.
    expect(answer).not.toContain(' 500 ');
    expect(lines.filter((l) => l.level !== 'debug' && l.level !== 'info')).toEqual([]);
    const ok = await fetch(`${base}/api/publish`, {
      method: 'POST',
      headers: { authorization: 'Bearer k' },
      body: JSON.stringify({ channel: 'c', type: 'm', data: 1 }),
    });
    expect(ok.status).toBe(200);
  });
});
