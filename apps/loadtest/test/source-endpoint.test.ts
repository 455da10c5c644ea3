import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import { runLoad } from '../src/index';
import { SOURCE_PORT_BASE, SOURCE_PORT_END, sourceEndpoint } from '../src/source-address';

/** A gateway on its own HTTP server, and every client endpoint that connected to it. */
async function recordingGateway(): Promise<{ url: string; peers: string[] }> {
  const server: Server = createServer();
  const peers: string[] = [];
  server.on('connection', (s) => peers.push(`${s.remoteAddress}:${s.remotePort}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const gw = new WebSocketGateway({ server, logger: silentLogger, clientPublish: true });
  await gw.start();
  onCleanup(async () => {
    await gw.stop();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/ws`, peers };
}

describe('source endpoints', () => {
  it('give each connection its address and its own port below the ephemeral range', () => {
    expect(sourceEndpoint(5, 1)).toEqual({});
    expect([0, 1, 2, 3, 4, 5].map((i) => sourceEndpoint(i, 3))).toEqual([
      { localAddress: '127.0.0.1', localPort: SOURCE_PORT_BASE },
      { localAddress: '127.0.0.2', localPort: SOURCE_PORT_BASE },
      { localAddress: '127.0.0.3', localPort: SOURCE_PORT_BASE },
      { localAddress: '127.0.0.1', localPort: SOURCE_PORT_BASE + 1 },
      { localAddress: '127.0.0.2', localPort: SOURCE_PORT_BASE + 1 },
      { localAddress: '127.0.0.3', localPort: SOURCE_PORT_BASE + 1 },
    ]);
    const perAddress = SOURCE_PORT_END - SOURCE_PORT_BASE;
    expect(sourceEndpoint(2 * perAddress - 1, 2)).toEqual({
      localAddress: '127.0.0.2',
      localPort: SOURCE_PORT_END - 1,
    });
    // Past the runner's own ports, the system picks one.
    expect(sourceEndpoint(2 * perAddress, 2)).toEqual({ localAddress: '127.0.0.1' });
  });

  it('a run over two addresses connects from the chosen ports, and from another where one is taken', async () => {
    const { url, peers } = await recordingGateway();
    // Connection 1 (127.0.0.2, the first port) finds its port taken by a listener.
    const blocker = net.createServer();
    const blocked = await new Promise<boolean>((resolve) => {
      blocker.once('error', () => resolve(false));
      blocker.listen(SOURCE_PORT_BASE, '127.0.0.2', () => resolve(true));
    });
    onCleanup(() => new Promise((resolve) => blocker.close(resolve)));
    const r = await runLoad({
      durationSec: 1,
      drainMs: 2000,
      urls: [url],
      connections: 4,
      publishers: 1,
      rate: 20,
      sourceAddresses: 2,
    });
    expect(r.messages.received).toBe(r.messages.expected);
    expect(r.messages.expected).toBeGreaterThan(0);
    // Subscribers 0-3, then the publisher (connection 4).
    const wanted = [0, 1, 2, 3, 4].map((i) => sourceEndpoint(i, 2));
    for (const [i, e] of wanted.entries()) {
      const at = `${e.localAddress}:${e.localPort}`;
      if (i === 1 && blocked) {
        expect(peers).not.toContain(at);
        expect(peers.some((p) => p.startsWith('127.0.0.2:'))).toBe(true);
      } else expect(peers).toContain(at);
    }
    expect(peers).toHaveLength(5);
  });
});
