import { sleep } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { nextEvent, recordEvents, startGateway, testClient } from './helpers';
import { startFreezableProxy } from './tcp-proxy';

// Long enough that a loaded machine's timer lag does not look like a dead link.
const HEARTBEAT_MS = 250;

async function setup() {
  const { gw, port } = await startGateway();
  let pings = 0;
  gw.use({
    message: async (ctx, next) => {
      if (ctx.type === 'ping') pings++;
      await next();
    },
  });
  const proxy = await startFreezableProxy(port);
  const client = testClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, heartbeatMs: HEARTBEAT_MS });
  await client.whenConnected(3000);
  return { gw, proxy, client, pings: () => pings };
}

describe('heartbeat', () => {
  it('pings in-band on a quiet connection and keeps it (no traffic otherwise for many intervals)', async () => {
    const { client, pings } = await setup();
    const events = recordEvents(client);
    await sleep(HEARTBEAT_MS * 6);
    expect(events).toEqual([]);
    expect(client.state).toBe('connected');
    // About one ping per interval: enough to prove the heartbeat, bounded to prove it is not a flood.
    expect(pings()).toBeGreaterThanOrEqual(2);
    expect(pings()).toBeLessThanOrEqual(7);
  });

  it('finds a dead connection after two silent intervals and reconnects', async () => {
    const { client, proxy } = await setup();
    const firstSession = client.welcome!.session_id;
    const lost = nextEvent(client, 'disconnected', 3000);
    const frozenAt = Date.now();
    proxy.freeze();
    expect(await lost).toEqual({
      code: 1006,
      reason: 'heartbeat_timeout',
      willReconnect: true,
      needsToken: false,
    });
    // Two intervals of silence, counted from the last frame before the freeze.
    expect(Date.now() - frozenAt).toBeLessThan(2 * HEARTBEAT_MS + 2000);
    const back = await nextEvent(client, 'connected', 3000);
    expect(back.welcome.session_id).not.toBe(firstSession);
    expect(proxy.accepted).toBe(2);
  });
});
