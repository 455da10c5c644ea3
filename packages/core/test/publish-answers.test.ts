import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { MemoryBackend, MemoryBus, MemoryHistoryStore } from '../src/index';
import { optionsPolicy } from './channel-options-policy';
import { startTestGateway } from './helpers';

// A publish another node has to take goes the backend's way (a promise); one nobody else can
// receive is answered in the same turn. Every way answers in the same shapes.
describe('publish answers, whichever way the publish went', () => {
  const policy = optionsPolicy({ kept: { historySize: 10 }, plain: {} });

  async function twoNodes() {
    const bus = new MemoryBus();
    const history = new MemoryHistoryStore();
    const node = () =>
      startTestGateway({ backend: new MemoryBackend({ bus }), history, channelPolicy: policy });
    return { a: await node(), b: await node() };
  }

  /** Two nodes with a subscriber of `plain` on each: a publish on A has to be taken by B. */
  async function plainOnBoth() {
    const { a, b } = await twoNodes();
    const far = await TestClient.open(b.url);
    await far.request({ type: 'subscribe', channel: 'plain' });
    const near = await TestClient.open(a.url);
    await near.request({ type: 'subscribe', channel: 'plain' });
    return { a, far, near };
  }

  it('a client publish acks {channel} (no offset) when another node takes it, and that node delivers', async () => {
    const { far, near } = await plainOnBoth();
    expect(await near.request({ type: 'publish', id: 7, channel: 'plain', data: 'hi' })).toEqual({
      type: 'ack',
      id: 7,
      data: { channel: 'plain' },
    });
    expect(await far.waitFor((f) => f.type === 'message')).toEqual({
      type: 'message',
      channel: 'plain',
      data: 'hi',
    });
    expect(await near.waitFor((f) => f.type === 'message')).toEqual({
      type: 'message',
      channel: 'plain',
      data: 'hi',
    });
  });

  it('a client publish on a channel with history acks its offset', async () => {
    const { a } = await twoNodes();
    const c = await TestClient.open(a.url);
    await c.request({ type: 'subscribe', channel: 'kept' });
    const first = await c.request({ type: 'publish', id: 1, channel: 'kept', data: 1 });
    const second = await c.request({ type: 'publish', id: 2, channel: 'kept', data: 2 });
    expect(first).toEqual({ type: 'ack', id: 1, data: { channel: 'kept', offset: 1 } });
    expect(second).toEqual({ type: 'ack', id: 2, data: { channel: 'kept', offset: 2 } });
  });

  it('gateway.publish resolves {delivered} alone when another node takes it, and with the offset in history', async () => {
    const { a, far, near } = await plainOnBoth();
    await near.request({ type: 'subscribe', channel: 'kept' });
    expect(await a.gw.publish('plain', 'message', 'x')).toEqual({ delivered: 1 });
    const kept = await a.gw.publish('kept', 'message', 'y');
    expect(kept).toMatchObject({ delivered: 1, offset: 1 });
    expect(typeof kept.epoch).toBe('string');
    await far.waitFor((f) => f.type === 'message');
  });

  it('on a lone node a client publish is acked {channel} too', async () => {
    const { url } = await startTestGateway({ channelPolicy: policy });
    const c = await TestClient.open(url);
    expect(await c.request({ type: 'publish', id: 'x', channel: 'plain', data: null })).toEqual({
      type: 'ack',
      id: 'x',
      data: { channel: 'plain' },
    });
  });
});
