import type { SinceOffset } from '@dotmac-ws/client';
import WebSocket from 'ws';
import type { Dialect } from './dialect';
import type { TokenVia } from './options';
import { type DecodedPayload, decodePayload } from './payload';
import { isAckFrame, readOffset } from './positioned-frame';

/** How to open one load connection. */
export interface OpenOptions {
  url: string;
  dialect: Dialect;
  /** Source address to bind (spreads connections past one address's ephemeral ports). */
  localAddress?: string | undefined;
  /**
   * Source port to bind with `localAddress`; when it is taken (`EADDRINUSE`, or
   * `EADDRNOTAVAIL` for a connection to the same server that still holds it), the connection
   * is opened once more from a port the system picks.
   */
  localPort?: number | undefined;
  token?: string | null;
  tokenVia?: TokenVia;
  /** Time allowed from connecting to the dialect's ready frame. */
  timeoutMs: number;
  /**
   * Deliveries carry offsets (channels with history): each delivery's offset is read, and
   * `ack` frames (which may hold recovered publications) are never taken for deliveries.
   * @default false
   */
  positioned?: boolean;
}

/** Why a connection did not become ready: `http_401`, `timeout`, `ECONNREFUSED`, `closed_4401`… */
export class ConnectFailure extends Error {
  override readonly name = 'ConnectFailure';
  constructor(readonly reason: string) {
    super(`connection failed: ${reason}`);
  }
}

/** Why binding a chosen source port failed: the port is someone else's (see {@link OpenOptions.localPort}). */
const PORT_TAKEN: ReadonlySet<string> = new Set(['EADDRINUSE', 'EADDRNOTAVAIL']);

/**
 * Called with the reply to a request: `code` is null when it succeeded, else the error code;
 * `data` is what the reply carried (the ack's `data`).
 */
export type ReplyCallback = (code: string | null, data?: unknown) => void;

/**
 * One lean WebSocket connection of the runner: no reconnects, no queue, no per-message
 * allocation on the delivery path. Deliveries are found in the raw frame by their payload
 * marker and handed to {@link onPayload}; other frames are read by the dialect.
 */
export class LoadConnection {
  /**
   * Receives every delivery that carries a load payload (the object is reused: copy what you
   * keep) and its offset: -1 unless the connection is {@link OpenOptions.positioned} and the
   * delivery has one.
   */
  onPayload: ((payload: DecodedPayload, offset: number) => void) | null = null;
  /** Receives error codes of error frames that answer no request. */
  onErrorFrame: ((code: string) => void) | null = null;
  /** Called once when a ready connection closes (not after {@link close}). */
  onClose: ((code: number) => void) | null = null;
  readonly #ws: WebSocket;
  readonly #dialect: Dialect;
  readonly #positioned: boolean;
  readonly #pending = new Map<number, ReplyCallback>();
  #nextId = 1;
  #markerAt = -1;
  #closing = false;
  #onReady: (() => void) | null = null;
  #onRefused: ((code: string) => void) | null = null;

  private constructor(ws: WebSocket, dialect: Dialect, positioned: boolean) {
    this.#ws = ws;
    this.#dialect = dialect;
    this.#positioned = positioned;
    ws.on('message', (data: Buffer) => this.#receive(data));
  }

  /** Opens a connection and resolves once the server says it is ready; rejects with {@link ConnectFailure}. */
  static open(o: OpenOptions): Promise<LoadConnection> {
    if (o.localPort === undefined) return LoadConnection.#open(o);
    return LoadConnection.#open(o).catch((error: unknown) => {
      if (error instanceof ConnectFailure && PORT_TAKEN.has(error.reason)) {
        return LoadConnection.#open({ ...o, localPort: undefined });
      }
      throw error;
    });
  }

  static #open(o: OpenOptions): Promise<LoadConnection> {
    return new Promise((resolve, reject) => {
      const url = new URL(o.dialect.url(o.url));
      const protocols = [...o.dialect.protocols];
      const headers: Record<string, string> = {};
      if (o.token) {
        if (o.tokenVia === 'header') headers.Authorization = `Bearer ${o.token}`;
        else if (o.tokenVia === 'subprotocol') protocols.push(`bearer.${o.token}`);
        else url.searchParams.set('token', o.token);
      }
      const ws = new WebSocket(url, protocols, {
        perMessageDeflate: false,
        skipUTF8Validation: true,
        followRedirects: false,
        handshakeTimeout: o.timeoutMs,
        headers,
        ...(o.localAddress === undefined ? {} : { localAddress: o.localAddress }),
        ...(o.localPort === undefined ? {} : { localPort: o.localPort }),
      });
      const conn = new LoadConnection(ws, o.dialect, o.positioned === true);
      let settled = false;
      const fail = (reason: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.#closing = true;
        ws.terminate();
        reject(new ConnectFailure(reason));
      };
      const timer = setTimeout(() => fail('timeout'), o.timeoutMs);
      conn.#onReady = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(conn);
      };
      conn.#onRefused = fail;
      ws.on('unexpected-response', (_req, res) => {
        res.resume();
        fail(`http_${res.statusCode ?? 0}`);
      });
      ws.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? 'error'));
      ws.on('close', (code: number) => {
        if (!settled) return fail(`closed_${code}`);
        conn.#failPending(`closed_${code}`);
        if (!conn.#closing) conn.onClose?.(code);
      });
    });
  }

  /** True while the socket is open. */
  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Requests in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Subscribes to `channel`, recovering from `since` when given; `done` gets null or the error
   * code, and the ack's data.
   */
  subscribe(channel: string, done: ReplyCallback, since?: SinceOffset): void {
    const id = this.#nextId++;
    this.#request(id, this.#dialect.subscribe(id, channel, since), done);
  }

  /** Publishes `payload` on `channel`; `done` gets null or the error code. */
  publish(channel: string, payload: string, done: ReplyCallback): void {
    const id = this.#nextId++;
    this.#request(id, this.#dialect.publish(id, channel, payload), done);
  }

  /** Sends an echo request of `type`; `done` gets null or the error code. */
  echo(type: string, data: string, done: ReplyCallback): void {
    const id = this.#nextId++;
    this.#request(id, this.#dialect.request(id, type, data), done);
  }

  /** Closes normally; requests in flight get `closed`. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#ws.close(1000);
    // A server that never answers the close must not hold the run open.
    setTimeout(() => this.#ws.terminate(), 2000).unref();
  }

  /** Drops the TCP connection without a close handshake. */
  terminate(): void {
    this.#closing = true;
    this.#ws.terminate();
  }

  #request(id: number, text: string, done: ReplyCallback): void {
    if (this.#ws.readyState !== WebSocket.OPEN) {
      done('not_open');
      return;
    }
    this.#pending.set(id, done);
    this.#ws.send(text);
  }

  #failPending(code: string): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const done of pending) done(code);
  }

  #receive(data: Buffer): void {
    const onPayload = this.onPayload;
    if (onPayload !== null && !(this.#positioned && isAckFrame(data))) {
      const p = decodePayload(data, this.#markerAt);
      if (p !== null) {
        this.#markerAt = p.at;
        onPayload(p, this.#positioned ? readOffset(data) : -1);
        return;
      }
    }
    const inbound = this.#dialect.read(data);
    switch (inbound.kind) {
      case 'ready':
        this.#onReady?.();
        this.#onReady = null;
        return;
      case 'reply': {
        const done = this.#pending.get(inbound.id);
        if (done === undefined) {
          this.onErrorFrame?.('unexpected_reply');
          return;
        }
        this.#pending.delete(inbound.id);
        done(inbound.code, inbound.data);
        return;
      }
      case 'answer':
        this.#ws.send(inbound.text);
        return;
      case 'refused':
        if (this.#onReady !== null) this.#onRefused?.(inbound.code);
        else this.onErrorFrame?.(inbound.code);
        return;
      case 'error':
        this.onErrorFrame?.(inbound.code);
        return;
      default:
        return;
    }
  }
}
