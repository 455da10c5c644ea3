import net from 'node:net';
import { onCleanup } from '@dotmac-ws/test-utils';

/** A TCP proxy to 127.0.0.1:`targetPort` whose open connections can be frozen (a dead link). */
export interface FreezableProxy {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stops forwarding on every open connection, without closing it: both peers hear nothing. */
  freeze(): void;
}

/** Starts a proxy on 127.0.0.1, closed after the test. */
export async function startFreezableProxy(targetPort: number): Promise<FreezableProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket; frozen: boolean }>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair = { client, upstream, frozen: false };
    pairs.add(pair);
    client.on('data', (chunk) => {
      if (!pair.frozen) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!pair.frozen) client.write(chunk);
    });
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.on('close', end);
      s.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const p of pairs) {
          p.client.destroy();
          p.upstream.destroy();
        }
        server.close(() => resolve());
      }),
  );
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    freeze() {
      for (const p of pairs) p.frozen = true;
    },
  };
}
