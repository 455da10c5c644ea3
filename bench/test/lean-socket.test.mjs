import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { LeanSocket } from '../lib/lean-socket.mjs';
import { freePort, sleep } from '../lib/net-util.mjs';

const servers = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
});

/** A ws server on a free port; `onConnection(socket)` for each client. */
async function server(onConnection, options = {}) {
  const port = await freePort();
  const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws', ...options });
  servers.push(wss);
  wss.on('connection', onConnection);
  await once(wss, 'listening');
  return `ws://127.0.0.1:${port}/ws`;
}

/** Connects and collects every message as a string until `count` came (at most 5 s). */
async function receive(url, count) {
  const socket = await LeanSocket.connect(url, { protocol: 'dotmac.v1', timeoutMs: 5000 });
  const got = [];
  socket.onMessage = (data) => got.push(data.toString());
  for (let i = 0; i < 500 && got.length < count; i++) await sleep(10);
  return { socket, got };
}

describe('LeanSocket', () => {
  it('reads frames of every length encoding, fragmented ones and the bytes that came with the 101', async () => {
    const long = 'x'.repeat(70_000);
    const mid = 'y'.repeat(300);
    const url = await server((ws) => {
      ws.send('welcome');
      ws.send(mid);
      ws.send(long);
      ws.send('frag-', { fin: false });
      ws.send('ment', { fin: true });
    });
    const { socket, got } = await receive(url, 4);
    expect(got).toEqual(['welcome', mid, long, 'frag-ment']);
    socket.terminate();
  });

  it('sends masked text frames the server reads, offers the subprotocol and answers pings', async () => {
    const received = [];
    let protocol = null;
    let ponged = false;
    const url = await server((ws, req) => {
      protocol = req.headers['sec-websocket-protocol'];
      ws.on('message', (data) => received.push(data.toString()));
      ws.on('pong', (data) => {
        ponged = data.toString() === 'p1';
      });
      ws.ping('p1');
    });
    const socket = await LeanSocket.connect(url, { protocol: 'dotmac.v1', timeoutMs: 5000 });
    socket.send('short');
    socket.send('z'.repeat(1000));
    for (let i = 0; i < 500 && (received.length < 2 || !ponged); i++) await sleep(10);
    expect(protocol).toBe('dotmac.v1');
    expect(received).toEqual(['short', 'z'.repeat(1000)]);
    expect(ponged).toBe(true);
    socket.terminate();
  });

  it('calls onClose once when the server closes, and not after terminate()', async () => {
    const url = await server((ws) => setTimeout(() => ws.close(1000), 50));
    const a = await LeanSocket.connect(url, { protocol: 'dotmac.v1', timeoutMs: 5000 });
    let closes = 0;
    a.onClose = () => closes++;
    for (let i = 0; i < 300 && closes === 0; i++) await sleep(10);
    expect(closes).toBe(1);
    expect(a.closed).toBe(true);

    const b = await LeanSocket.connect(url, { protocol: 'dotmac.v1', timeoutMs: 5000 });
    let bCloses = 0;
    b.onClose = () => bCloses++;
    b.terminate();
    await sleep(200);
    expect(bCloses).toBe(0);
  });

  it('rejects with the HTTP status of a refused upgrade, or the socket error', async () => {
    const url = await server(() => {}, { verifyClient: (_info, done) => done(false, 401) });
    await expect(LeanSocket.connect(url, { protocol: 'dotmac.v1', timeoutMs: 5000 })).rejects.toBe(
      'http_401',
    );
    const port = await freePort();
    await expect(
      LeanSocket.connect(`ws://127.0.0.1:${port}/ws`, { protocol: 'dotmac.v1', timeoutMs: 5000 }),
    ).rejects.toBe('ECONNREFUSED');
  });
});
