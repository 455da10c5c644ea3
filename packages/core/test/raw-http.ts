import net from 'node:net';
import { onCleanup } from '@dotmac-ws/test-utils';

/** What a raw TCP exchange got back. */
export interface RawExchange {
  /** Everything the server sent. */
  text: string;
  /** The status line, e.g. `HTTP/1.1 400 Bad Request`. */
  statusLine: string;
  /** True when the server ended the connection within the wait (false: it was still open). */
  closedByServer: boolean;
}

/**
 * Sends `bytes` over a fresh TCP connection to 127.0.0.1:`port` and collects the answer until
 * the server closes the connection or `ms` pass (then the client closes it).
 */
export function rawExchange(port: number, bytes: string | Buffer, ms = 3000): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    onCleanup(() => socket.destroy());
    let text = '';
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, statusLine: text.split('\r\n')[0] ?? '', closedByServer });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (error) => {
      if (text.length > 0) finish(true);
      else if (!done) {
        done = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('connect', () => socket.write(bytes));
  });
}

/** A WebSocket upgrade request for `target`, with every header a valid handshake needs. */
export function upgradeRequest(target: string, extraHeaders: Record<string, string> = {}): string {
  const headers: Record<string, string> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...extraHeaders,
  };
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
  return `GET ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`;
}

/** The JSON body of a raw HTTP answer. */
export function bodyOf(exchange: RawExchange): unknown {
  const at = exchange.text.indexOf('\r\n\r\n');
  return JSON.parse(exchange.text.slice(at + 4));
}
