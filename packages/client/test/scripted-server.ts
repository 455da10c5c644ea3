import type { AddressInfo } from 'node:net';
import { onCleanup, waitUntil } from '@dotmac-ws/test-utils';
import { type WebSocket, WebSocketServer } from 'ws';

/** A frame the client sent, as parsed JSON. */
export interface SentFrame {
  type: string;
  id?: number;
  channel?: string;
  data?: Record<string, unknown>;
}

/** One connection of the scripted server. */
export interface ScriptedConnection {
  readonly index: number;
  readonly socket: WebSocket;
  /** Every frame the client sent on this connection, in order. */
  readonly frames: SentFrame[];
  send(frame: object): void;
  /** Answers the request `frame` with an ack carrying `data`. */
  ack(frame: SentFrame, data: object): void;
  /** Drops the TCP connection without a close frame (the client sees 1006 and reconnects). */
  drop(): void;
}

/**
 * A WebSocket server on 127.0.0.1:0 that speaks only what a test scripts: it sends `welcome`,
 * answers `ping`, and hands every other frame to `onFrame`, so a test can send acks, deliveries
 * and pushes in the exact order an edge case needs.
 */
export async function startScriptedServer(
  onFrame: (connection: ScriptedConnection, frame: SentFrame) => void = () => undefined,
) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  const connections: ScriptedConnection[] = [];
  wss.on('connection', (socket) => {
    const connection: ScriptedConnection = {
      index: connections.length,
      socket,
      frames: [],
      send: (frame) => socket.send(JSON.stringify(frame)),
      ack: (frame, data) => connection.send({ type: 'ack', id: frame.id, data }),
      drop: () => socket.terminate(),
    };
    connections.push(connection);
    socket.on('message', (raw) => {
      const frame = JSON.parse(String(raw)) as SentFrame;
      connection.frames.push(frame);
      if (frame.type === 'ping') connection.send({ type: 'pong', id: frame.id, data: frame.data ?? null });
      else onFrame(connection, frame);
    });
    connection.send({
      type: 'welcome',
      data: {
        session_id: `s${connection.index}`,
        protocol: 1,
        node_id: 'scripted',
        authenticated: false,
        user_id: null,
        tenant_id: null,
        heartbeat_ms: 25_000,
      },
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    connections,
    /** Resolves with connection `index` once it exists. */
    async connection(index: number): Promise<ScriptedConnection> {
      await waitUntil(() => connections.length > index, 5000, `connection ${index}`);
      return connections[index] as ScriptedConnection;
    },
    /** Resolves with the next frame of `type` the client sends on `connection` (from the `from`-th on). */
    async frame(connection: ScriptedConnection, type: string, from = 0): Promise<SentFrame> {
      let found: SentFrame | undefined;
      await waitUntil(
        () => {
          found = connection.frames.slice(from).find((f) => f.type === type);
          return found !== undefined;
        },
        5000,
        `a "${type}" frame on connection ${connection.index}`,
      );
      return found as SentFrame;
    },
  };
}
