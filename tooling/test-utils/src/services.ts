import net from 'node:net';

/**
 * True when something accepts TCP connections at host:port. Backend tests use it to skip with
 * a clear message where Redis or NATS is absent locally; under CI=true they must fail instead.
 */
export function isReachable(host: string, port: number, ms = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** True when the tests run in CI, where an absent service is a failure rather than a skip. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
