import { sleep, TestClient, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { Authenticator, GatewayEventMap } from '../src/index';
import { optionsPolicy } from './channel-options-policy';
import { startTestGateway } from './helpers';

const authenticator: Authenticator = {
  authenticate: (token) => ({
    userId: token.split('.')[0]!,
    expiresAt: Date.now() + Number(token.split('.')[1] ?? 3_600_000),
  }),
};

async function open(url: string, token?: string) {
  const c = await TestClient.open(token === undefined ? url : `${url}?token=${token}`);
  const id = ((await c.welcome()).data as { session_id: string }).session_id;
  return { c, id };
}

describe('gateway events, the fallback handler and identity refresh', () => {
  it('tells session, channel, presence and publish events in order', async () => {
    const { gw, url } = await startTestGateway({
      channelPolicy: optionsPolicy({ room: { presence: true }, plain: {} }),
      authenticator,
      presenceGraceMs: 0,
    });
    const seen: string[] = [];
    const names: (keyof GatewayEventMap)[] = [
      'session.connected',
      'session.disconnected',
      'channel.occupied',
      'channel.vacated',
      'presence.member_added',
      'presence.member_removed',
      'client.publish',
    ];
    for (const name of names) {
      gw.on(name, (e) => {
        const ev = e as Record<string, unknown>;
        const channel = (ev.channel as { name?: string } | undefined)?.name;
        const member = (ev.member as { user?: string } | undefined)?.user;
        seen.push([name, channel, member, ev.type, ev.code].filter((x) => x !== undefined).join(' '));
      });
    }
    // A listener that throws disturbs nobody.
    gw.on('session.connected', () => {
      throw new Error('listener bug');
    });
    const { c } = await open(url, 'ann');
    await c.request({ type: 'subscribe', data: { channel: 'room:1' } });
    const b = await open(url, 'bob');
    await b.c.request({ type: 'subscribe', data: { channel: 'room:1' } });
    await c.request({ type: 'publish', channel: 'room:1', event: 'note', data: 1 });
    await b.c.request({ type: 'unsubscribe', data: { channel: 'room:1' } });
    c.close(1000);
    await waitUntil(() => seen.some((s) => s.startsWith('session.disconnected')));
    await waitUntil(() => seen.some((s) => s.startsWith('presence.member_removed room:1 ann')));
    expect(seen).toEqual([
      'session.connected',
      'presence.member_added room:1 ann',
      'channel.occupied room:1',
      'session.connected',
      'presence.member_added room:1 bob',
      'client.publish room:1 note',
      'presence.member_removed room:1 bob',
      'channel.vacated room:1',
      'session.disconnected 1000',
      'presence.member_removed room:1 ann',
    ]);
  });

  it('a fallback handler answers frame types without a handler of their own', async () => {
    const { gw, url } = await startTestGateway();
    const { c } = await open(url);
    expect((await c.request({ type: 'rpc.sum', data: [1, 2] })).data).toMatchObject({ code: 'unknown_type' });
    gw.setFallbackHandler((_s, data, ctx) => ({
      type: ctx.type,
      sum: (data as number[]).reduce((a, x) => a + x, 0),
    }));
    gw.addMessageHandler('own', () => 'own handler');
    expect(await c.request({ type: 'rpc.sum', id: 5, data: [1, 2] })).toEqual({
      type: 'ack',
      id: 5,
      data: { type: 'rpc.sum', sum: 3 },
    });
    expect((await c.request({ type: 'own' })).data).toBe('own handler');
    gw.setFallbackHandler(undefined);
    expect((await c.request({ type: 'rpc.sum', data: [1] })).data).toMatchObject({ code: 'unknown_type' });
  });

  it('refreshIdentity extends a session before it expires; a refusal falls back to auth_expiring', async () => {
    let refreshes = 0;
    const { url } = await startTestGateway({
      authenticator,
      authExpiringLeadMs: 200,
      refreshIdentity: async (session) => {
        refreshes++;
        return session.userId === 'keep' ? { userId: 'keep', expiresAt: Date.now() + 600 } : null;
      },
    });
    const keep = await open(url, 'keep.400');
    const drop = await open(url, 'drop.400');
    expect((await drop.c.waitClose(3000)).code).toBe(4401);
    expect(drop.c.frames.some((f) => f.type === 'auth_expiring')).toBe(true);
    await sleep(1200);
    expect(keep.c.closed).toBeNull();
    expect(keep.c.frames.some((f) => f.type === 'auth_expiring')).toBe(false);
    expect(refreshes).toBeGreaterThanOrEqual(3);
  });

  it('a refreshIdentity answer that cannot be applied is reported, and the session still expires', async () => {
    const errors: string[] = [];
    const { url } = await startTestGateway({
      authenticator,
      authExpiringLeadMs: 200,
      hooks: { onError: (_error, context) => errors.push(context) },
      // roles that are not a list: applying this identity throws.
      refreshIdentity: async () => ({ userId: 'odd', expiresAt: Date.now() + 60_000, roles: 5 as never }),
    });
    const odd = await open(url, 'odd.400');
    expect((await odd.c.waitClose(3000)).code).toBe(4401);
    expect(errors).toContain('refreshIdentity');
  });
});
