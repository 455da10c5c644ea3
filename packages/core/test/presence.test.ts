import { type RecordedFrame, sleep, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { type Authenticator, MemoryBackend, MemoryBus, MemoryPresenceStore } from '../src/index';
import { optionsPolicy } from './channel-options-policy';
import { startTestGateway } from './helpers';

const policy = optionsPolicy({
  room: { presence: true, joinLeave: true },
  quiet: { presence: true },
  tiny: { presence: true, maxPresenceMembers: 2 },
  plain: {},
  secret: { presence: true },
});

/** `user:<name>` tokens; `info:<json>` tokens carry an `info` claim as a JWT authenticator would. */
const authenticator: Authenticator = {
  authenticate(token) {
    const [user, info] = token.split('|');
    return { userId: user!, extra: info === undefined ? {} : { claims: { info: JSON.parse(info) } } };
  },
};

const ack = (f: RecordedFrame) => {
  expect(f.type, JSON.stringify(f)).toBe('ack');
  return f.data as Record<string, unknown>;
};
const err = (f: RecordedFrame) => {
  expect(f.type, JSON.stringify(f)).toBe('error');
  return (f.data as { code: string }).code;
};

async function open(url: string, token?: string): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.open(token === undefined ? url : `${url}?token=${encodeURIComponent(token)}`);
  const w = await c.welcome();
  return { c, id: (w.data as { session_id: string }).session_id };
}

describe('presence (protocol.md v1.1)', () => {
  it('lists members and counts distinct users; info from the token, size-capped', async () => {
    const { url, gw } = await startTestGateway({
      channelPolicy: policy,
      authenticator,
      maxPresenceInfoBytes: 40,
      nodeId: 'p1',
    });
    const a = await open(url, 'ann|{"name":"Ann"}');
    const a2 = await open(url, 'ann');
    const b = await open(url, `bob|{"big":"${'x'.repeat(50)}"}`);
    for (const s of [a, a2, b]) await s.c.request({ type: 'subscribe', data: { channel: 'quiet:1' } });
    const p = ack(await a.c.request({ type: 'presence', data: { channel: 'quiet:1' } }));
    const joined = expect.any(Number);
    expect(p).toEqual({
      channel: 'quiet:1',
      clients: {
        [a.id]: { user: 'ann', node: 'p1', joined_at: joined, info: { name: 'Ann' } },
        [a2.id]: { user: 'ann', node: 'p1', joined_at: joined },
        [b.id]: { user: 'bob', node: 'p1', joined_at: joined },
      },
    });
    expect(ack(await b.c.request({ type: 'presence_stats', channel: 'quiet:1' }))).toEqual({
      channel: 'quiet:1',
      num_clients: 3,
      num_users: 2,
    });
    expect(gw.getStats().counters.presence_info_dropped).toBe(1);
    // No join/leave pushes without join_leave.
    expect(a.c.frames.some((f) => f.type === 'join' || f.type === 'leave')).toBe(false);
  });

  it('join and leave reach subscribers: leave at once on unsubscribe, after the grace period on disconnect', async () => {
    const { url } = await startTestGateway({ channelPolicy: policy, authenticator, presenceGraceMs: 300 });
    const watcher = await open(url, 'wat');
    await watcher.c.request({ type: 'subscribe', data: { channel: 'room:1' } });
    const ann = await open(url, 'ann|{"n":1}');
    await ann.c.request({ type: 'subscribe', data: { channel: 'room:1' } });
    expect(
      await watcher.c.waitFor((f) => f.type === 'join' && (f.data as { client: string }).client === ann.id),
    ).toEqual({
      type: 'join',
      channel: 'room:1',
      data: { client: ann.id, user: 'ann', info: { n: 1 } },
    });
    await ann.c.request({ type: 'unsubscribe', data: { channel: 'room:1' } });
    expect(await watcher.c.waitFor((f) => f.type === 'leave')).toEqual({
      type: 'leave',
      channel: 'room:1',
      data: { client: ann.id, user: 'ann', info: { n: 1 } },
    });
    const bob = await open(url, 'bob');
    await bob.c.request({ type: 'subscribe', data: { channel: 'room:1' } });
    await watcher.c.waitFor((f) => f.type === 'join' && (f.data as { user: string }).user === 'bob');
    const t0 = Date.now();
    bob.c.close();
    await watcher.c.waitFor((f) => f.type === 'leave' && (f.data as { user: string }).user === 'bob', 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    const list = ack(await watcher.c.request({ type: 'presence', data: { channel: 'room:1' } }));
    expect(Object.keys(list.clients as object)).toEqual([watcher.id]);
  });

  it('a client that reconnects within the grace period joins before its old session leaves', async () => {
    const { url } = await startTestGateway({ channelPolicy: policy, authenticator, presenceGraceMs: 500 });
    const watcher = await open(url, 'wat');
    await watcher.c.request({ type: 'subscribe', data: { channel: 'room:g' } });
    const first = await open(url, 'ann');
    await first.c.request({ type: 'subscribe', data: { channel: 'room:g' } });
    first.c.terminate();
    await sleep(50);
    const second = await open(url, 'ann');
    await second.c.request({ type: 'subscribe', data: { channel: 'room:g' } });
    await watcher.c.waitFor((f) => f.type === 'leave', 3000);
    const events = watcher.c.frames
      .filter((f) => f.type === 'join' || f.type === 'leave')
      .map((f) => `${f.type}:${(f.data as { client: string }).client}`);
    // The watcher's own join comes first: it is a member too.
    expect(events).toEqual([
      `join:${watcher.id}`,
      `join:${first.id}`,
      `join:${second.id}`,
      `leave:${first.id}`,
    ]);
  });

  it('refuses presence_full past max_presence_members', async () => {
    const { url } = await startTestGateway({ channelPolicy: policy, authenticator });
    const clients = await Promise.all(['u1', 'u2', 'u3'].map((u) => open(url, u)));
    expect(ack(await clients[0]!.c.request({ type: 'subscribe', data: { channel: 'tiny:1' } })).channel).toBe(
      'tiny:1',
    );
    expect(ack(await clients[1]!.c.request({ type: 'subscribe', data: { channel: 'tiny:1' } })).channel).toBe(
      'tiny:1',
    );
    const refused = await clients[2]!.c.request({ type: 'subscribe', data: { channel: 'tiny:1' } });
    expect(refused).toEqual({
      type: 'error',
      id: refused.id,
      data: { code: 'presence_full', message: '"tiny:1" has 2 members already' },
    });
    // Not subscribed: publications do not reach it.
    await clients[0]!.c.request({ type: 'publish', channel: 'tiny:1', data: 1 });
    await sleep(50);
    expect(clients[2]!.c.frames.some((f) => f.type === 'message')).toBe(false);
  });

  it('refuses queries on channels without presence or without permission', async () => {
    const { url } = await startTestGateway({ channelPolicy: policy, authenticator });
    const { c } = await open(url, 'u');
    expect(err(await c.request({ type: 'presence', data: { channel: 'plain:1' } }))).toBe('not_available');
    expect(err(await c.request({ type: 'presence_stats', data: { channel: 'plain:1' } }))).toBe(
      'not_available',
    );
    expect(err(await c.request({ type: 'presence', data: { channel: 'secret:1' } }))).toBe('forbidden');
    expect(err(await c.request({ type: 'presence', data: { channel: '' } }))).toBe('invalid_channel');
  });

  it('across nodes: members on both, lists and stats agree, join/leave reach every node', async () => {
    const bus = new MemoryBus();
    const presence = new MemoryPresenceStore();
    const nodes = await Promise.all(
      ['a', 'b'].map((nodeId) =>
        startTestGateway({
          nodeId,
          channelPolicy: policy,
          authenticator,
          backend: new MemoryBackend({ bus }),
          presence,
        }),
      ),
    );
    const w = await open(nodes[0]!.url, 'watcher');
    await w.c.request({ type: 'subscribe', data: { channel: 'room:x' } });
    const remote = await open(nodes[1]!.url, 'remote');
    await remote.c.request({ type: 'subscribe', data: { channel: 'room:x' } });
    await w.c.waitFor((f) => f.type === 'join' && (f.data as { client: string }).client === remote.id);
    for (const n of nodes) {
      expect(await n.gw.presenceStats('room:x')).toEqual({ num_clients: 2, num_users: 2 });
      const members = await n.gw.presence('room:x');
      expect(Object.fromEntries(Object.entries(members).map(([k, v]) => [k, v.node]))).toEqual({
        [w.id]: 'a',
        [remote.id]: 'b',
      });
    }
    await remote.c.request({ type: 'unsubscribe', data: { channel: 'room:x' } });
    await w.c.waitFor((f) => f.type === 'leave' && (f.data as { client: string }).client === remote.id);
  });

  it('a member whose node stopped refreshing it expires within the TTL and its leave is sent once', async () => {
    const presence = new MemoryPresenceStore();
    const { url, gw } = await startTestGateway({
      channelPolicy: policy,
      authenticator,
      presence,
      presenceTtlMs: 400,
    });
    const w = await open(url, 'watcher');
    await w.c.request({ type: 'subscribe', data: { channel: 'room:ghost' } });
    // A member of a node that died: nobody refreshes it.
    await presence.add(
      'room:ghost',
      { client: 'ghost-1', user: 'ghost', node: 'dead', joinedAt: Date.now() },
      400,
      100,
    );
    expect(Object.keys(await gw.presence('room:ghost')).sort()).toEqual([w.id, 'ghost-1'].sort());
    const t0 = Date.now();
    await w.c.waitFor((f) => f.type === 'leave', 3000);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(Object.keys(await gw.presence('room:ghost'))).toEqual([w.id]);
    await sleep(500);
    expect(w.c.frames.filter((f) => f.type === 'leave')).toEqual([
      { type: 'leave', channel: 'room:ghost', data: { client: 'ghost-1', user: 'ghost' } },
    ]);
  });

  it('HTTP API: /api/presence and /api/presence_stats', async () => {
    const { url, base } = await startTestGateway({
      channelPolicy: policy,
      authenticator,
      apiKey: 'k',
      nodeId: 'h1',
    });
    const a = await open(url, 'ann');
    await a.c.request({ type: 'subscribe', data: { channel: 'quiet:h' } });
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer k' },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: await r.json() };
    };
    expect(await post('/api/presence', { channel: 'quiet:h' })).toEqual({
      status: 200,
      body: { clients: { [a.id]: { user: 'ann', node: 'h1', joined_at: expect.any(Number) } } },
    });
    expect(await post('/api/presence_stats', { channel: 'quiet:h' })).toEqual({
      status: 200,
      body: { num_clients: 1, num_users: 1 },
    });
    expect(await post('/api/presence', { channel: 'plain:h' })).toEqual({
      status: 400,
      body: { error: { code: 'not_available', message: '"plain:h" has no presence' } },
    });
    expect((await post('/api/presence_stats', { tenant_id: 'a b' })).body).toEqual({
      error: {
        code: 'bad_request',
        message:
          '"channel" must be 1-200 characters of A-Z a-z 0-9 _ - . : @ / =; "tenant_id" must be 1-200 characters of A-Z a-z 0-9 _ - . @ / =',
      },
    });
  });

  it("a stopping node's members leave after the grace period, their leave sent by a surviving node", async () => {
    const bus = new MemoryBus();
    const presence = new MemoryPresenceStore();
    const common = {
      channelPolicy: policy,
      authenticator,
      presence,
      presenceGraceMs: 400,
      presenceTtlMs: 600,
    };
    const a = await startTestGateway({ nodeId: 'sa', backend: new MemoryBackend({ bus }), ...common });
    const b = await startTestGateway({ nodeId: 'sb', backend: new MemoryBackend({ bus }), ...common });
    const w = await open(a.url, 'watcher');
    await w.c.request({ type: 'subscribe', data: { channel: 'room:s' } });
    const m = await open(b.url, 'member');
    await m.c.request({ type: 'subscribe', data: { channel: 'room:s' } });
    await w.c.waitFor((f) => f.type === 'join' && (f.data as { client: string }).client === m.id);
    const t0 = Date.now();
    await b.gw.stop();
    // Still a member during the grace period (its client may be reconnecting elsewhere).
    expect(Object.keys(await a.gw.presence('room:s')).sort()).toEqual([w.id, m.id].sort());
    await w.c.waitFor((f) => f.type === 'leave' && (f.data as { client: string }).client === m.id, 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    expect(await a.gw.presenceStats('room:s')).toEqual({ num_clients: 1, num_users: 1 });
    await sleep(400);
    expect(w.c.frames.filter((f) => f.type === 'leave')).toHaveLength(1);
  });
});
