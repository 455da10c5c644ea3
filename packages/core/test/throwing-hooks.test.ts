import { TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { MemoryBackend, MemoryBus, type ObservabilityHooks } from '../src/index';
import { startTestGateway } from './helpers';
import { afterRejectionsSurface, watchProcessFaults } from './process-watch';

const throwing: ObservabilityHooks = {
  currentTraceparent: () => {
    throw new Error('currentTraceparent broke');
  },
  onBroadcast: () => {
    throw new Error('onBroadcast broke');
  },
  onMessage: () => {
    throw new Error('onMessage broke');
  },
};

describe('observability hooks that throw on the broadcast and delivery paths', () => {
  it('neither stop a broadcast on its node or the others, nor reject unhandled', async () => {
    const faults = watchProcessFaults();
    const errors: string[] = [];
    const bus = new MemoryBus();
    const a = await startTestGateway({ backend: new MemoryBackend({ bus }), clientPublish: true });
    const b = await startTestGateway({ backend: new MemoryBackend({ bus }) });
    // Hooks that throw, plus an onError that records what the gateway reported.
    const hooks = (node: string): ObservabilityHooks => ({
      ...throwing,
      onError: (error, context) => errors.push(`${node} ${context}: ${(error as Error).message}`),
    });
    a.gw.setObservabilityHooks(hooks('a'));
    b.gw.setObservabilityHooks(hooks('b'));
    const publisher = await TestClient.open(a.url);
    const local = await TestClient.open(a.url);
    const remote = await TestClient.open(b.url);
    for (const c of [local, remote]) await c.request({ type: 'subscribe', channel: 'news' });

    // A client publish: acked, delivered here and on the other node.
    expect(await publisher.request({ type: 'publish', id: 'p', channel: 'news', data: 1 })).toEqual({
      type: 'ack',
      id: 'p',
      data: { channel: 'news' },
    });
    // A server broadcast: resolves with its local count.
    expect(await a.gw.broadcastToChannel('news', 'headline', 2)).toBe(1);
    for (const c of [local, remote]) {
      await c.waitFor((f) => f.type === 'headline');
      expect(c.frames.filter((f) => f.channel === 'news').map((f) => [f.type, f.data])).toEqual([
        ['message', 1],
        ['headline', 2],
      ]);
    }
    await afterRejectionsSurface();
    expect(faults).toEqual([]);
    // Hook failures are logged, never fed back into onError (which could throw in turn).
    expect(errors).toEqual([]);
    expect(await publisher.request({ type: 'ping', id: 'alive' })).toMatchObject({ type: 'pong' });
  });

  it('a broadcast that cannot be serialized rejects to its caller and nowhere else', async () => {
    const faults = watchProcessFaults();
    const { gw } = await startTestGateway();
    await expect(gw.broadcastToChannel('news', 'x', { n: 1n })).rejects.toThrow(TypeError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(gw.broadcastToAll('x', cyclic)).rejects.toThrow(TypeError);
    await afterRejectionsSurface();
    expect(faults).toEqual([]);
  });
});
