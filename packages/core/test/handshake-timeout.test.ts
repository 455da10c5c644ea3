import net from 'node:net';
import { onCleanup, TestClient } from '@dotmac-ws/test-utils';
import { describe, expect, it } from 'vitest';
import type { Authenticator } from '../src/index';
import { startTestGateway } from './helpers';

/** What a raw connection saw: when the server closed it (ms after connecting, null: still open), and what it got. */
interface Held {
  closedAfterMs: number | null;
  text: string;
}

/**
 * Opens a raw TCP connection to `port`, calls `drive(socket)` once connected, and watches for
 * the server's close for at most `ms`.
 */
function hold(port: number, ms: number, drive: (socket: net.Socket) => void = () => {}): Promise<Held> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    onCleanup(() => socket.destroy());
    let text = '';
    let started = 0;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ closedAfterMs: closed ? Date.now() - started : null, text });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('connect', () => {
      started = Date.now();
      drive(socket);
    });
    socket.on('data', (d) => {
      text += d.toString('latin1');
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
  });
}

const TIMEOUT = 400;

describe('handshakeTimeoutMs', () => {
  it('closes a connection that sends nothing', async () => {
    const { port } = await startTestGateway({ handshakeTimeoutMs: TIMEOUT });
    const held = await hold(port, 5000);
    expect(held.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUT - 50);
    expect(held.closedAfterMs).toBeLessThan(TIMEOUT + 1500);
  });

  it('closes a connection that sends part of its headers and then nothing', async () => {
    const { port } = await startTestGateway({ handshakeTimeoutMs: TIMEOUT });
    const held = await hold(port, 5000, (s) => s.write('GET /ws HTTP/1.1\r\nHost: x\r\n'));
    expect(held.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUT - 50);
    expect(held.closedAfterMs).toBeLessThan(TIMEOUT + 1500);
  });

  it('closes a connection that trickles its headers, a byte at a time, with 408', async () => {
    const { port } = await startTestGateway({ handshakeTimeoutMs: TIMEOUT });
    const headers = `GET /ws HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(500)}`;
    let timer: NodeJS.Timeout | undefined;
    onCleanup(() => clearInterval(timer));
    const held = await hold(port, 5000, (s) => {
      let i = 0;
      // Never silent for long: only the headers' deadline can end it.
      timer = setInterval(() => {
        if (!s.destroyed) s.write(headers[i++ % headers.length] as string);
      }, 20);
    });
    expect(held.closedAfterMs).toBeGreaterThanOrEqual(TIMEOUT - 50);
    expect(held.closedAfterMs).toBeLessThan(TIMEOUT + 1500);
    expect(held.text.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('does not touch an upgraded session, a slow authenticator, or a slow HTTP answer', async () => {
    const slowAuth: Authenticator = {
      authenticate: (token) =>
        new Promise((resolve) =>
          setTimeout(
            () => resolve({ userId: token, tenantId: null, roles: [], permissions: [], expiresAt: null }),
            3 * TIMEOUT,
          ),
        ),
    };
    const { url, base } = await startTestGateway({
      handshakeTimeoutMs: TIMEOUT,
      heartbeatMs: 60_000,
      authenticator: slowAuth,
      httpFallback: (_req, res) => {
        setTimeout(() => res.end('late'), 3 * TIMEOUT);
      },
    });
    const idle = await TestClient.open(url);
    await idle.welcome();
    const late = await TestClient.open(url, { headers: { Authorization: 'Bearer alice' } });
    expect((await late.welcome()).data).toMatchObject({ authenticated: true, user_id: 'alice' });
    const answer = await fetch(`${base}/slow`);
    expect(await answer.text()).toBe('late');
    await new Promise((resolve) => setTimeout(resolve, 3 * TIMEOUT));
    expect((await idle.request({ type: 'ping', id: 1 })).type).toBe('pong');
    expect((await late.request({ type: 'ping', id: 2 })).type).toBe('pong');
  });

  it('is checked at construction', async () => {
    const { WebSocketGateway } = await import('../src/index');
    expect(() => new WebSocketGateway({ handshakeTimeoutMs: 10 })).toThrow(
      /handshakeTimeoutMs is 10 when it must be an integer from 100 to 3600000/,
    );
  });
});
