// Small helpers the bench's sections share: a free port, whether a port answers, a pause.
import net from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listens on (now). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** True when something accepts a TCP connection on 127.0.0.1:`port` within 300 ms. */
export function reachable(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(300, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `port` answers, or throws after `timeoutMs` or once `exited()` says the process ended. */
export async function waitForPort(port, what, exited, stderr, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await reachable(port))) {
    if (exited() || Date.now() > deadline) {
      throw new Error(`${what} did not start: ${stderr().slice(0, 500)}`);
    }
    await sleep(50);
  }
}
