import { describe, expect, it } from 'vitest';
import { type PresenceChange, trackPresence } from '../src/index';
import { testClient } from './helpers';
import { type ScriptedConnection, type SentFrame, startScriptedServer } from './scripted-server';

const member = (user: string | null, node = 'n1') => ({ user, node, joined_at: 1000, info: { name: user } });
const join = (client: string, user: string | null) => ({
  type: 'join',
  channel: 'room',
  data: { client, user, info: { name: user } },
});
const leave = (client: string, user: string | null) => ({
  type: 'leave',
  channel: 'room',
  data: { client, user },
});

/** A client subscribed to `room` with a tracker; presence requests wait in `presence` until the test answers. */
async function tracked() {
  const presence: { connection: ScriptedConnection; frame: SentFrame }[] = [];
  const server = await startScriptedServer((connection, frame) => {
    if (frame.type === 'subscribe') connection.ack(frame, { channel: 'room' });
    if (frame.type === 'presence') presence.push({ connection, frame });
  });
  const client = testClient({ url: server.url, reconnect: { minDelayMs: 10, maxDelayMs: 20 } });
  const sub = client.subscribe('room', () => undefined);
  const tracker = trackPresence(sub);
  const changes: PresenceChange[] = [];
  tracker.on('change', (c) => changes.push(c));
  const summary = () => ({
    members: [...tracker.members.keys()].sort(),
    users: Object.fromEntries([...tracker.users].map(([k, u]) => [k, u.clients])),
  });
  /** Answers the `index`-th presence request with `clients` and waits until the tracker applied it. */
  const answer = async (index: number, clients: Record<string, ReturnType<typeof member>>) => {
    await expect.poll(() => presence.length).toBeGreaterThan(index);
    const request = presence[index] as (typeof presence)[number];
    request.connection.ack(request.frame, { channel: 'room', clients });
    await expect.poll(() => tracker.synced).toBe(true);
    return request.connection;
  };
  return { server, client, sub, tracker, changes, presence, summary, answer };
}

describe('trackPresence: the member map', () => {
  it('takes a snapshot after subscribing, replays pushes that crossed it, then follows join/leave', async () => {
    const { server, tracker, changes, presence, summary, answer } = await tracked();
    await expect.poll(() => presence.length).toBe(1);
    expect(tracker.synced).toBe(false);
    const c0 = await server.connection(0);
    // Pushed while the snapshot request is under way: c left after the snapshot was read,
    // d joined after it. Both are replayed on it.
    c0.send(leave('c', 'carl'));
    c0.send(join('d', 'dora'));
    await expect.poll(() => changes.length).toBe(1); // d's join (c was never seen)
    await answer(0, { a: member('ann'), b: member('bob'), c: member('carl') });
    expect(summary()).toEqual({
      members: ['a', 'b', 'd'],
      users: { ann: ['a'], bob: ['b'], dora: ['d'] },
    });
    expect(tracker.members.get('a')).toEqual({ client: 'a', ...member('ann') });
    expect(tracker.members.get('d')).toEqual({ client: 'd', user: 'dora', info: { name: 'dora' } });
    expect(changes.map((c) => [c.cause, c.joined.map((m) => m.client), c.left.map((m) => m.client)])).toEqual(
      [
        ['join', ['d'], []],
        ['snapshot', ['a', 'b'], []],
      ],
    );

    c0.send(leave('b', 'bob'));
    await expect.poll(() => summary().members).toEqual(['a', 'd']);
    expect(changes.at(-1)).toEqual({
      cause: 'leave',
      joined: [],
      left: [{ client: 'b', ...member('bob') }],
      usersJoined: [],
      usersLeft: ['bob'],
    });
  });

  it("a user's new session joining before the old one leaves changes no user", async () => {
    const { server, tracker, changes, summary, answer } = await tracked();
    await answer(0, { a1: member('ann') });
    const c0 = await server.connection(0);
    c0.send(join('a2', 'ann'));
    c0.send(leave('a1', 'ann'));
    c0.send(join('x', null)); // anonymous: its own entry, keyed by its session id
    await expect.poll(() => changes.length).toBe(4);
    expect(changes.slice(1).map((c) => [c.cause, c.usersJoined, c.usersLeft])).toEqual([
      ['join', [], []],
      ['leave', [], []],
      ['join', ['x'], []],
    ]);
    expect(summary()).toEqual({ members: ['a2', 'x'], users: { ann: ['a2'], x: ['x'] } });
    expect(tracker.users.get('x')).toEqual({ user: null, clients: ['x'], info: { name: null } });
  });

  it('re-syncs with a new snapshot after a reconnect, reporting only the difference', async () => {
    const { tracker, changes, summary, answer } = await tracked();
    const first = await answer(0, { s0: member('me'), b: member('bob'), c: member('carl') });
    first.drop();
    await expect.poll(() => tracker.synced).toBe(false);
    expect(summary().members).toEqual(['b', 'c', 's0']); // kept while reconnecting: no flicker
    const second = await answer(1, { s1: member('me'), b: member('bob'), e: member('eve') });
    expect(second.index).toBe(1);
    expect(summary()).toEqual({
      members: ['b', 'e', 's1'],
      users: { me: ['s1'], bob: ['b'], eve: ['e'] },
    });
    expect(changes.at(-1)).toMatchObject({
      cause: 'snapshot',
      joined: [{ client: 's1' }, { client: 'e' }],
      left: [{ client: 's0' }, { client: 'c' }],
      usersJoined: ['eve'],
      usersLeft: ['carl'],
    });
  });

  it('reports a refused snapshot as an error event; stop() detaches it', async () => {
    const server = await startScriptedServer((connection, frame) => {
      if (frame.type === 'subscribe') connection.ack(frame, { channel: 'room' });
      if (frame.type === 'presence') {
        connection.send({ type: 'error', id: frame.id, data: { code: 'forbidden', message: 'no presence' } });
      }
    });
    const client = testClient({ url: server.url });
    const sub = client.subscribe('room', () => undefined);
    await sub.ready;
    const tracker = trackPresence(sub); // created after the ack: it snapshots at once
    const errors: unknown[] = [];
    tracker.on('error', ({ error }) => errors.push(error));
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]).toMatchObject({ name: 'ServerError', code: 'forbidden', requestType: 'presence' });
    expect(tracker.synced).toBe(false);
    tracker.stop();
    (await server.connection(0)).send(join('z', 'zed'));
    await client.request('ping');
    expect(tracker.members.size).toBe(0);
  });
});
