import type { WebSocket } from 'ws';
import type { Identity } from './authenticator';
import type { Frame } from './frame';

/** What a session reads and asks of the connection behind it. @internal */
export interface SessionCore {
  readonly sessionId: string;
  readonly socket: WebSocket;
  readonly remoteAddress: string;
  readonly connectedAt: number;
  readonly userId: string | null;
  readonly tenantId: string | null;
  readonly roles: readonly string[];
  readonly permissions: readonly string[];
  readonly extra: Readonly<Record<string, unknown>>;
  readonly state: Map<string, unknown>;
  readonly authenticated: boolean;
  readonly expiresAt: number | null;
  readonly refusedInARow: number;
  readonly closing: boolean;
  readonly subscriptions: ReadonlyMap<string, string>;
  sendRaw(payload: Buffer): boolean;
  close(code?: number, reason?: string): void;
  applyIdentity(identity: Omit<Identity, 'userId'> & { userId: string | null }, authenticated: boolean): void;
}

const OPEN = 1;

/**
 * One client connection as applications see it: who it is, what it is subscribed to, and how
 * to reach it. Created by the gateway; applications get it in handlers, middleware and hooks.
 * The state behind it (inbound queue, timers, indexes) belongs to the gateway's connection.
 */
export class WebSocketSession {
  readonly #c: SessionCore;

  /** @internal */
  constructor(core: SessionCore) {
    this.#c = core;
  }

  /** Unique id of this session, sent in `welcome`. */
  get sessionId(): string {
    return this.#c.sessionId;
  }
  /** The client address. */
  get remoteAddress(): string {
    return this.#c.remoteAddress;
  }
  /** When the session opened, ms since the epoch. */
  get connectedAt(): number {
    return this.#c.connectedAt;
  }
  /** The underlying `ws` socket. Prefer the methods of the session. */
  get socket(): WebSocket {
    return this.#c.socket;
  }
  /** The negotiated subprotocol (`dotmac.v1`) or `''`. */
  get protocol(): string {
    return this.#c.socket.protocol;
  }
  /** The user id, once authenticated or set with {@link setUserInfo}. */
  get userId(): string | null {
    return this.#c.userId;
  }
  /** The tenant, from the handshake, the token or {@link setUserInfo}. */
  get tenantId(): string | null {
    return this.#c.tenantId;
  }
  /** The user's roles. */
  get roles(): readonly string[] {
    return this.#c.roles;
  }
  /** The user's permissions. */
  get permissions(): readonly string[] {
    return this.#c.permissions;
  }
  /** Whatever the application attached (`Identity.extra`, {@link setUserInfo}). */
  get extra(): Readonly<Record<string, unknown>> {
    return this.#c.extra;
  }
  /**
   * Per-session state for middleware and packages, anonymous sessions included: the map its
   * connection middleware saw at the handshake (`ctx.state`), kept for the session's life and
   * across an in-band `auth` (unlike `extra`, which the new identity replaces).
   */
  get state(): Map<string, unknown> {
    return this.#c.state;
  }
  /** True once a token was verified (or {@link setUserInfo} set a user). */
  get isAuthenticated(): boolean {
    return this.#c.authenticated;
  }
  /** When the session's token expires, ms since the epoch, or null. */
  get expiresAt(): number | null {
    return this.#c.expiresAt;
  }
  /**
   * Frames refused with `rate_limited` in a row before the current one (0 after any frame
   * that was not); `rateLimitCloseAfter` of them close the session with 4429.
   */
  get refusedInARow(): number {
    return this.#c.refusedInARow;
  }
  /** The channels this session is subscribed to, as the client names them. */
  get channels(): string[] {
    return [...this.#c.subscriptions.keys()];
  }
  /** True while the socket is open and the gateway is not closing it. */
  get isOpen(): boolean {
    return !this.#c.closing && this.#c.socket.readyState === OPEN;
  }
  /** Bytes queued for this session and not yet written to the network. */
  get bufferedAmount(): number {
    return this.#c.socket.bufferedAmount;
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
    return this.#c.sendRaw(Buffer.from(JSON.stringify(frame)));
  }

  /** Sends one serialized frame (a JSON text). Returns false when it was not sent. */
  sendRaw(payload: Buffer): boolean {
    return this.#c.sendRaw(payload);
  }

  /** Closes the session with a close code from protocol.md and its reason text. */
  close(code?: number, reason?: string): void {
    this.#c.close(code, reason);
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
    this.#c.applyIdentity({ userId, tenantId, roles, permissions, extra: rest }, userId !== null);
  }

  /** A plain summary for logs and stats; never holds a token. */
  toJSON(): Record<string, unknown> {
    const c = this.#c;
    return {
      session_id: c.sessionId,
      user_id: c.userId,
      tenant_id: c.tenantId,
      authenticated: c.authenticated,
      remote_address: c.remoteAddress,
      connected_at: new Date(c.connectedAt).toISOString(),
      channels: c.subscriptions.size,
    };
  }
}
