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

/** A broker every machine runs on loopback (CI included). */
export interface SharedService {
  name: string;
  host: string;
  port: number;
}

/** The shared Redis at 127.0.0.1:6379. */
export const SHARED_REDIS: SharedService = { name: 'Redis', host: '127.0.0.1', port: 6379 };
/** The shared NATS at 127.0.0.1:4222. */
export const SHARED_NATS: SharedService = { name: 'NATS', host: '127.0.0.1', port: 4222 };

/**
 * Why tests that need `service` cannot run here, or false when it answers. Locally an absent
 * service skips them with the returned message; under CI=true it is a failure (this throws).
 */
export async function sharedServiceMissing(service: SharedService): Promise<string | false> {
  if (await isReachable(service.host, service.port)) return false;
  const where = `${service.name} at ${service.host}:${service.port}`;
  if (IN_CI) throw new Error(`CI=true and no ${where}: the tests that need it must run in CI`);
  return `no ${where} (start one to run these tests)`;
}
