import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { Identity } from './authenticator';
import type { HeldDeliveries } from './channel-history';
import type { ChannelRegistry } from './channel-registry';
import type { ResolvedGatewayConfig } from './config';
import type { ConnectionEnd } from './connection-end';
import { CloseCode, CloseReason, PROTOCOL_VERSION } from './constants';
import type { DeadlineQueue } from './deadline-queue';
import type { GatewayEvents } from './gateway-events';
import type { HookRunner } from './hook-runner';
import { type SessionCore, WebSocketSession } from './session';
import type { IdentitySnapshot, SessionRegistry } from './session-registry';
import type { GatewayCounters } from './stats';
import { encodeTextFrame } from './websocket-frame';
import type { WriteCoalescer } from './write-coalescer';

/** What every connection of a node shares: configuration, registries, counters, the writer. @internal */
export interface ConnectionNode {
  readonly nodeId: string;
  readonly config: ResolvedGatewayConfig;
  readonly counters: GatewayCounters;
  /** Inbound frames read on this node and not yet handled (every connection's inbox). */
  readonly pendingInbound: { frames: number; bytes: number };
  readonly writer: WriteCoalescer;
  readonly sessions: SessionRegistry<Connection>;
  readonly channels: ChannelRegistry<Connection>;
  readonly hooks: HookRunner;
  /** Token expiries of every session (one timer for all; see {@link Connection.expiryDue}). */
  readonly expiries: DeadlineQueue<Connection>;
  /**
   * Reads and handles one inbound frame (the router); returns a promise only while the frame is
   * still being worked on after this turn (the next frame of the connection waits for it).
   */
  handleFrame(connection: Connection, text: string | null, bytes: number): Promise<void> | undefined;
  /** Subscribes the connection to the channels its identity names (server-side subscriptions). */
  subscribeIdentityChannels(connection: Connection, channels: readonly string[]): void;
  /** Takes the connection out of a channel (and its presence; after a grace period when it disconnected). */
  leaveChannel(connection: Connection, name: string, internal: string, disconnected: boolean): void;
  /** Application events (`gateway.on`). */
  readonly events: GatewayEvents;
  /** Called after a connection ended and left the registries (the drain waits on it). */
  gone(): void;
}

/** One inbound frame waiting to be handled; `text` is null for a binary frame. */
interface Inbound {
  text: string | null;
  bytes: number;
}

/**
 * How long one connection's frames may run in a row before the event loop gets a turn, and at
 * most how many. Each yield also ends the write coalescing of the turn: frames handled after it
 * go out in another system call per socket, so yielding after every 32 frames (as before) cost
 * every subscriber of a busy publisher one write per few messages instead of one per turn; a
 * time bound keeps a client whose frames are expensive from holding the loop for long.
 */
const TURN_BUDGET_MS = 4;
const FRAMES_PER_TURN = 256;
/** How often (in frames) the time budget is looked at. */
const BUDGET_CHECK_EVERY = 8;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const OPEN = 1;

/** Which step of a token's expiry the session waits in the node's expiry queue for. */
type ExpiryPhase = 'warn' | 'close';

/** What a connection takes from its handshake (not the request itself). @internal */
export interface HandshakeOutcome {
  ip: string;
  tenantId: string | null;
  identity: Identity | null;
  /** The connection middleware's state map, when it made one. */
  state: Map<string, unknown> | null;
}

/** Where a connection puts itself on its WebSocket, for the shared listeners below. */
const OWNER = Symbol('dotmac-ws.connection');
type OwnedWebSocket = WebSocket & { [OWNER]: Connection };

function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  (this as OwnedWebSocket)[OWNER].receive(data, isBinary);
}

function onSocketPong(this: WebSocket): void {
  (this as OwnedWebSocket)[OWNER].lastSeenAt = Date.now();
}

function onSocketError(this: WebSocket, error: Error): void {
  (this as OwnedWebSocket)[OWNER].socketError(error);
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as OwnedWebSocket)[OWNER].closed(code, reason.toString());
}

/** The roles or permissions of a session that has none (shared: most sessions have none). */
const NONE: readonly string[] = Object.freeze([]);

/** A frozen copy of `list` (the shared empty one when it is empty). */
function frozenCopy(list: readonly string[] | undefined): readonly string[] {
  return list === undefined || list.length === 0 ? NONE : Object.freeze([...list]);
}

/** The subscriptions of a connection that has none. */
const NO_SUBSCRIPTIONS: ReadonlyMap<string, string> = new Map();

/** What `welcome.data.features` lists when the channel policy can switch channel options on. */
const CHANNEL_FEATURES: readonly string[] = ['history', 'recovery', 'presence'];

/**
 * One open WebSocket connection and all of its state: who it is, its subscriptions, its
 * inbound queue and its bounds, its auth and expiry timers, and how frames are written to it.
 * The {@link WebSocketSession} applications see is a view of it. @internal
 */
export class Connection implements SessionCore {
  readonly session: WebSocketSession;
  readonly sessionId: string;
  readonly socket: WebSocket;
  readonly remoteAddress: string;
  readonly connectedAt: number;
  /** The connection's state map (`session.state`), made when first asked for. */
  #state: Map<string, unknown> | null;
  /** client channel name -> internal channel name; null until the first subscription. */
  #subscriptions: Map<string, string> | null = null;
  /**
   * Channels (internal names) whose deliveries are held while a subscribe with history is
   * answered; null when none (the common case, checked on the delivery path).
   */
  holds: Map<string, HeldDeliveries> | null = null;
  /** ms since the epoch of the last frame or pong */
  lastSeenAt: number;
  /** rate_limited refusals in a row */
  refusedInARow = 0;
  /** set once the gateway began closing this connection */
  closing = false;

  userId: string | null = null;
  tenantId: string | null;
  roles: readonly string[] = NONE;
  permissions: readonly string[] = NONE;
  extra: Record<string, unknown> = {};
  authenticated = false;
  expiresAt: number | null = null;

  /** The TCP socket under the WebSocket: frames are written to it directly. */
  readonly #raw: Duplex;
  readonly #node: ConnectionNode;
  /** The connection's `onClose` callbacks (run once, however often it ends). */
  readonly #end: ConnectionEnd;
  /** The handshake's verified identity, until `open()` applies it. */
  #identity: Identity | null;
  readonly #inbox: Inbound[] = [];
  #inboxBytes = 0;
  #processing = false;
  #paused = false;
  #authTimer: NodeJS.Timeout | undefined;
  /**
   * The session's place in the node's expiry queue (its bucket, or -1): waiting for the
   * `auth_expiring` warning, then for the close at expiry, of the token that expires at
   * `#expiryFor`.
   */
  #expiryKey = -1;
  #expiryPhase: ExpiryPhase = 'warn';
  #expiryFor = 0;

  constructor(init: {
    sessionId: string;
    socket: WebSocket;
    raw: Duplex;
    handshake: HandshakeOutcome;
    end: ConnectionEnd;
    node: ConnectionNode;
  }) {
    const handshake = init.handshake;
    this.sessionId = init.sessionId;
    this.socket = init.socket;
    this.#raw = init.raw;
    this.#state = handshake.state;
    this.remoteAddress = handshake.ip;
    this.tenantId = handshake.tenantId;
    this.#identity = handshake.identity;
    this.#end = init.end;
    this.#node = init.node;
    this.connectedAt = Date.now();
    this.lastSeenAt = this.connectedAt;
    this.session = new WebSocketSession(this);
  }

  /** Registers a callback run once when the connection ends (identity middleware's `onClose`). */
  get onClose(): (callback: () => void) => void {
    return this.#end.add;
  }

  /** Per-session state shared by middleware (see `session.state`). */
  get state(): Map<string, unknown> {
    this.#state ??= new Map();
    return this.#state;
  }

  /** client channel name -> internal channel name (an empty map until the first subscription). */
  get subscriptions(): ReadonlyMap<string, string> {
    return this.#subscriptions ?? NO_SUBSCRIPTIONS;
  }

  /** Records the subscription of `name` (the caller has joined `internal`). */
  addSubscription(name: string, internal: string): void {
    this.#subscriptions ??= new Map();
    this.#subscriptions.set(name, internal);
  }

  /** Forgets the subscription of `name`; false when there was none. */
  removeSubscription(name: string): boolean {
    return this.#subscriptions?.delete(name) ?? false;
  }

  /**
   * Opens the connection: applies the handshake identity, listens to the socket, sends
   * `welcome` (the first frame: nothing can reach the session before it is registered),
   * registers it and starts its auth and expiry timers.
   */
  open(): void {
    const node = this.#node;
    const config = node.config;
    const ws = this.socket;
    const identity = this.#identity;
    this.#identity = null;
    if (identity !== null) this.applyIdentity({ ...identity, tenantId: this.tenantId }, true);
    // Shared listeners that find this connection on the socket: no closures per connection.
    (ws as OwnedWebSocket)[OWNER] = this;
    ws.on('message', onSocketMessage);
    ws.on('pong', onSocketPong);
    ws.on('error', onSocketError);
    // `close` is emitted once.
    ws.on('close', onSocketClose);

    this.sendRaw(
      Buffer.from(
        JSON.stringify({
          type: 'welcome',
          data: {
            session_id: this.sessionId,
            protocol: PROTOCOL_VERSION,
            node_id: node.nodeId,
            authenticated: this.authenticated,
            user_id: this.userId,
            tenant_id: this.tenantId,
            heartbeat_ms: config.heartbeatMs,
            features: config.channelPolicy.options === undefined ? [] : CHANNEL_FEATURES,
          },
        }),
      ),
    );
    node.sessions.add(this);
    node.counters.connections_total++;
    if (identity !== null) this.subscribeIdentityChannels(identity);
    if (config.requireToken && !this.authenticated) {
      this.#authTimer = setTimeout(() => this.#authTimedOut(), config.authTimeoutMs);
    }
    this.#scheduleExpiry();
    node.hooks.call('onConnection', (h) => h.onConnection?.(this.session));
    node.events.emit('session.connected', { session: this.session });
  }

  // ---------------------------------------------------------------- writing frames

  /** Sends one serialized frame (a JSON text). Returns false when it was not sent. */
  sendRaw(payload: Buffer): boolean {
    if (!this.#admit(payload.length)) return false;
    const node = this.#node;
    node.writer.write(this.#raw, encodeTextFrame(payload));
    node.counters.messages_sent++;
    node.counters.bytes_sent += payload.length;
    return true;
  }

  /**
   * Writes an already framed WebSocket text frame (the broadcast path: serialized and framed
   * once, written to many). Counting is left to the caller, once per broadcast.
   */
  writeFramed(frame: Buffer): boolean {
    if (!this.#admit(frame.length)) return false;
    this.#node.writer.write(this.#raw, frame);
    return true;
  }

  /** Applies the open check and the outbound buffer limit to `bytes` about to be written. */
  #admit(bytes: number): boolean {
    if (this.closing || this.socket.readyState !== OPEN) return false;
    const node = this.#node;
    if (this.socket.bufferedAmount + bytes > node.config.maxBufferedBytes) {
      if (node.config.slowConsumerPolicy === 'drop') {
        node.counters.slow_consumer_drops++;
        return false;
      }
      node.counters.slow_consumer_disconnects++;
      node.hooks.call('onSlowConsumer', (h) => h.onSlowConsumer?.(this.session));
      node.config.logger.warn(
        { session_id: this.sessionId, buffered: this.socket.bufferedAmount },
        'slow consumer closed',
      );
      this.close(CloseCode.SlowConsumer);
      return false;
    }
    return true;
  }

  /** Closes with a close code from protocol.md and its reason text. */
  close(code: number = CloseCode.Normal, reason?: string): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.close(code, reason ?? CloseReason[code as CloseCode] ?? '');
  }

  /** Ends the socket at once, without a close handshake (heartbeat timeout, drain deadline). */
  terminate(): void {
    this.closing = true;
    this.socket.terminate();
  }

  // ---------------------------------------------------------------- identity

  /** Applies a verified identity (or clears it, with a null user) and re-indexes the connection. */
  applyIdentity(
    identity: Omit<Identity, 'userId'> & { userId: string | null },
    authenticated: boolean,
  ): void {
    const before = this.snapshot();
    this.userId = identity.userId;
    if (identity.tenantId !== undefined) this.tenantId = identity.tenantId;
    this.roles = frozenCopy(identity.roles);
    this.permissions = frozenCopy(identity.permissions);
    this.extra = { ...(identity.extra ?? {}) };
    this.expiresAt = identity.expiresAt ?? null;
    this.authenticated = authenticated;
    this.#node.sessions.reindex(this, before);
  }

  /**
   * Subscribes to the channels an identity names: `identity.channels`, else a `channels` claim
   * (an array of channel names) kept in `extra.claims`.
   */
  subscribeIdentityChannels(identity: Pick<Identity, 'channels' | 'extra'>): void {
    const claims = identity.extra?.claims as Record<string, unknown> | undefined;
    const named =
      identity.channels ?? (claims !== null && typeof claims === 'object' ? claims.channels : undefined);
    if (!Array.isArray(named) || named.length === 0) return;
    const channels = named.filter((c): c is string => typeof c === 'string');
    this.#node.subscribeIdentityChannels(this, channels);
  }

  /** Who the connection is now, for the registry's indexes. */
  snapshot(): IdentitySnapshot {
    return { userId: this.userId, tenantId: this.tenantId, roles: this.roles, permissions: this.permissions };
  }

  /** After an in-band `auth` succeeded: stops the auth timeout, re-arms the expiry timers. */
  authenticatedInBand(): void {
    clearTimeout(this.#authTimer);
    this.#authTimer = undefined;
    this.#scheduleExpiry();
  }

  #authTimedOut(): void {
    if (this.authenticated) return;
    // Say why (4401), then end the socket without waiting for the client's close frame:
    // a client that never answers must not hold its address's or tenant's quota.
    this.close(CloseCode.Unauthorized);
    const raw = this.#raw;
    const force = setTimeout(() => raw.destroy(), 1000);
    force.unref();
    raw.end(() => {
      clearTimeout(force);
      raw.destroy();
    });
  }

  /** Sends `auth_expiring` ahead of the token's expiry and closes with 4401 at expiry. */
  #scheduleExpiry(): void {
    this.#leaveExpiries();
    const expiresAt = this.expiresAt;
    if (expiresAt === null) return;
    const warnAt = expiresAt - this.#node.config.authExpiringLeadMs;
    if (warnAt <= Date.now()) this.#expiring(expiresAt);
    else this.#awaitExpiry(warnAt, expiresAt, 'warn');
  }

  /**
   * Waits in the node's expiry queue until `at` (ms since the epoch, at most one step of the
   * queue late), leaving any earlier place in it: for the warning first, then for the close.
   */
  #awaitExpiry(at: number, expiresAt: number, phase: ExpiryPhase): void {
    this.#leaveExpiries();
    this.#expiryPhase = phase;
    this.#expiryFor = expiresAt;
    this.#expiryKey = this.#node.expiries.add(this, at);
  }

  #leaveExpiries(): void {
    if (this.#expiryKey === -1) return;
    this.#node.expiries.delete(this, this.#expiryKey);
    this.#expiryKey = -1;
  }

  /**
   * The node's expiry queue reached this session (it has already taken it out): the warning,
   * or the close. @internal
   */
  expiryDue(): void {
    this.#expiryKey = -1;
    const expiresAt = this.#expiryFor;
    if (this.#expiryPhase === 'warn') this.#expiring(expiresAt);
    // Only if no newer token extended the session meanwhile.
    else if (this.expiresAt === expiresAt) this.close(CloseCode.Unauthorized);
  }

  /**
   * The warning is due: tells the client (or asks `refreshIdentity` first), then waits for
   * the close at expiry while this expiry still stands (setUserInfo may have dropped it; a
   * refresh that succeeds later queues the session again itself).
   */
  #expiring(expiresAt: number): void {
    const refresh = this.#node.config.refreshIdentity;
    if (refresh === undefined) this.#tellExpiring(expiresAt);
    else {
      this.#refresh(refresh, expiresAt).catch((error: unknown) =>
        this.#node.hooks.reportError(error, 'refreshIdentity'),
      );
    }
    // Not for a session that ended meanwhile (a failed send closes it): it left the queue.
    if (this.expiresAt === expiresAt && !this.closing) this.#awaitExpiry(expiresAt, expiresAt, 'close');
  }

  #tellExpiring(expiresAt: number): void {
    this.session.send({ type: 'auth_expiring', data: { expires_at: Math.floor(expiresAt / 1000) } });
  }

  /**
   * Asks the application for a fresh identity ahead of expiry (`refreshIdentity`); a later
   * expiry for the same user and tenant is applied silently, anything else falls back to
   * `auth_expiring` (the client may still send a new token).
   */
  async #refresh(
    refresh: NonNullable<ResolvedGatewayConfig['refreshIdentity']>,
    expiresAt: number,
  ): Promise<void> {
    let fresh: Identity | null | undefined;
    try {
      fresh = await refresh(this.session);
    } catch (error) {
      this.#node.hooks.reportError(error, 'refreshIdentity');
      fresh = null;
    }
    if (this.closing || this.expiresAt !== expiresAt) return;
    const later = fresh?.expiresAt ?? null;
    if (
      fresh == null ||
      fresh.userId !== this.userId ||
      (fresh.tenantId !== undefined && fresh.tenantId !== this.tenantId) ||
      (later !== null && later <= expiresAt)
    ) {
      this.#tellExpiring(expiresAt);
      return;
    }
    this.applyIdentity({ ...fresh, tenantId: this.tenantId }, true);
    this.#scheduleExpiry();
  }

  // ---------------------------------------------------------------- inbound frames

  /** A socket error (the `close` that follows ends the session). */
  socketError(error: Error): void {
    this.#node.config.logger.debug({ session_id: this.sessionId, error }, 'socket error');
  }

  /**
   * Takes one inbound frame (the socket's `message` listener): handled at once when nothing is
   * being worked on, else queued behind the frame that is.
   */
  receive(data: RawData, isBinary: boolean): void {
    this.lastSeenAt = Date.now();
    const node = this.#node;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    node.counters.messages_received++;
    node.counters.bytes_received += buf.length;
    if (this.closing) return;
    // Binary frames go the same way: they are refused in order, and counted by the middleware.
    const text = isBinary ? null : buf.toString('utf8');
    if (this.#processing) {
      this.#enqueue({ text, bytes: buf.length });
      return;
    }
    // Marked busy meanwhile, so that a frame arriving from inside the handler waits its turn.
    this.#processing = true;
    let pending: Promise<void> | undefined;
    try {
      pending = node.handleFrame(this, text, buf.length);
    } catch (error) {
      this.#processing = false;
      this.#fault(error);
      return;
    }
    if (pending === undefined) {
      if (this.#inbox.length === 0) {
        this.#processing = false;
        return;
      }
      // Frames arrived from inside the handler: handled now, in order.
      pending = Promise.resolve();
    }
    this.#drainInbox(pending).catch((error: unknown) => this.#fault(error));
  }

  /** Queues a frame behind the one being worked on; stops reading the client over its backlog limits. */
  #enqueue(item: Inbound): void {
    const node = this.#node;
    this.#inbox.push(item);
    this.#inboxBytes += item.bytes;
    node.pendingInbound.frames++;
    node.pendingInbound.bytes += item.bytes;
    const config = node.config;
    if (
      !this.#paused &&
      (this.#inbox.length >= config.maxPendingFrames || this.#inboxBytes >= config.maxPendingBytes)
    ) {
      // Stop reading this client until its backlog is worked off: nothing is dropped.
      this.#paused = true;
      this.socket.pause();
    }
  }

  /** Only a fault of the gateway itself gets here: the session cannot go on in order. */
  #fault(error: unknown): void {
    this.#node.hooks.reportError(error, 'inbound frames');
    this.close(CloseCode.InternalError);
  }

  /**
   * Waits for the frame being worked on (`first`; the caller marked the connection busy), then
   * handles the queued ones one at a time, in order, handing the event loop back now and then.
   */
  async #drainInbox(first: Promise<void>): Promise<void> {
    const node = this.#node;
    const config = node.config;
    try {
      await first;
      let handled = 0;
      let turnStarted = performance.now();
      let item = this.#inbox.shift();
      while (item !== undefined) {
        this.#inboxBytes -= item.bytes;
        node.pendingInbound.frames--;
        node.pendingInbound.bytes -= item.bytes;
        const pending = node.handleFrame(this, item.text, item.bytes);
        if (pending !== undefined) await pending;
        // A burst from one client runs in microtasks; hand the event loop back now and then
        // so that other sockets are read and served meanwhile.
        handled++;
        if (
          handled === FRAMES_PER_TURN ||
          (handled % BUDGET_CHECK_EVERY === 0 && performance.now() - turnStarted >= TURN_BUDGET_MS)
        ) {
          await yieldToEventLoop();
          handled = 0;
          turnStarted = performance.now();
        }
        if (
          this.#paused &&
          this.#inbox.length < config.maxPendingFrames / 2 &&
          this.#inboxBytes <= config.maxPendingBytes / 2
        ) {
          this.#paused = false;
          this.socket.resume();
        }
        item = this.#inbox.shift();
      }
    } finally {
      this.#processing = false;
    }
  }

  // ---------------------------------------------------------------- close

  /**
   * The connection ended (close event, or found closed by the heartbeat): leaves the
   * registries and channels, stops its timers, drops its queued frames, runs its `onClose`
   * callbacks and the `onDisconnect` hook. Runs once.
   */
  closed(code: number, reason: string): void {
    const node = this.#node;
    this.closing = true;
    if (!node.sessions.remove(this)) return;
    for (const [name, internal] of this.subscriptions) node.leaveChannel(this, name, internal, true);
    this.#subscriptions = null;
    clearTimeout(this.#authTimer);
    this.#leaveExpiries();
    node.pendingInbound.frames -= this.#inbox.length;
    node.pendingInbound.bytes -= this.#inboxBytes;
    this.#inbox.length = 0;
    this.#inboxBytes = 0;
    node.counters.disconnections_total++;
    this.#end.run();
    node.hooks.call('onDisconnect', (h) => h.onDisconnect?.(this.session, code, reason));
    if (node.events.has('session.disconnected')) {
      node.events.emit('session.disconnected', {
        session: this.session,
        code,
        reason,
        durationMs: Date.now() - this.connectedAt,
      });
    }
    node.gone();
  }
}
