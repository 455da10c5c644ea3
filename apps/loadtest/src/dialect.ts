import type {
  CustomFrame,
  ErrorData,
  FrameId,
  PingFrame,
  PublishFrame,
  SinceOffset,
  SubscribeFrame,
} from '@dotmac-ws/client';
import type { DialectName } from './options';

/** What an inbound frame that carries no load payload means to a connection. */
export type Inbound =
  /** The session is ready: `welcome`, or Socket.IO's namespace connect. */
  | { kind: 'ready' }
  /**
   * The reply to request `id`; `code` is the error code when it was refused, `data` what the
   * reply carried (the ack's `data`).
   */
  | { kind: 'reply'; id: number; code: string | null; data?: unknown }
  /** An error without a request id. */
  | { kind: 'error'; code: string }
  /** The dialect needs this text sent back (Socket.IO's open and heartbeat). */
  | { kind: 'answer'; text: string }
  /** The server refused the session after the upgrade. */
  | { kind: 'refused'; code: string }
  | { kind: 'other' };

/** How the runner speaks to one kind of server. */
export interface Dialect {
  readonly name: DialectName;
  /** Subprotocols offered besides a bearer token. */
  readonly protocols: readonly string[];
  /** The URL to open for a URL the user gave. */
  url(base: string): string;
  /** Reads a frame without a load payload. */
  read(frame: Buffer): Inbound;
  /** A `subscribe` request; `since` (v1.1) asks to recover what came after that position. */
  subscribe(id: number, channel: string, since?: SinceOffset): string;
  /** A `publish` request whose data is the payload string. */
  publish(id: number, channel: string, payload: string): string;
  /** An echo request of `type` carrying `data`. */
  request(id: number, type: string, data: string): string;
}

/** The subprotocol of the gateway's JSON protocol (docs/protocol.md). */
export const SUBPROTOCOL = 'dotmac.v1';

const dotmac: Dialect = {
  name: 'dotmac',
  protocols: [SUBPROTOCOL],
  url: (base) => base,
  read(frame) {
    let value: { type?: unknown; id?: FrameId; data?: unknown };
    try {
      value = JSON.parse(frame.toString());
    } catch {
      return { kind: 'other' };
    }
    if (value === null || typeof value !== 'object') return { kind: 'other' };
    switch (value.type) {
      case 'welcome':
        return { kind: 'ready' };
      case 'ack':
      case 'pong':
        return typeof value.id === 'number'
          ? { kind: 'reply', id: value.id, code: null, data: value.data }
          : { kind: 'other' };
      case 'error': {
        const code = String((value.data as ErrorData | undefined)?.code ?? 'error');
        return typeof value.id === 'number' ? { kind: 'reply', id: value.id, code } : { kind: 'error', code };
      }
      default:
        return { kind: 'other' };
    }
  },
  subscribe: (id, channel, since) =>
    JSON.stringify({
      type: 'subscribe',
      id,
      data: since === undefined ? { channel } : { channel, since },
    } satisfies SubscribeFrame),
  publish: (id, channel, payload) =>
    JSON.stringify({ type: 'publish', id, channel, data: payload } satisfies PublishFrame<string>),
  request: (id, type, data) =>
    JSON.stringify({ type, id, data } satisfies PingFrame<string> | CustomFrame<string>),
};

/**
 * Socket.IO v4 over its WebSocket transport, spoken directly (Engine.IO packets: `0` open,
 * `2`/`3` ping/pong, `4` message; Socket.IO packets inside: `0` connect, `2` event, `3` ack).
 * The peer server acks `subscribe`, `publish` and `echo` events with `{}` or `{error}`.
 */
const socketIo: Dialect = {
  name: 'socket.io',
  protocols: [],
  url(base) {
    const u = new URL(base);
    if (u.pathname === '/' || u.pathname === '') u.pathname = '/socket.io/';
    u.searchParams.set('EIO', '4');
    u.searchParams.set('transport', 'websocket');
    return u.toString();
  },
  read(frame) {
    const text = frame.toString();
    if (text === '2') return { kind: 'answer', text: '3' };
    if (text.startsWith('0{')) return { kind: 'answer', text: '40' };
    if (text.startsWith('40')) return { kind: 'ready' };
    if (text.startsWith('44')) return { kind: 'refused', code: 'connect_error' };
    if (text.startsWith('41')) return { kind: 'refused', code: 'disconnect' };
    if (text.startsWith('43')) {
      const open = text.indexOf('[');
      const id = Number(text.slice(2, open));
      if (open < 0 || !Number.isInteger(id)) return { kind: 'other' };
      let code: string | null = null;
      try {
        const args = JSON.parse(text.slice(open)) as unknown[];
        const first = args[0] as { error?: unknown } | null | undefined;
        if (first && typeof first === 'object' && first.error !== undefined) code = String(first.error);
      } catch {
        code = 'bad_ack';
      }
      return { kind: 'reply', id, code };
    }
    return { kind: 'other' };
  },
  // Socket.IO has no positions: `since` is never sent (the recovery scenario refuses this dialect).
  subscribe: (id, channel) => `42${id}${JSON.stringify(['subscribe', channel])}`,
  publish: (id, channel, payload) => `42${id}${JSON.stringify(['publish', { channel, data: payload }])}`,
  request: (id, _type, data) => `42${id}${JSON.stringify(['echo', data])}`,
};

/** The dialect called `name`. */
export function dialectFor(name: DialectName): Dialect {
  return name === 'socket.io' ? socketIo : dotmac;
}
