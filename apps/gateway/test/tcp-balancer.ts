import net from 'node:net';
import { onCleanup } from '@dotmac-ws/test-utils';

/** A round-robin TCP balancer on 127.0.0.1, as nginx in front of several gateways. */
export interface TcpBalancer {
  port: number;
  /** Connections forwarded to each backend port so far. */
  readonly forwarded: ReadonlyMap<number, number>;
}

/**
 * Starts a balancer that hands each new connection to the next of `backends` (ports on
 * 127.0.0.1) and, when that one refuses, to the one after (at most one round); closed after the
 * test. A killed gateway thus stops getting connections, and its clients land on the survivors.
 */
export async function startTcpBalancer(backends: readonly number[]): Promise<TcpBalancer> {
  const forwarded = new Map<number, number>();
  const open = new Set<net.Socket>();
  let next = 0;
  const connectAny = (client: net.Socket, tries: number) => {
    if (tries >= backends.length || client.destroyed) {
      client.destroy();
      return;
    }
    const port = backends[next++ % backends.length]!;
    const upstream = net.connect(port, '127.0.0.1');
    upstream.once('connect', () => {
      forwarded.set(port, (forwarded.get(port) ?? 0) + 1);
      open.add(upstream);
      client.pipe(upstream);
      upstream.pipe(client);
      const end = () => {
        open.delete(upstream);
        client.destroy();
        upstream.destroy();
      };
      for (const s of [client, upstream]) {
        s.on('close', end);
        s.on('error', end);
      }
    });
    upstream.once('error', () => {
      if (!upstream.readyState.includes('open')) connectAny(client, tries + 1);
    });
  };
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => client.destroy());
    connectAny(client, 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, forwarded };
}
