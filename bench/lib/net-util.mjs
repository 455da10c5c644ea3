// Small helpers the bench's sections share: a free port, whether a port answers, a pause.
import { readFileSync } from 'node:fs';
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

/**
 * The kernel's count of connections dropped because a listen queue was full
 * (`TcpExt: ListenOverflows` in /proc/net/netstat; machine-wide), or null off Linux.
 */
export function listenOverflows() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i++) {
      if (!lines[i].startsWith('TcpExt:') || !lines[i + 1].startsWith('TcpExt:')) continue;
      const names = lines[i].split(/\s+/);
      const values = lines[i + 1].split(/\s+/);
      const at = names.indexOf('ListenOverflows');
      return at < 0 ? null : Number(values[at]);
    }
  } catch {}
  return null;
}
