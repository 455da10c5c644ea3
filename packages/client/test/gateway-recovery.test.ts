import { randomUUID } from 'node:crypto';
import { type ChannelPolicy, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup, sleep, waitUntil } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { type PresenceChange, type ResyncEvent, trackPresence } from '../src/index';
import { nextEvent, startGateway, testAuthenticator, testClient, tokenFor } from './helpers';

/**
 * `room:*` keeps history and has presence with join/leave; anything else has neither. Recovery
 * allows more than the default 300 missed publications: on a loaded machine a reconnect under
 * two flat-out publishers can miss that many (the gateway would answer `recovered:false`).
 */
const policy: ChannelPolicy = {
  canSubscribe: () => true,
  canPublish: () => true,
  options: (channel) =>
    channel.name.startsWith('room:')
      ? {
          historySize: 10_000,
          historyTtlMs: 60_000,
          maxRecoveryPublications: 10_000,
          presence: true,
          joinLeave: true,
        }
      : null,
};

const room = () => `room:${randomUUID()}`;

describe('recovery against a real gateway', () => {
  it('reconnects mid-stream with two publishers running: every message exactly once, in order', {
    timeout: 30_000,
  }, async () => {
    const { gw, url } = await startGateway({ channelPolicy: policy });
    const channel = room();
    const client = testClient({ url, reconnect: { minDelayMs: 10, maxDelayMs: 40 } });
    const got: [number, { p: string; i: number }][] = [];
    const sub = client.subscribe<{ p: string; i: number }>(channel, (data, frame) =>
      got.push([frame.offset as number, data]),
    );
    const resyncs: ResyncEvent[] = [];
    sub.on('resync', (e) => resyncs.push(e));
    let recoveredInAcks = 0;
    sub.on('subscribed', ({ ack }) => {
      recoveredInAcks += ack.publications?.length ?? 0;
    });
    await sub.ready;
    const publisher = testClient({ url });
    await publisher.whenConnected(3000);

    let stop = false;
    const counts = { gw: 0, client: 0 };
    const gwPublisher = (async () => {
      while (!stop && counts.gw < 3000) {
        await gw.publish(channel, 'message', { p: 'gw', i: counts.gw++ });
        if (counts.gw % 4 === 0) await sleep(1);
      }
    })();
    const clientPublisher = (async () => {
      while (!stop && counts.client < 3000) {
        await publisher.publish(channel, { p: 'client', i: counts.client++ });
      }
    })();
    for (let drop = 0; drop < 5; drop++) {
      await sleep(60);
      const back = nextEvent(client, 'connected');
      expect(gw.disconnectSession(client.welcome?.session_id ?? '', 1011)).toBe(true);
      await back;
      await waitUntil(() => sub.state === 'subscribed', 3000, 'the resubscribe');
    }
    await sleep(60);
    stop = true;
    await Promise.all([gwPublisher, clientPublisher]);
    const top = (await gw.history(channel, { limit: 0 })).offset;
    expect(top).toBe(counts.gw + counts.client);
    await waitUntil(() => got.at(-1)?.[0] === top, 5000, `offset ${top}`);

    expect(got.map(([offset]) => offset)).toEqual(Array.from({ length: top }, (_, k) => k + 1));
    for (const p of ['gw', 'client'] as const) {
      const seq = got.filter(([, d]) => d.p === p).map(([, d]) => d.i);
      expect(seq).toEqual(Array.from({ length: counts[p] }, (_, k) => k));
    }
    expect(resyncs).toEqual([]);
    expect(sub.recovered).toBe(true);
    expect(sub.position).toEqual({ offset: top, epoch: expect.any(String) });
    // The drops really fell mid-stream: some publications came back through the acks.
    expect(recoveredInAcks).toBeGreaterThan(0);
  });

  it('after the gateway restarted (a new epoch) the subscription resyncs and carries on', async () => {
    const { gw, port, url } = await startGateway({ channelPolicy: policy });
    const channel = room();
    const client = testClient({ url, reconnect: { minDelayMs: 20, maxDelayMs: 100 } });
    const got: unknown[] = [];
    const sub = client.subscribe(channel, (data) => got.push(data));
    await sub.ready;
    for (let i = 1; i <= 3; i++) await gw.publish(channel, 'message', `old ${i}`);
    await expect.poll(() => got).toEqual(['old 1', 'old 2', 'old 3']);
    const before = sub.position;
    expect(before).toEqual({ offset: 3, epoch: expect.any(String) });

    const resync = new Promise<ResyncEvent>((resolve) => sub.on('resync', resolve));
    await gw.stop();
    const restarted = await new WebSocketGateway({
      port,
      host: '127.0.0.1',
      logger: silentLogger,
      channelPolicy: policy,
    }).start();
    onCleanup(() => restarted.stop());
    const event = await resync;
    expect(event).toEqual({
      reason: 'not_recovered',
      since: before,
      position: { offset: 0, epoch: expect.any(String) },
    });
    expect(event.position?.epoch).not.toBe(before?.epoch);
    expect(sub.recovered).toBe(false);
    await restarted.publish(channel, 'message', 'new 1');
    await expect.poll(() => got).toEqual(['old 1', 'old 2', 'old 3', 'new 1']);
    expect(sub.position).toEqual({ offset: 1, epoch: event.position?.epoch });
  });

  it('history() reads the channel through the gateway', async () => {
    const { gw, url } = await startGateway({ channelPolicy: policy });
    const channel = room();
    for (let i = 1; i <= 4; i++) await gw.publish(channel, 'note', i);
    const client = testClient({ url });
    const sub = client.subscribe(channel, () => undefined);
    const { epoch } = await sub.ready;
    expect(await sub.history({ limit: 2, reverse: true })).toEqual({
      channel,
      offset: 4,
      epoch,
      publications: [
        { type: 'note', data: 4, offset: 4 },
        { type: 'note', data: 3, offset: 3 },
      ],
    });
    expect(
      (await client.history(channel, { since: { offset: 2, epoch: epoch as string } })).publications,
    ).toEqual([
      { type: 'note', data: 3, offset: 3 },
      { type: 'note', data: 4, offset: 4 },
    ]);
    await expect(client.history('plain')).rejects.toMatchObject({
      name: 'ServerError',
      code: 'not_available',
    });
  });
});

describe('presence against a real gateway', () => {
  it('two clients see each other; a reconnect is no user-level noise; a closed one leaves after the grace period', async () => {
    const graceMs = 300;
    const { gw, url } = await startGateway({
      channelPolicy: policy,
      authenticator: testAuthenticator,
      presenceGraceMs: graceMs,
    });
    const channel = room();
    const ann = testClient({ url, token: tokenFor('ann'), reconnect: { minDelayMs: 10, maxDelayMs: 30 } });
    const bob = testClient({ url, token: tokenFor('bob') });
    const annSub = ann.subscribe(channel, () => undefined);
    const bobSub = bob.subscribe(channel, () => undefined);
    const annView = trackPresence(annSub);
    const bobView = trackPresence(bobSub);
    const bobChanges: PresenceChange[] = [];
    bobView.on('change', (c) => bobChanges.push(c));
    const users = (view: typeof annView) => [...view.users.keys()].sort();
    await expect.poll(() => users(annView)).toEqual(['ann', 'bob']);
    await expect.poll(() => users(bobView)).toEqual(['ann', 'bob']);
    const annSession = ann.welcome?.session_id as string;
    const bobSession = bob.welcome?.session_id as string;
    expect([...annView.members.keys()].sort()).toEqual([annSession, bobSession].sort());
    expect(annView.members.get(bobSession)).toMatchObject({ client: bobSession, user: 'bob' });
    expect(await annSub.presenceStats()).toEqual({ channel, num_clients: 2, num_users: 2 });
    expect(Object.keys((await bobSub.presence()).clients).sort()).toEqual([annSession, bobSession].sort());

    // Ann's connection drops and comes back at once: her new session joins before the old one
    // leaves (the grace period), so Bob's user-level view never loses her.
    const back = nextEvent(ann, 'connected');
    gw.disconnectSession(annSession, 1011);
    const annAgain = (await back).welcome.session_id;
    await expect
      .poll(() => [...bobView.members.keys()].sort(), { timeout: 3000 })
      .toEqual([annAgain, bobSession].sort());
    await expect.poll(() => annView.synced).toBe(true);
    expect([...annView.members.keys()].sort()).toEqual([annAgain, bobSession].sort());
    const pushes = bobChanges
      .filter((c) => c.cause !== 'snapshot')
      .map((c) => `${c.cause} ${(c.joined[0] ?? c.left[0])?.client}`);
    expect(pushes.indexOf(`join ${annAgain}`)).toBeGreaterThanOrEqual(0);
    expect(pushes.indexOf(`join ${annAgain}`)).toBeLessThan(pushes.indexOf(`leave ${annSession}`));
    expect(bobChanges.flatMap((c) => c.usersLeft)).toEqual([]);
    expect(bobView.users.get('ann')?.clients).toEqual([annAgain]);

    // Bob closes: he leaves Ann's view once the grace period is over.
    const closedAt = Date.now();
    bob.close();
    await expect.poll(() => users(annView), { timeout: 3000 }).toEqual(['ann']);
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(graceMs - 50);
    expect(await annSub.presenceStats()).toEqual({ channel, num_clients: 1, num_users: 1 });
  });
});
