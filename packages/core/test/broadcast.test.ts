import { sleep, TestClient } from '@dotmac-ws/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type BroadcastEvent, MemoryBackend, MemoryBus, type WebSocketGateway } from '../src/index';
import { startTestGateway } from './helpers';

/** Sets identities server-side from the query string: ?user=&roles=a,b&perms=x,y */
function identityFromQuery(gw: WebSocketGateway) {
  gw.use({
    connection: async (ctx, next) => {
      const user = ctx.url.searchParams.get('user');
      if (user) {
        ctx.identity = {
          userId: user,
          roles: ctx.url.searchParams.get('roles')?.split(',') ?? [],
          permissions: ctx.url.searchParams.get('perms')?.split(',') ?? [],
        };
      }
      await next();
    },
  });
}

async function open(url: string) {
  const c = await TestClient.open(url);
  await c.welcome();
  return c;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('targeted broadcasts', () => {
  it('reach users, roles, permissions and everyone, and nobody else', async () => {
    const { gw, url } = await startTestGateway();
    identityFromQuery(gw);
    const alice = await open(`${url}?user=alice&roles=admin&perms=billing:read`);
    const alice2 = await open(`${url}?user=alice&roles=admin&perms=billing:read`);
    const bob = await open(`${url}?user=bob&roles=viewer`);
    const anon = await open(url);
    expect(await gw.broadcastToUser('alice', 'dm', { to: 'alice' })).toBe(2);
    expect(await gw.broadcastToRole('viewer', 'role_msg', 1)).toBe(1);
    expect(await gw.broadcastToPermission('billing:read', 'perm_msg', 2)).toBe(2);
    expect(await gw.broadcastToAll('all_msg', 3)).toBe(4);
    for (const c of [alice, alice2])
      expect(await c.waitFor((f) => f.type === 'dm')).toEqual({ type: 'dm', data: { to: 'alice' } });
    expect((await bob.waitFor((f) => f.type === 'role_msg')).data).toBe(1);
    await anon.waitFor((f) => f.type === 'all_msg');
    await sleep(50);
    const types = (c: TestClient) => c.frames.map((f) => f.type).filter((t) => t !== 'welcome');
    expect(types(alice)).toEqual(['dm', 'perm_msg', 'all_msg']);
    expect(types(bob)).toEqual(['role_msg', 'all_msg']);
    expect(types(anon)).toEqual(['all_msg']);
  });

  it('refuses server frame types and empty targets', async () => {
    const { gw } = await startTestGateway();
    await expect(gw.broadcastToAll('welcome', 1)).rejects.toThrow(
      'message type "welcome" is not allowed for a broadcast',
    );
    await expect(gw.broadcastToUser('', 'x', 1)).rejects.toThrow('userId must be a non-empty string');
    await expect(gw.broadcastToChannel('bad channel', 'x', 1)).rejects.toMatchObject({
      code: 'invalid_channel',
    });
  });

  it('setUserInfo re-indexes a session for user and role broadcasts', async () => {
    const { gw, url } = await startTestGateway();
    gw.addMessageHandler('login', (session, data) => {
      const { user, role } = data as { user: string; role: string };
      session.setUserInfo(user, null, { roles: [role] });
      return { ok: true };
    });
    const c = await open(url);
    expect(await gw.broadcastToUser('carol', 'x', 1)).toBe(0);
    await c.request({ type: 'login', data: { user: 'carol', role: 'ops' } });
    expect(await gw.broadcastToUser('carol', 'x', 1)).toBe(1);
    expect(await gw.broadcastToRole('ops', 'y', 1)).toBe(1);
    await c.request({ type: 'login', data: { user: 'dave', role: 'dev' } });
    expect(await gw.broadcastToUser('carol', 'x', 1)).toBe(0);
    expect(await gw.broadcastToRole('ops', 'y', 1)).toBe(0);
    expect(await gw.broadcastToUser('dave', 'x', 1)).toBe(1);
  });

  it('serializes the frame of a broadcast to many subscribers exactly once', async () => {
    const { gw, url } = await startTestGateway();
    const clients = await Promise.all(Array.from({ length: 25 }, () => open(url)));
    for (const c of clients) await c.request({ type: 'subscribe', data: { channel: 'fan' } });
    const payload = { big: 'x'.repeat(1000) };
    const stringify = vi.spyOn(JSON, 'stringify');
    expect(await gw.broadcastToChannel('fan', 'tick', payload)).toBe(25);
    const serializationsOfPayload = stringify.mock.calls.filter(
      ([value]) => JSON.stringify === stringify && containsPayload(value, payload),
    );
    stringify.mockRestore();
    expect(serializationsOfPayload).toHaveLength(1);
    for (const c of clients) {
      expect(await c.waitFor((f) => f.type === 'tick')).toEqual({
        type: 'tick',
        channel: 'fan',
        data: payload,
      });
    }
  });
});

function containsPayload(value: unknown, payload: object): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value === payload || (value as { data?: unknown }).data === payload)
  );
}

describe('several nodes on one bus', () => {
  async function cluster(n: number, options = {}) {
    const bus = new MemoryBus();
    const nodes = [];
    for (let i = 0; i < n; i++) {
      nodes.push(
        await startTestGateway({
          backend: new MemoryBackend({ bus }),
          nodeId: `n${i}`,
          clientPublish: true,
          ...options,
        }),
      );
    }
    return { bus, nodes };
  }

  it('delivers channel messages across nodes, once per session, in publish order', async () => {
    const { nodes } = await cluster(3);
    const subs = await Promise.all(nodes.map((n) => open(n.url)));
    for (const s of subs) await s.request({ type: 'subscribe', data: { channel: 'x' } });
    const pub = await open(nodes[0]!.url);
    for (let i = 0; i < 50; i++) pub.send({ type: 'publish', channel: 'x', data: i });
    for (const s of subs) {
      await s.waitFor((f) => f.type === 'message' && f.data === 49);
      expect(s.frames.filter((f) => f.type === 'message').map((f) => f.data)).toEqual(
        Array.from({ length: 50 }, (_, i) => i),
      );
    }
  });

  it('subscribes backend topics only where there is local interest, and unsubscribes after the last', async () => {
    const { bus, nodes } = await cluster(2);
    const a = await open(nodes[0]!.url);
    await a.request({ type: 'subscribe', data: { channel: 'only-a' } });
    expect([...bus.members('channel:only-a')].length).toBe(1);
    const a2 = await open(nodes[0]!.url);
    await a2.request({ type: 'subscribe', data: { channel: 'only-a' } });
    expect([...bus.members('channel:only-a')].length).toBe(1);
    await a.request({ type: 'unsubscribe', data: { channel: 'only-a' } });
    expect([...bus.members('channel:only-a')].length).toBe(1);
    a2.close();
    await a2.waitClose();
    await sleep(20);
    expect([...bus.members('channel:only-a')].length).toBe(0);
  });

  it('user, tenant, role and everyone broadcasts reach sessions on other nodes', async () => {
    const { nodes } = await cluster(2);
    identityFromQuery(nodes[1]!.gw);
    const events: BroadcastEvent[] = [];
    nodes[1]!.gw.setObservabilityHooks({ onBroadcast: (e) => events.push(e) });
    const remote = await open(`${nodes[1]!.url.replace('/ws', '/ws/tenant/acme')}?user=erin&roles=ops`);
    await nodes[0]!.gw.broadcastToUser('erin', 'u', 1);
    await nodes[0]!.gw.broadcastToTenant('acme', 't', 2);
    await nodes[0]!.gw.broadcastToRole('ops', 'r', 3);
    await nodes[0]!.gw.broadcastToAll('a', 4);
    await remote.waitFor((f) => f.type === 'a');
    expect(remote.frames.slice(1)).toEqual([
      { type: 'u', data: 1 },
      { type: 't', data: 2 },
      { type: 'r', data: 3 },
      { type: 'a', data: 4 },
    ]);
    expect(events.map((e) => [e.origin, e.type, e.delivered])).toEqual([
      ['remote', 'u', 1],
      ['remote', 't', 1],
      ['remote', 'r', 1],
      ['remote', 'a', 1],
    ]);
  });
});
