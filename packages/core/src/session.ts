import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Identity } from './authenticator';
import { CloseCode, CloseReason } from './constants';
import type { Frame } from './frame';
import { encodeTextFrame } from './websocket-frame';
import type { WriteCoalescer } from './write-coalescer';

/** What a session needs from the gateway that owns it. @internal */
export interface SessionHost {
  readonly maxBufferedBytes: number;
  readonly dropWhenSlow: boolean;
  readonly writer: WriteCoalescer;
  identityChanged(session: WebSocketSession, before: IdentitySnapshot): void;
  slowConsumer(session: WebSocketSession): void;
  sent(bytes: number): void;
  dropped(): void;
}

/** A session's identity at one moment, for re-indexing. @internal */
export interface IdentitySnapshot {
  userId: string | null;
  tenantId: string | null;
  roles: readonly string[];
  permissions: readonly string[];
}

const OPEN = 1;

/**
 * One client connection: who it is, what it is subscribed to, and how to reach it.
 * Created by the gateway; applications get it in handlers, middleware and hooks.
 */
export class WebSocketSession {
  /** Unique id of this session, sent in `welcome`. */
  readonly sessionId: string;
  /** The client address. */
  readonly remoteAddress: string;
  /** When the session opened, ms since the epoch. */
  readonly connectedAt: number;
  /** The underlying `ws` socket. Prefer the methods of the session. */
  readonly socket: WebSocket;
  /** The negotiated subprotocol (`dotmac.v1`) or `''`. */
  readonly protocol: string;

  #userId: string | null = null;
  #tenantId: string | null;
  #roles: readonly string[] = [];
  #permissions: readonly string[] = [];
  #extra: Record<string, unknown> = {};
  #authenticated = false;
  #expiresAt: number | null = null;
  readonly #host: SessionHost;
  /** The TCP socket under the WebSocket: frames are written to it directly. */
  readonly #raw: Duplex;
  /** @internal client channel name -> internal channel name */
  readonly subscriptions = new Map<string, string>();
  /** @internal ms since the epoch of the last frame or pong */
  lastSeenAt: number;
  /** @internal rate_limited refusals in a row */
  refusedInARow = 0;
  /** @internal set once the gateway began closing this session */
  closing = false;

  /** @internal */
  constructor(init: {
    sessionId: string;
    socket: WebSocket;
    raw: Duplex;
    remoteAddress: string;
    tenantId: string | null;
    host: SessionHost;
  }) {
    this.sessionId = init.sessionId;
    this.socket = init.socket;
    this.#raw = init.raw;
    this.remoteAddress = init.remoteAddress;
    this.#tenantId = init.tenantId;
    this.#host = init.host;
    this.connectedAt = Date.now();
    this.lastSeenAt = this.connectedAt;
    this.protocol = init.socket.protocol;
  }

  /** The user id, once authenticated or set with {@link setUserInfo}. */
  get userId(): string | null {
    return this.#userId;
  }
  /** The tenant, from the handshake, the token or {@link setUserInfo}. */
  get tenantId(): string | null {
    return this.#tenantId;
  }
  /** The user's roles. */
  get roles(): readonly string[] {
    return this.#roles;
  }
  /** The user's permissions. */
  get permissions(): readonly string[] {
    return this.#permissions;
  }
  /** Whatever the application attached (`Identity.extra`, {@link setUserInfo}). */
  get extra(): Readonly<Record<string, unknown>> {
    return this.#extra;
  }
  /** True once a token was verified (or {@link setUserInfo} set a user). */
  get isAuthenticated(): boolean {
    return this.#authenticated;
  }
  /** When the session's token expires, ms since the epoch, or null. */
  get expiresAt(): number | null {
    return this.#expiresAt;
  }
  /** The channels this session is subscribed to, as the client names them. */
  get channels(): string[] {
    return [...this.subscriptions.keys()];
  }
  /** True while the socket is open and the gateway is not closing it. */
  get isOpen(): boolean {
    return !this.closing && this.socket.readyState === OPEN;
  }
  /** Bytes queued for this session and not yet written to the network. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /**
   * Sends `{type, data}` to this client. Returns false when it was not sent (closed, or
   * dropped as a slow consumer).
   */
  sendMessage(type: string, data?: unknown): boolean {
    return this.send({ type, data: data ?? null });
  }

  /** Sends one frame. Returns false when it was not sent. */
  send(frame: Frame): boolean {
    return this.sendRaw(Buffer.from(JSON.stringify(frame)));
  }

  /** Sends one serialized frame (a JSON text). Returns false when it was not sent. */
  sendRaw(payload: Buffer): boolean {
    if (!this.#admit(payload.length)) return false;
    this.#host.writer.write(this.#raw, encodeTextFrame(payload));
    this.#host.sent(payload.length);
    return true;
  }

  /**
   * Writes an already framed WebSocket text frame (the broadcast path: serialized and framed
   * once, written to many). Counting is left to the caller, once per broadcast. @internal
   */
  writeFramed(frame: Buffer): boolean {
    if (!this.#admit(frame.length)) return false;
    this.#host.writer.write(this.#raw, frame);
    return true;
  }

  /** Applies the open check and the outbound buffer limit to `bytes` about to be written. */
  #admit(bytes: number): boolean {
    if (this.closing || this.socket.readyState !== OPEN) return false;
    if (this.socket.bufferedAmount + bytes > this.#host.maxBufferedBytes) {
      if (this.#host.dropWhenSlow) {
        this.#host.dropped();
        return false;
      }
      this.#host.slowConsumer(this);
      this.close(CloseCode.SlowConsumer);
      return false;
    }
    return true;
  }

  /** Closes the session with a close code from protocol.md and its reason text. */
  close(code: number = CloseCode.Normal, reason?: string): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.close(code, reason ?? CloseReason[code as CloseCode] ?? '');
  }

  /**
   * Sets who this session is, e.g. from an application's own authentication. Marks the
   * session authenticated when `userId` is not null, and re-indexes it for user, tenant,
   * role and permission broadcasts.
   */
  setUserInfo(
    userId: string | null,
    tenantId: string | null,
    extra: { roles?: readonly string[]; permissions?: readonly string[]; [key: string]: unknown } = {},
  ): void {
    const { roles, permissions, ...rest } = extra;
    this.applyIdentity({ userId, tenantId, roles, permissions, extra: rest }, userId !== null);
  }

  /** @internal Applies a verified identity (or clears it, with a null user). */
  applyIdentity(identity: Omit<Identity, 'userId'> & { userId: string | null }, authenticated = true): void {
    const before = this.snapshot();
    this.#userId = identity.userId;
    if (identity.tenantId !== undefined) this.#tenantId = identity.tenantId;
    this.#roles = Object.freeze([...(identity.roles ?? [])]);
    this.#permissions = Object.freeze([...(identity.permissions ?? [])]);
    this.#extra = { ...(identity.extra ?? {}) };
    this.#expiresAt = identity.expiresAt ?? null;
    this.#authenticated = authenticated;
    this.#host.identityChanged(this, before);
  }

  /** @internal */
  snapshot(): IdentitySnapshot {
    return {
      userId: this.#userId,
      tenantId: this.#tenantId,
      roles: this.#roles,
      permissions: this.#permissions,
    };
  }

  /** A plain summary for logs and stats; never holds a token. */
  toJSON(): Record<string, unknown> {
    return {
      session_id: this.sessionId,
      user_id: this.#userId,
      tenant_id: this.#tenantId,
      authenticated: this.#authenticated,
      remote_address: this.remoteAddress,
      connected_at: new Date(this.connectedAt).toISOString(),
      channels: this.subscriptions.size,
    };
  }
}
