import net from 'node:net';
import { onCleanup } from '@dotmac-ws/test-utils';

/** A raw TCP client that upgraded and then stays silent. */
export interface SilentSocket {
  /** Resolves once the server ends the connection; rejects after `ms`. */
  ended(ms: number): Promise<void>;
}

/**
 * Opens a WebSocket connection by hand from `localAddress`, waits for the 101, and then never
 * sends another byte: no frames, and no reply to a close frame.
 */
export async function rawUpgrade(port: number, localAddress: string, path: string): Promise<SilentSocket> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  onCleanup(() => socket.destroy());
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let text = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no 101 within 3000 ms: ${text}`)), 3000);
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (text.startsWith('HTTP/1.1 101')) {
        clearTimeout(timer);
        resolve();
      } else if (text.includes('\r\n\r\n')) {
        clearTimeout(timer);
        reject(new Error(`refused: ${text}`));
      }
    });
    socket.once('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
  });
  return {
    ended: (ms) =>
      Promise.race([
        closed,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`the server did not end the socket within ${ms} ms`)), ms),
        ),
      ]),
  };
}
