import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryBackend, MemoryBus, silentLogger, WebSocketGateway } from '@dotmac-ws/core';
import { onCleanup } from '@dotmac-ws/test-utils';
import { Server as SocketIoServer } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { type LoadOptions, runLoad } from '../src/index';

async function gateway(
  options: ConstructorParameters<typeof WebSocketGateway>[0] = {},
): Promise<WebSocketGateway> {
  const gw = new WebSocketGateway({
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    clientPublish: true,
    ...options,
  });
  await gw.start();
  onCleanup(() => gw.stop());
  return gw;
}
const urlOf = (gw: WebSocketGateway) => `ws://127.0.0.1:${gw.address()!.port}/ws`;
const quick: LoadOptions = { durationSec: 1, drainMs: 2000 };

/**
 * A bare server of the gateway's protocol that misdelivers on purpose: subscriber 0 never gets
 * message 5, subscriber 1 gets message 7 twice, subscriber 2 gets 11 before 10.
 */
async function misdeliveringServer(): Promise<string> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => wss.once('listening', r));
  onCleanup(() => new Promise((r) => wss.close(r)));
  const subscribers: { ws: WebSocket; n: number; held: string | null }[] = [];
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ type: 'welcome', data: { session_id: 's', protocol: 1 } }));
    ws.on('message', (raw) => {
      const f = JSON.parse(String(raw));
      if (f.type === 'subscribe') subscribers.push({ ws, n: 0, held: null });
      if (f.type === 'publish') {
        const out = JSON.stringify({ type: 'message', channel: f.channel, data: f.data });
        subscribers.forEach((s, i) => {
          const k = s.n++;
          if (i === 0 && k === 5) return;
          if (i === 2 && k === 10) {
            s.held = out;
            return;
          }
          s.ws.send(out);
          if (i === 1 && k === 7) s.ws.send(out);
          if (i === 2 && k === 11 && s.held !== null) s.ws.send(s.held);
        });
      }
      ws.send(JSON.stringify({ type: 'ack', id: f.id, data: {} }));
    });
  });
  onCleanup(() => {
    for (const c of wss.clients) c.terminate();
  });
  return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`;
}

describe('runLoad', () => {
  it('counts exactly the messages a server loses, duplicates and reorders', async () => {
    const url = await misdeliveringServer();
    const r = await runLoad({ ...quick, urls: [url], connections: 3, rate: 40, maxLoss: 0 });
    expect(r.messages.sent).toBeGreaterThan(12);
    expect(r.messages).toMatchObject({
      expected: r.messages.sent * 3,
      received: r.messages.sent * 3,
      lost: 1,
      duplicates: 1,
      outOfOrder: 1,
    });
    expect(r.slo).toEqual({ passed: false, checks: [{ name: 'lost', limit: 0, actual: 1, ok: false }] });
  });

  it('runs echo round trips against a handler of the gateway', async () => {
    const gw = await gateway();
    gw.addMessageHandler('echo', (_s, data) => data ?? null);
    const r = await runLoad({
      ...quick,
      scenario: 'echo',
      echoType: 'echo',
      urls: [urlOf(gw)],
      connections: 20,
      rate: 0,
    });
    expect(r.messages.sent).toBeGreaterThan(20);
    expect(r.messages).toMatchObject({ received: r.messages.sent, lost: 0, duplicates: 0, outOfOrder: 0 });
    expect(r.latencyMs.count).toBe(r.messages.received);
  });

  it('churns connections while messages flow and loses nothing on the steady subscribers', async () => {
    const gw = await gateway();
    const r = await runLoad({
      ...quick,
      durationSec: 2,
      scenario: 'churn',
      urls: [urlOf(gw)],
      connections: 30,
      churnConnections: 10,
      churnLifetimeMs: 200,
      rate: 100,
    });
    expect(r.churnCycles).toBeGreaterThanOrEqual(20);
    expect(r.messages.received).toBeGreaterThan(r.messages.expected);
    expect(r.messages).toMatchObject({ lost: 0, duplicates: 0, outOfOrder: 0 });
    expect(r.errors).toEqual({});
  });

  it('spreads subscribers over nodes of one cluster and publishes on another', async () => {
    const bus = new MemoryBus();
    const [a, b] = [
      await gateway({ backend: new MemoryBackend({ bus }) }),
      await gateway({ backend: new MemoryBackend({ bus }) }),
    ];
    const r = await runLoad({
      ...quick,
      scenario: 'multi-node',
      urls: [urlOf(a), urlOf(b)],
      connections: 40,
      channels: 4,
      publishers: 2,
      rate: 100,
    });
    expect(r.byUrl.map((u) => u.url)).toEqual([urlOf(a), urlOf(b)]);
    expect(r.byUrl[0]!.received).toBe(r.messages.expected / 2);
    expect(r.messages).toMatchObject({
      received: r.messages.expected,
      lost: 0,
      duplicates: 0,
      outOfOrder: 0,
    });
  });

  it('speaks Socket.IO to a Socket.IO server with rooms', async () => {
    const io = new SocketIoServer({ transports: ['websocket'] });
    io.on('connection', (socket) => {
      socket.on('subscribe', (room: string, ack: (r: object) => void) => {
        socket.join(room);
        ack({});
      });
      socket.on('publish', (m: { channel: string; data: string }, ack: (r: object) => void) => {
        io.to(m.channel).emit('message', m.channel, m.data);
        ack({});
      });
    });
    const server = createServer();
    io.attach(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onCleanup(() => new Promise((r) => io.close(r)));
    const port = (server.address() as AddressInfo).port;
    const r = await runLoad({
      ...quick,
      dialect: 'socket.io',
      urls: [`ws://127.0.0.1:${port}/`],
      connections: 25,
      rate: 0,
    });
    expect(r.messages.received).toBeGreaterThan(0);
    expect(r.messages).toMatchObject({ received: r.messages.expected, lost: 0, duplicates: 0 });
  });

  it('tells the caller each phase, in order, and waits for it', async () => {
    const gw = await gateway();
    const seen: string[] = [];
    await runLoad({
      ...quick,
      scenario: 'connect',
      urls: [urlOf(gw)],
      connections: 10,
      holdMs: 100,
      onPhase: async (p) => {
        seen.push(p);
        if (p === 'holding') expect(gw.getStats()).toMatchObject({ sessions: { total: 10 } });
      },
    });
    expect(seen).toEqual(['connected', 'measuring', 'holding', 'draining', 'done']);
  });
});
