import { sleep } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { ChannelMessageFrame, ResyncEvent, SubscribedEvent, Subscription } from '../src/index';
import { recordEvents, testClient } from './helpers';
import { type ScriptedConnection, type SentFrame, startScriptedServer } from './scripted-server';

const E1 = 'epoch-1';
const E2 = 'epoch-2';

/** A delivery of `news` at `offset` (its data is the offset, so the received list reads as offsets). */
const msg = (offset: number) => ({ type: 'message', channel: 'news', data: offset, offset });
const pub = (offset: number) => ({ type: 'message', data: offset, offset });
/** A resubscribe ack in epoch E1 at `top` that recovered the publications at `offsets`. */
const recoveredAck = (top: number, ...offsets: number[]) => ({
  channel: 'news',
  offset: top,
  epoch: E1,
  recovered: true,
  publications: offsets.map(pub),
});

/** A client subscribed to `news` on a scripted server; `got` lists the data (offsets) its handler saw. */
async function subscribed(onFrame: (c: ScriptedConnection, f: SentFrame) => void) {
  const server = await startScriptedServer(onFrame);
  const client = testClient({ url: server.url, reconnect: { minDelayMs: 10, maxDelayMs: 20 } });
  const got: unknown[] = [];
  const frames: ChannelMessageFrame[] = [];
  const sub = client.subscribe('news', (data, frame) => {
    got.push(data);
    frames.push(frame);
  });
  const resyncs: ResyncEvent[] = [];
  const acks: SubscribedEvent[] = [];
  sub.on('resync', (e) => resyncs.push(e));
  sub.on('subscribed', (e) => acks.push(e));
  return { server, client, sub, got, frames, resyncs, acks };
}

/** Waits for the subscribe frame on connection `index` and returns it with its connection. */
async function subscribeOn(server: Awaited<ReturnType<typeof startScriptedServer>>, index: number) {
  const connection = await server.connection(index);
  return { connection, frame: await server.frame(connection, 'subscribe') };
}

describe('recovery: positions, duplicates, resubscribe from the last offset', () => {
  it('tracks the position, drops duplicates, resubscribes with since and emits the recovered publications first', async () => {
    const { server, sub, got, frames, acks, resyncs } = await subscribed(() => undefined);
    const first = await subscribeOn(server, 0);
    expect(first.frame.data).toEqual({ channel: 'news' });
    first.connection.ack(first.frame, { channel: 'news', subscribers: 1, offset: 5, epoch: E1 });
    await sub.ready;
    expect(sub.position).toEqual({ offset: 5, epoch: E1 });
    expect(sub.recovered).toBeUndefined();
    for (const o of [6, 6, 5, 7, 7]) first.connection.send(msg(o));
    await expect.poll(() => sub.position).toEqual({ offset: 7, epoch: E1 });
    expect(got).toEqual([6, 7]);
    expect(frames[0]).toEqual({ type: 'message', channel: 'news', data: 6, offset: 6 });

    first.connection.drop();
    const again = await subscribeOn(server, 1);
    expect(again.frame.data).toEqual({ channel: 'news', since: { offset: 7, epoch: E1 } });
    expect(sub.state).toBe('subscribing');
    // The live stream may overtake the ack: the client holds it and sends it after the publications.
    again.connection.send(msg(10));
    again.connection.send(msg(9));
    again.connection.ack(again.frame, recoveredAck(9, 7, 8, 9));
    again.connection.send(msg(11));
    await expect.poll(() => got).toEqual([6, 7, 8, 9, 10, 11]);
    expect(sub.recovered).toBe(true);
    expect(sub.state).toBe('subscribed');
    expect(sub.position).toEqual({ offset: 11, epoch: E1 });
    expect(acks.map((a) => [a.recovered, a.resubscribed])).toEqual([
      [undefined, false],
      [true, true],
    ]);
    expect(resyncs).toEqual([]);
  });

  it('recovered:false in a new epoch emits resync, then carries on from the new position', async () => {
    const { server, sub, got, resyncs, acks } = await subscribed(() => undefined);
    const first = await subscribeOn(server, 0);
    first.connection.ack(first.frame, { channel: 'news', offset: 41, epoch: E1 });
    first.connection.send(msg(42));
    await expect.poll(() => got).toEqual([42]);

    const order: string[] = [];
    sub.on('resync', () => order.push('resync'));
    sub.on('message', (f) => order.push(`message ${String(f.offset)}`));
    first.connection.drop();
    const again = await subscribeOn(server, 1);
    expect(again.frame.data).toEqual({ channel: 'news', since: { offset: 42, epoch: E1 } });
    again.connection.ack(again.frame, {
      channel: 'news',
      offset: 3,
      epoch: E2,
      recovered: false,
      publications: [],
    });
    again.connection.send(msg(3)); // at the new top: already covered by the resync
    again.connection.send(msg(4));
    await expect.poll(() => got).toEqual([42, 4]);
    expect(resyncs).toEqual([
      { reason: 'not_recovered', since: { offset: 42, epoch: E1 }, position: { offset: 3, epoch: E2 } },
    ]);
    expect(order).toEqual(['resync', 'message 4']);
    expect(sub.recovered).toBe(false);
    expect(acks.at(-1)).toMatchObject({ recovered: false, resubscribed: true });
    expect(sub.position).toEqual({ offset: 4, epoch: E2 });

    // The next reconnect resumes from the new epoch.
    again.connection.drop();
    const third = await subscribeOn(server, 2);
    expect(third.frame.data).toEqual({ channel: 'news', since: { offset: 4, epoch: E2 } });
  });

  it('a resubscribe answered without history (the channel lost it) resyncs with no position', async () => {
    const { server, sub, got, resyncs } = await subscribed(() => undefined);
    const first = await subscribeOn(server, 0);
    first.connection.ack(first.frame, { channel: 'news', offset: 1, epoch: E1 });
    first.connection.send(msg(2));
    await expect.poll(() => got).toEqual([2]);
    first.connection.drop();
    const again = await subscribeOn(server, 1);
    again.connection.ack(again.frame, { channel: 'news', subscribers: 1 });
    again.connection.send({ type: 'message', channel: 'news', data: 'plain' });
    await expect.poll(() => got).toEqual([2, 'plain']);
    expect(resyncs).toEqual([
      { reason: 'not_recovered', since: { offset: 2, epoch: E1 }, position: undefined },
    ]);
    expect(sub.position).toBeUndefined();
    again.connection.drop();
    const third = await subscribeOn(server, 2);
    expect(third.frame.data).toEqual({ channel: 'news' });
  });

  it('recovery: cache delivers the latest publication of the ack on the first subscribe', async () => {
    const { server, sub, got, frames } = await subscribed(() => undefined);
    const first = await subscribeOn(server, 0);
    first.connection.ack(first.frame, {
      channel: 'news',
      offset: 17,
      epoch: E1,
      publications: [{ type: 'price', data: 17, offset: 17 }],
    });
    await sub.ready;
    await expect.poll(() => got).toEqual([17]);
    expect(frames).toEqual([{ type: 'price', channel: 'news', data: 17, offset: 17 }]);
    expect(sub.position).toEqual({ offset: 17, epoch: E1 });
    first.connection.send(msg(17)); // the same publication live: a duplicate
    first.connection.send(msg(18));
    await expect.poll(() => got).toEqual([17, 18]);
  });
});

describe('recovery: gaps in the live stream', () => {
  it('reads a gap from history, delivers it in order, and holds what arrives meanwhile', async () => {
    let history: { connection: ScriptedConnection; frame: SentFrame } | undefined;
    const { server, sub, got, resyncs } = await subscribed((connection, frame) => {
      if (frame.type === 'history') history = { connection, frame };
    });
    const first = await subscribeOn(server, 0);
    first.connection.ack(first.frame, { channel: 'news', offset: 5, epoch: E1 });
    first.connection.send(msg(6));
    first.connection.send(msg(9));
    await expect.poll(() => history).toBeDefined();
    expect(history?.frame).toMatchObject({
      type: 'history',
      channel: 'news',
      data: { channel: 'news', since: { offset: 6, epoch: E1 }, limit: 2 },
    });
    first.connection.send(msg(10));
    first.connection.send(msg(8));
    await sleep(30);
    expect(got).toEqual([6]);
    history?.connection.ack(history.frame, {
      channel: 'news',
      offset: 10,
      epoch: E1,
      publications: [pub(7), pub(8)],
    });
    await expect.poll(() => got).toEqual([6, 7, 8, 9, 10]);
    expect(resyncs).toEqual([]);
    expect(sub.position).toEqual({ offset: 10, epoch: E1 });
  });

  it('a gap history cannot fill (trimmed) emits resync and carries on after it', async () => {
    const { server, sub, got, resyncs } = await subscribed((connection, frame) => {
      // Trimmed: 7 is gone, only 8 is left.
      if (frame.type === 'history') {
        connection.ack(frame, { channel: 'news', offset: 9, epoch: E1, publications: [pub(8), pub(9)] });
      }
    });
    const first = await subscribeOn(server, 0);
    first.connection.ack(first.frame, { channel: 'news', offset: 6, epoch: E1 });
    first.connection.send(msg(9));
    first.connection.send(msg(10));
    await expect.poll(() => got).toEqual([9, 10]);
    expect(resyncs).toEqual([
      { reason: 'gap', since: { offset: 6, epoch: E1 }, position: { offset: 8, epoch: E1 } },
    ]);
    expect(sub.position).toEqual({ offset: 10, epoch: E1 });
  });

  it('a refused history read resyncs; a lost connection instead recovers by resubscribing', async () => {
    let reads = 0;
    const { server, got, resyncs } = await subscribed((connection, frame) => {
      if (frame.type !== 'history') return;
      reads++;
      if (reads === 1) {
        connection.send({ type: 'error', id: frame.id, data: { code: 'forbidden', message: 'no' } });
      } else connection.drop(); // the second read never gets an answer
    });
    const first = await subscribeOn(server, 0);
    first.connection.ack(first.frame, { channel: 'news', offset: 1, epoch: E1 });
    first.connection.send(msg(3));
    await expect.poll(() => got).toEqual([3]);
    expect(resyncs).toEqual([
      { reason: 'gap', since: { offset: 1, epoch: E1 }, position: { offset: 2, epoch: E1 } },
    ]);

    first.connection.send(msg(6));
    const again = await subscribeOn(server, 1);
    expect(reads).toBe(2);
    // 6 was held behind the gap and never delivered: the resubscribe recovers from 3.
    expect(again.frame.data).toEqual({ channel: 'news', since: { offset: 3, epoch: E1 } });
    again.connection.ack(again.frame, recoveredAck(6, 4, 5, 6));
    await expect.poll(() => got).toEqual([3, 4, 5, 6]);
    expect(resyncs).toHaveLength(1);
  });
});

describe('history, presence and presence_stats requests', () => {
  it('sends the frames the protocol names and resolves with the acks', async () => {
    const { server, client, sub } = await subscribed((connection, frame) => {
      if (frame.channel === 'silent') return;
      if (frame.channel === 'secret') {
        connection.send({ type: 'error', id: frame.id, data: { code: 'forbidden', message: 'not for you' } });
      } else if (frame.type === 'history') {
        connection.ack(frame, { channel: 'news', offset: 9, epoch: E1, publications: [pub(9), pub(8)] });
      } else if (frame.type === 'presence') {
        connection.ack(frame, {
          channel: 'news',
          clients: { s0: { user: 'ann', node: 'n1', joined_at: 1700000000000, info: { name: 'Ann' } } },
        });
      } else if (frame.type === 'presence_stats') {
        connection.ack(frame, { channel: 'news', num_clients: 3, num_users: 2 });
      }
    });
    const first = await subscribeOn(server, 0);
    first.connection.ack(first.frame, { channel: 'news', offset: 9, epoch: E1 });
    expect(await sub.history({ limit: 2, reverse: true })).toEqual({
      channel: 'news',
      offset: 9,
      epoch: E1,
      publications: [pub(9), pub(8)],
    });
    const since = { offset: 3, epoch: E1 };
    await client.history('news', { since });
    expect(await sub.presence()).toEqual({
      channel: 'news',
      clients: { s0: { user: 'ann', node: 'n1', joined_at: 1700000000000, info: { name: 'Ann' } } },
    });
    expect(await sub.presenceStats()).toEqual({ channel: 'news', num_clients: 3, num_users: 2 });
    const sent = first.connection.frames.filter((f) => f.type !== 'subscribe').map(({ id, ...f }) => f);
    expect(sent).toEqual([
      { type: 'history', channel: 'news', data: { channel: 'news', limit: 2, reverse: true } },
      { type: 'history', channel: 'news', data: { channel: 'news', since } },
      { type: 'presence', channel: 'news', data: { channel: 'news' } },
      { type: 'presence_stats', channel: 'news', data: { channel: 'news' } },
    ]);
    await expect(client.history('secret')).rejects.toMatchObject({
      name: 'ServerError',
      code: 'forbidden',
      requestType: 'history',
    });
    await expect(client.presence('silent', { timeoutMs: 50 })).rejects.toMatchObject({
      name: 'RequestError',
      code: 'timeout',
      requestType: 'presence',
    });
  });
});

describe('server-side subscriptions and pushes', () => {
  it('a subscribed push surfaces as a server-side subscription the client does not resubscribe', async () => {
    const server = await startScriptedServer((connection, frame) => {
      if (frame.type === 'history') {
        connection.ack(frame, { channel: 'alerts', offset: 12, epoch: E1, publications: [pub(11), pub(12)] });
      }
    });
    const client = testClient({ url: server.url, reconnect: { minDelayMs: 10, maxDelayMs: 20 } });
    const got: unknown[] = [];
    let subscription: Subscription | undefined;
    client.onEvent('subscribed', (e) => {
      subscription = e.subscription;
      e.subscription.on('message', (f) => got.push(f.data));
    });
    const c0 = await server.connection(0);
    c0.send({ type: 'subscribed', channel: 'alerts', data: { offset: 9, epoch: E1 } });
    await expect.poll(() => subscription?.state).toBe('subscribed');
    expect(subscription).toMatchObject({ channel: 'alerts', serverSide: true });
    expect(await subscription?.ready).toEqual({ channel: 'alerts', offset: 9, epoch: E1 });
    c0.send({ type: 'message', channel: 'alerts', data: 10, offset: 10 });
    await expect.poll(() => got).toEqual([10]);
    expect(client.channels()).toEqual(['alerts']);

    c0.drop();
    const c1 = await server.connection(1);
    await client.whenConnected(3000);
    await sleep(50);
    expect(c1.frames.filter((f) => f.type === 'subscribe')).toEqual([]);
    // The server subscribes the new session again: the client reads what it missed from history.
    c1.send({ type: 'subscribed', channel: 'alerts', data: { offset: 12, epoch: E1 } });
    c1.send({ type: 'message', channel: 'alerts', data: 13, offset: 13 });
    await expect.poll(() => got).toEqual([10, 11, 12, 13]);
    expect((await server.frame(c1, 'history')).data).toEqual({
      channel: 'alerts',
      since: { offset: 10, epoch: E1 },
      limit: 2,
    });
  });

  it('an unsubscribed push ends the subscription: no handler call, no resubscribe', async () => {
    const server = await startScriptedServer();
    const client = testClient({ url: server.url, reconnect: { minDelayMs: 10, maxDelayMs: 20 } });
    const events = recordEvents(client);
    const got: unknown[] = [];
    const unsubscribed: unknown[] = [];
    client.onEvent('unsubscribed', (e) => unsubscribed.push(e));
    const sub = client.subscribe('news', (data) => got.push(data));
    const c0 = await server.connection(0);
    const frame = await server.frame(c0, 'subscribe');
    c0.ack(frame, { channel: 'news' });
    await sub.ready;
    const ended: unknown[] = [];
    sub.on('unsubscribed', (e) => ended.push(e));
    c0.send({ type: 'unsubscribed', channel: 'news', data: { reason: 'forbidden' } });
    await expect.poll(() => sub.state).toBe('unsubscribed');
    expect(sub.active).toBe(false);
    expect(ended).toEqual([{ reason: 'forbidden' }]);
    expect(unsubscribed).toEqual([{ channel: 'news', reason: 'forbidden' }]);
    expect(client.channels()).toEqual([]);
    c0.send({ type: 'message', channel: 'news', data: 'late' });
    c0.drop();
    const c1 = await server.connection(1);
    await expect.poll(() => client.welcome?.session_id).toBe('s1');
    await sleep(50);
    expect(c1.frames.filter((f) => f.type === 'subscribe')).toEqual([]);
    expect(got).toEqual([]);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('join and leave pushes reach the subscription events, never the message handler', async () => {
    const { server, sub, got } = await subscribed(() => undefined);
    const first = await subscribeOn(server, 0);
    first.connection.ack(first.frame, { channel: 'news' });
    const seen: unknown[] = [];
    sub.on('join', (e) => seen.push(['join', e]));
    sub.on('leave', (e) => seen.push(['leave', e]));
    first.connection.send({
      type: 'join',
      channel: 'news',
      data: { client: 'x', user: 'bob', info: { a: 1 } },
    });
    first.connection.send({ type: 'leave', channel: 'news', data: { client: 'x', user: 'bob' } });
    await expect.poll(() => seen.length).toBe(2);
    expect(seen).toEqual([
      ['join', { client: 'x', user: 'bob', info: { a: 1 } }],
      ['leave', { client: 'x', user: 'bob' }],
    ]);
    expect(got).toEqual([]);
  });
});
