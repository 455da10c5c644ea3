import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { AuthError } from './auth-error';
import { extractToken, type Identity, type TokenSource } from './authenticator';
import type { BackendUnavailableError } from './backend-unavailable-error';
import { basicMetrics } from './basic-metrics';
import { BROADCAST_TOPIC, type BroadcastTarget, topicFor } from './broadcast-envelope';
import { Broadcaster } from './broadcaster';
import {
  internalChannelName,
  isValidChannelName,
  isValidEventName,
  TENANT_CHANNEL_PREFIX,
} from './channel-name';
import type { ChannelRef } from './channel-policy';
import { ChannelRegistry } from './channel-registry';
import { type GatewayOptions, type ResolvedGatewayConfig, resolveConfig } from './config';
import {
  CloseCode,
  ErrorCode,
  PROTOCOL_VERSION,
  RESERVED_CLIENT_TYPES,
  SERVER_FRAME_TYPES,
  SUBPROTOCOL,
} from './constants';
import { errorFrame, type Frame, FrameError, type FrameId, parseFrame } from './frame';
import { HandshakeError } from './handshake-error';
import { type ComponentHealth, type GatewayHealth, type HealthStatus, worstStatus } from './health';
import { handleHttpApiRequest } from './http-api';
import {
  type ConnectionContext,
  type ConnectionMiddleware,
  compose,
  type GatewayMiddleware,
  type IdentityContext,
  type IdentityMiddleware,
  type MessageContext,
  type MessageMiddleware,
} from './middleware';
import type { ObservabilityHooks } from './observability-hooks';
import { ProtocolError } from './protocol-error';
import { type IdentitySnapshot, type SessionHost, WebSocketSession } from './session';
import { SessionRegistry } from './session-registry';
import { createCounters, type GatewayCounters, type GatewayStats } from './stats';
import { matchGatewayPath, resolveTenant } from './tenant-resolution';
import { TopicInterest } from './topic-interest';
import { clientAddress } from './trusted-proxies';
import { WriteCoalescer } from './write-coalescer';

/** What a message handler gets besides the session and the payload. */
export interface MessageHandlerContext {
  /** The frame's id, if it had one. */
  readonly id: FrameId | undefined;
  /** The frame's type. */
  readonly type: string;
  /** The whole frame. */
  readonly frame: Frame;
  /** The gateway. */
  readonly gateway: WebSocketGateway;
  /**
   * Sends the `ack` for this frame now, with `data`. Without a call, the handler's return value
   * is the ack's data. Only the first reply counts; frames without an id get no ack.
   */
  reply(data: unknown): void;
}

/**
 * Handles one custom frame type. Return the ack's data (or call `ctx.reply`); throw a
 * `ProtocolError` to answer with an `error` frame of that code. Frames of one session are
 * handled one at a time, in order.
 */
export type MessageHandler = (
  session: WebSocketSession,
  data: unknown,
  ctx: MessageHandlerContext,
) => unknown | Promise<unknown>;

/** Options of the targeted broadcasts. */
export interface BroadcastOptions {
  /** Reach only sessions of this tenant (and, for channels, that tenant's channel). */
  tenantId?: string | null;
}

/** The address a started gateway listens on. */
export interface GatewayAddress {
  host: string;
  port: number;
}

type GatewayState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped';

/** Per-session state the gateway keeps beside the public session object. */
interface SessionState {
  /** Runs the connection's `onClose` callbacks (once, however often it is called). */
  ended: () => void;
  /** Frames read and not yet handled; `text` is null for a binary frame. */
  inbox: { text: string | null; bytes: number }[];
  /** Bytes of the frames in `inbox`. */
  inboxBytes: number;
  processing: boolean;
  paused: boolean;
  authTimer: NodeJS.Timeout | undefined;
  expiringTimer: NodeJS.Timeout | undefined;
  expiryTimer: NodeJS.Timeout | undefined;
  /** What connection middleware saw; identity middleware gets its `state` and `onClose`. */
  connection: ConnectionContext;
}

/** Frames of one session handled in a row before the event loop gets a turn. */
const FRAMES_PER_TURN = 32;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Node's setTimeout caps delays at 2^31-1 ms; longer waits are chained. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The WebSocket gateway: accepts connections, speaks protocol v1, keeps sessions and channels,
 * and broadcasts to channels, users, tenants, roles and permissions across nodes through a
 * {@link Backend}.
 *
 * @example
 * const gateway = new WebSocketGateway(createDevelopmentConfig({ port: 8765 }))
 * gateway.addMessageHandler('echo', (session, data) => data)
 * await gateway.start()
 * await gateway.broadcastToChannel('news', 'headline', { title: 'hello' })
 */
export class WebSocketGateway {
  /** The validated configuration. */
  readonly config: ResolvedGatewayConfig;
  /** This node's id. */
  readonly nodeId: string;
  /** The HTTP server the gateway listens on (its own or the one it was given). */
  readonly server: Server;

  readonly #ownsServer: boolean;
  readonly #wss: WebSocketServer;
  readonly #sessions: SessionRegistry;
  readonly #channels = new ChannelRegistry();
  readonly #interest: TopicInterest;
  readonly #broadcaster: Broadcaster;
  readonly #counters: GatewayCounters = createCounters();
  /** Inbound frames read on this node and not yet handled (every session's inbox). */
  readonly #pendingInbound = { frames: 0, bytes: 0 };
  readonly #handlers = new Map<string, MessageHandler>();
  readonly #connectionMiddleware: ConnectionMiddleware[] = [];
  readonly #messageMiddleware: MessageMiddleware[] = [];
  readonly #identityMiddleware: IdentityMiddleware[] = [];
  readonly #state = new WeakMap<WebSocketSession, SessionState>();
  readonly #sessionHost: SessionHost;
  #runConnection: (ctx: ConnectionContext) => Promise<void>;
  #runMessage: (ctx: MessageContext) => Promise<void>;
  #runIdentity: (ctx: IdentityContext) => Promise<void>;
  #hooks: ObservabilityHooks | undefined;
  #status: GatewayState = 'idle';
  #startedAt = 0;
  #pendingHandshakes = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  #onSessionGone: (() => void) | undefined;
  readonly #upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    this.handleUpgrade(req, socket, head).catch((error: unknown) => {
      this.#reportError(error, 'handshake');
      socket.destroy();
    });
  };
  readonly #requestListener = (req: IncomingMessage, res: ServerResponse) => {
    if (this.handleHttpRequest(req, res)) return;
    if (this.config.httpFallback) this.config.httpFallback(req, res);
    else sendJson(res, 404, { error: { code: 'not_found', message: 'no such path' } });
  };

  /** Validates `options` (throwing one `ConfigError` that lists every problem). */
  constructor(options: GatewayOptions = {}) {
    this.config = resolveConfig(options);
    this.nodeId = this.config.nodeId;
    this.#hooks = this.config.hooks;
    this.#ownsServer = this.config.server === undefined;
    this.server = this.config.server ?? createServer();
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.config.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.#interest = new TopicInterest(this.config.backend, (error, topic) => {
      this.#counters.backend_errors++;
      this.#reportError(error, `backend subscription of ${topic}`);
    });
    this.#sessions = new SessionRegistry({
      onFirst: (kind, key) =>
        void this.#interest.acquire(
          topicFor(kind === 'user' ? { kind, userId: key } : { kind, tenantId: key }),
        ),
      onLast: (kind, key) =>
        this.#interest.release(topicFor(kind === 'user' ? { kind, userId: key } : { kind, tenantId: key })),
    });
    this.#broadcaster = new Broadcaster({
      nodeId: this.nodeId,
      backend: this.config.backend,
      sessions: this.#sessions,
      channels: this.#channels,
      counters: this.#counters,
      hooks: () => this.#hooks,
      eligible: (s) => s.isAuthenticated || !this.config.requireToken,
      onError: (error, context) => this.#reportError(error, context),
    });
    const counters = this.#counters;
    const config = this.config;
    this.#sessionHost = {
      maxBufferedBytes: config.maxBufferedBytes,
      dropWhenSlow: config.slowConsumerPolicy === 'drop',
      writer: new WriteCoalescer(Math.min(64 * 1024, Math.floor(config.maxBufferedBytes / 4))),
      identityChanged: (session: WebSocketSession, before: IdentitySnapshot) =>
        this.#sessions.reindex(session, before),
      slowConsumer: (session: WebSocketSession) => {
        counters.slow_consumer_disconnects++;
        this.#callHook('onSlowConsumer', (h) => h.onSlowConsumer?.(session));
        config.logger.warn(
          { session_id: session.sessionId, buffered: session.bufferedAmount },
          'slow consumer closed',
        );
      },
      sent: (bytes: number) => {
        counters.messages_sent++;
        counters.bytes_sent += bytes;
      },
      dropped: () => {
        counters.slow_consumer_drops++;
      },
    };
    this.#runConnection = compose(this.#connectionMiddleware, () => undefined);
    this.#runMessage = compose(this.#messageMiddleware, this.#routeOrRefuse);
    this.#runIdentity = compose(this.#identityMiddleware, () => undefined);
    if (options.trustProxy === true) {
      this.config.logger.warn(
        { trust_proxy: this.config.trustProxy.description },
        'trustProxy: true is deprecated and trusts loopback proxies only: name your proxies (CIDR list or hop count)',
      );
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** True while the gateway accepts connections. */
  get isReady(): boolean {
    return this.#status === 'running';
  }

  /** `idle`, `starting`, `running`, `draining` or `stopped`. */
  get status(): GatewayState {
    return this.#status;
  }

  /** The bound host and port once started (with `port: 0`, the port the system chose). */
  address(): GatewayAddress | null {
    const a = this.server.address();
    if (a === null || typeof a === 'string') return null;
    return { host: (a as AddressInfo).address, port: (a as AddressInfo).port };
  }

  /** Starts the backend, then listens (or attaches to the given server). Resolves when ready. */
  async start(): Promise<this> {
    if (this.#status !== 'idle') throw new Error(`the gateway cannot start: it is ${this.#status}`);
    this.#status = 'starting';
    try {
      await this.config.backend.start((topic, payload) => this.#broadcaster.receive(topic, payload));
      await this.#interest.acquire(BROADCAST_TOPIC);
      this.server.on('upgrade', this.#upgradeListener);
      if (this.config.serveHttp) this.server.on('request', this.#requestListener);
      if (this.#ownsServer) {
        await new Promise<void>((resolve, reject) => {
          this.server.once('error', reject);
          this.server.listen(this.config.port, this.config.host, () => {
            this.server.off('error', reject);
            resolve();
          });
        });
      }
    } catch (error) {
      this.#status = 'stopped';
      this.server.off('upgrade', this.#upgradeListener);
      this.server.off('request', this.#requestListener);
      await this.config.backend.stop().catch(() => undefined);
      throw error;
    }
    this.#heartbeat = setInterval(() => this.#tick(), this.config.heartbeatMs);
    this.#heartbeat.unref();
    this.#startedAt = Date.now();
    this.#status = 'running';
    const addr = this.address();
    this.config.logger.info(
      {
        node_id: this.nodeId,
        host: addr?.host,
        port: addr?.port,
        path: this.config.path,
        backend: this.config.backend.name,
      },
      'gateway listening',
    );
    return this;
  }

  /**
   * Drains and stops: readiness goes to 503, new upgrades get 503, sessions are closed with
   * 1001 in jittered batches, any left after `drainTimeoutMs` are terminated, then the backend
   * and the server close. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stop(): Promise<void> {
    if (this.#status === 'idle') {
      this.#status = 'stopped';
      return;
    }
    this.#status = 'draining';
    clearInterval(this.#heartbeat);
    const open = this.#sessions.size;
    this.config.logger.info({ node_id: this.nodeId, sessions: open }, 'gateway draining');
    await this.#drainSessions();
    await this.#interest.settled();
    try {
      await this.config.backend.stop();
    } catch (error) {
      this.#reportError(error, 'backend stop');
    }
    this.server.off('upgrade', this.#upgradeListener);
    this.server.off('request', this.#requestListener);
    this.#wss.close();
    if (this.#ownsServer && this.server.listening) {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeAllConnections();
      });
    }
    this.#status = 'stopped';
    try {
      await this.#hooks?.onStop?.();
    } catch (error) {
      this.config.logger.error({ error, hook: 'onStop' }, 'an observability hook threw');
    }
    this.config.logger.info({ node_id: this.nodeId, drained: open }, 'gateway stopped');
  }

  async #drainSessions(): Promise<void> {
    const sessions = [...this.#sessions.all()];
    if (sessions.length === 0) return;
    const gone = new Promise<void>((resolve) => {
      this.#onSessionGone = () => {
        if (this.#sessions.size === 0) resolve();
      };
    });
    // Batches spread over a short window, so that clients do not all reconnect at once.
    const batchSize = 100;
    const batches = Math.ceil(sessions.length / batchSize);
    const windowMs = batches === 1 ? 0 : Math.min(this.config.drainTimeoutMs / 2, batches * 20);
    const timers: NodeJS.Timeout[] = [];
    for (let b = 0; b < batches; b++) {
      const batch = sessions.slice(b * batchSize, (b + 1) * batchSize);
      const closeBatch = () => {
        for (const s of batch) s.close(CloseCode.GoingAway);
      };
      if (windowMs === 0) closeBatch();
      else timers.push(setTimeout(closeBatch, Math.random() * windowMs));
    }
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      deadline = setTimeout(() => resolve(true), this.config.drainTimeoutMs);
    });
    const late = await Promise.race([gone.then(() => false), timedOut]);
    clearTimeout(deadline);
    for (const t of timers) clearTimeout(t);
    if (late) {
      this.config.logger.warn(
        { remaining: this.#sessions.size },
        'drain timeout: terminating the remaining sessions',
      );
      for (const s of [...this.#sessions.all()]) s.socket.terminate();
      await Promise.race([gone, new Promise((r) => setTimeout(r, 1000))]);
    }
    this.#onSessionGone = undefined;
  }

  // ---------------------------------------------------------------- configuration

  /**
   * Registers the handler of a custom frame type. The reserved types (`auth`, `subscribe`,
   * `unsubscribe`, `publish`, `ping`) cannot be overridden.
   */
  addMessageHandler(type: string, handler: MessageHandler): this {
    if (RESERVED_CLIENT_TYPES.has(type) || SERVER_FRAME_TYPES.has(type)) {
      throw new TypeError(`"${type}" is a reserved frame type and cannot have a handler`);
    }
    if (typeof type !== 'string' || type.length === 0 || type.length > 100) {
      throw new TypeError('a message type must be a string of 1 to 100 characters');
    }
    if (typeof handler !== 'function') throw new TypeError(`the handler of "${type}" must be a function`);
    this.#handlers.set(type, handler);
    return this;
  }

  /** True when a handler is registered for `type`. */
  hasMessageHandler(type: string): boolean {
    return this.#handlers.has(type);
  }

  /** Removes the handler of `type`; frames of that type then get `unknown_type`. */
  removeMessageHandler(type: string): boolean {
    return this.#handlers.delete(type);
  }

  /**
   * Adds middleware: `connection` runs before every upgrade, `message` before every frame is
   * routed, `identity` when a live session authenticates in-band, in the order they were added.
   */
  use(middleware: GatewayMiddleware): this {
    if (
      typeof middleware?.connection !== 'function' &&
      typeof middleware?.message !== 'function' &&
      typeof middleware?.identity !== 'function'
    ) {
      throw new TypeError(
        'middleware must have a connection(ctx, next), message(ctx, next) or identity(ctx, next) function',
      );
    }
    if (middleware.connection) this.#connectionMiddleware.push(middleware.connection);
    if (middleware.message) this.#messageMiddleware.push(middleware.message);
    if (middleware.identity) this.#identityMiddleware.push(middleware.identity);
    this.#runConnection = compose(this.#connectionMiddleware, () => undefined);
    this.#runMessage = compose(this.#messageMiddleware, this.#routeOrRefuse);
    this.#runIdentity = compose(this.#identityMiddleware, () => undefined);
    return this;
  }

  /** The hooks set with {@link setObservabilityHooks} (or the `hooks` option). */
  get observabilityHooks(): ObservabilityHooks | undefined {
    return this.#hooks;
  }

  /**
   * The Prometheus text that `GET /metrics` serves: the hooks' `metrics()`, else the gateway's
   * basic set.
   */
  async getPrometheusMetrics(): Promise<string> {
    return (await this.#hooks?.metrics?.()) ?? basicMetrics(this);
  }

  /** Sets (or, with undefined, removes) the metrics, tracing and log hooks. */
  setObservabilityHooks(hooks: ObservabilityHooks | undefined): this {
    this.#hooks = hooks;
    return this;
  }

  // ---------------------------------------------------------------- broadcasting

  /**
   * Delivers `{type, channel, data}` to every subscriber of `channel` on every node. Resolves
   * with the number of local subscribers it reached, once the backend accepted it. Like every
   * `broadcastTo*`, rejects with a {@link BackendUnavailableError} (carrying `deliveredLocal`)
   * when the backend did not: local subscribers got it, other nodes did not.
   */
  broadcastToChannel(
    channel: string,
    type: string,
    data: unknown,
    options: BroadcastOptions = {},
  ): Promise<number> {
    if (!isValidChannelName(channel)) {
      return Promise.reject(
        new ProtocolError(ErrorCode.InvalidChannel, `invalid channel name ${JSON.stringify(channel)}`),
      );
    }
    const internal = internalChannelName(channel, options.tenantId ?? null, this.config.tenantIsolation);
    return this.#publishTo({ kind: 'channel', channel: internal, name: channel }, type, data);
  }

  /** Delivers `{type, data}` to every session of `userId` on every node. */
  broadcastToUser(
    userId: string,
    type: string,
    data: unknown,
    options: BroadcastOptions = {},
  ): Promise<number> {
    return this.#publishTo({ kind: 'user', userId, tenantId: options.tenantId ?? null }, type, data);
  }

  /** Delivers `{type, data}` to every session of `tenantId` on every node. */
  broadcastToTenant(tenantId: string, type: string, data: unknown): Promise<number> {
    return this.#publishTo({ kind: 'tenant', tenantId }, type, data);
  }

  /** Delivers `{type, data}` to every session whose user has `role`, on every node. */
  broadcastToRole(
    role: string,
    type: string,
    data: unknown,
    options: BroadcastOptions = {},
  ): Promise<number> {
    return this.#publishTo({ kind: 'role', role, tenantId: options.tenantId ?? null }, type, data);
  }

  /** Delivers `{type, data}` to every session whose user has `permission`, on every node. */
  broadcastToPermission(
    permission: string,
    type: string,
    data: unknown,
    options: BroadcastOptions = {},
  ): Promise<number> {
    return this.#publishTo(
      { kind: 'permission', permission, tenantId: options.tenantId ?? null },
      type,
      data,
    );
  }

  /** Delivers `{type, data}` to every session on every node (of one tenant, with `tenantId`). */
  broadcastToAll(type: string, data: unknown, options: BroadcastOptions = {}): Promise<number> {
    return this.#publishTo({ kind: 'all', tenantId: options.tenantId ?? null }, type, data);
  }

  #publishTo(target: BroadcastTarget, type: string, data: unknown): Promise<number> {
    if (!isValidEventName(type) || SERVER_FRAME_TYPES.has(type)) {
      return Promise.reject(
        new ProtocolError(
          ErrorCode.BadRequest,
          `message type ${JSON.stringify(type)} is not allowed for a broadcast`,
        ),
      );
    }
    for (const key of ['userId', 'tenantId', 'role', 'permission'] as const) {
      const v = (target as Record<string, unknown>)[key];
      if (v !== undefined && v !== null && (typeof v !== 'string' || v.length === 0)) {
        return Promise.reject(new ProtocolError(ErrorCode.BadRequest, `${key} must be a non-empty string`));
      }
    }
    return this.#broadcaster.publish(target, type, data);
  }

  // ---------------------------------------------------------------- sessions

  /** The session with this id on this node. */
  getSession(sessionId: string): WebSocketSession | undefined {
    return this.#sessions.get(sessionId);
  }

  /** Every session on this node. */
  sessions(): IterableIterator<WebSocketSession> {
    return this.#sessions.all();
  }

  /** Closes a session, by default with 4403 (revoked: the client does not reconnect by itself). */
  disconnectSession(sessionId: string, code: number = CloseCode.Forbidden, reason?: string): boolean {
    const s = this.#sessions.get(sessionId);
    if (s === undefined) return false;
    s.close(code, reason);
    return true;
  }

  // ---------------------------------------------------------------- health and stats

  /** The health of the server, the sessions and the backend (`GET /health`). */
  async healthCheck(): Promise<GatewayHealth> {
    const serverStatus: HealthStatus =
      this.#status === 'running' ? 'healthy' : this.#status === 'draining' ? 'degraded' : 'unhealthy';
    const server: ComponentHealth = {
      status: serverStatus,
      state: this.#status,
      node_id: this.nodeId,
      uptime_s: this.#startedAt === 0 ? 0 : Math.round((Date.now() - this.#startedAt) / 1000),
    };
    const sessions: ComponentHealth = {
      status: 'healthy',
      total_sessions: this.#sessions.size,
      authenticated_sessions: this.#countAuthenticated(),
      channels: this.#channels.channelCount,
      subscriptions: this.#channels.subscriptionCount,
    };
    let backend: ComponentHealth;
    try {
      backend = await withTimeout(this.config.backend.health(), 2000, 'backend health check timed out');
    } catch (error) {
      backend = { status: 'unhealthy', backend: this.config.backend.name, error: errorMessage(error) };
    }
    // A lost backend leaves this node serving its own sessions: degraded, not down.
    const backendEffect: HealthStatus = backend.status === 'healthy' ? 'healthy' : 'degraded';
    return {
      status: worstStatus([serverStatus, sessions.status, backendEffect]),
      components: { server, sessions, scaling_backend: backend },
    };
  }

  /** Counters and gauges of this node (`GET /api/stats`). */
  getStats(): GatewayStats {
    const backendStats = this.config.backend.stats?.() ?? {};
    return {
      node_id: this.nodeId,
      status: this.#status === 'idle' ? 'starting' : this.#status,
      uptime_s: this.#startedAt === 0 ? 0 : Math.round((Date.now() - this.#startedAt) / 1000),
      sessions: {
        total: this.#sessions.size,
        authenticated: this.#countAuthenticated(),
        users: this.#sessions.userCount,
        tenants: this.#sessions.tenantCount,
        by_tenant: this.#sessions.tenantCounts(),
      },
      channels: this.#channels.channelCount,
      subscriptions: this.#channels.subscriptionCount,
      backend_topics: this.#interest.topicCount,
      pending_inbound: { ...this.#pendingInbound },
      counters: { ...this.#counters },
      backend: { name: this.config.backend.name, ...backendStats },
    };
  }

  #countAuthenticated(): number {
    let n = 0;
    for (const s of this.#sessions.all()) if (s.isAuthenticated) n++;
    return n;
  }

  // ---------------------------------------------------------------- HTTP

  /**
   * Serves `/health`, `/ready`, `/metrics`, `/api/publish` and `/api/stats`. Returns false for
   * any other path, so an attached gateway can sit behind an application's own routes.
   */
  handleHttpRequest(req: IncomingMessage, res: ServerResponse): boolean {
    return handleHttpApiRequest(this, req, res);
  }

  /**
   * Handles an upgrade request: path, draining, capacity, Origin, tenant, token, connection
   * middleware; then upgrades and opens a session, or answers with the HTTP status that says
   * why not. Call it yourself only when you route upgrades yourself. Never rejects: a request
   * target that is not a URL gets 400, and a fault of the gateway's own gets 500.
   */
  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      await this.#upgrade(req, socket, head);
    } catch (error) {
      try {
        this.#refuse(req, socket, error);
      } catch {
        socket.destroy();
      }
    }
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://gateway.invalid');
    } catch {
      // Attached to an application's server: another upgrade listener may want it.
      if (!this.#ownsServer && this.server.listenerCount('upgrade') > 1) return;
      this.#refuse(req, socket, new HandshakeError(400, 'the request target is not a valid URL'));
      return;
    }
    let match: { tenantId: string | null } | null;
    try {
      match = matchGatewayPath(url.pathname, this.config.path);
    } catch (error) {
      this.#refuse(req, socket, error);
      return;
    }
    if (match === null) {
      // Attached to an application's server: other upgrade listeners may own this path.
      if (!this.#ownsServer && this.server.listenerCount('upgrade') > 1) return;
      this.#refuse(req, socket, new HandshakeError(404, 'no WebSocket endpoint at this path'));
      return;
    }

    const callbacks: (() => void)[] = [];
    let ended = false;
    const runCallbacks = () => {
      if (ended) return;
      ended = true;
      for (const cb of callbacks) {
        try {
          cb();
        } catch (error) {
          this.#reportError(error, 'connection onClose callback');
        }
      }
    };
    let opened = false;
    socket.once('close', () => {
      if (!opened) runCallbacks();
    });

    this.#pendingHandshakes++;
    let ctx: ConnectionContext | undefined;
    try {
      if (this.#status !== 'running')
        throw new HandshakeError(503, 'the server is not accepting connections', { 'Retry-After': '5' });
      const cap = this.config.maxConnections;
      if (cap > 0 && this.#sessions.size + this.#pendingHandshakes > cap) {
        throw new HandshakeError(
          503,
          'the server is at its connection limit',
          { 'Retry-After': '5' },
          'at_capacity',
        );
      }
      const origin = req.headers.origin;
      const allowed = this.config.allowedOrigins;
      if (allowed !== null && origin !== undefined && !allowed.includes(origin)) {
        throw new HandshakeError(403, 'this Origin is not allowed', {}, 'origin_not_allowed');
      }
      const tenant = resolveTenant(req, url, match.tenantId, this.config.tenantSubdomainBase);
      let tenantId = tenant.tenantId;
      let identity: Identity | null = null;
      const found = this.config.authenticator ? extractToken(req, url) : null;
      if (found !== null) {
        identity = await this.#authenticate(found.token, found.source, tenantId, req, null);
        const tokenTenant = identity.tenantId ?? null;
        if (tenantId !== null && tokenTenant !== null && tokenTenant !== tenantId) {
          this.#authFailed('tenant_mismatch', `the token's tenant differs from the ${tenant.source}'s`, null);
          throw new HandshakeError(403, 'the token belongs to another tenant', {}, 'tenant_mismatch');
        }
        if (tenantId !== null && tokenTenant === null && !this.config.tenantAgnosticTokens) {
          this.#authFailed(
            'tenant_missing',
            `the token has no tenant and the ${tenant.source} names one`,
            null,
          );
          throw new HandshakeError(
            403,
            'the token has no tenant_id and cannot enter a tenant',
            {},
            'tenant_mismatch',
          );
        }
        tenantId ??= tokenTenant;
      } else if (this.config.requireToken && !this.config.authInBand) {
        this.#authFailed('missing', 'no token at the handshake and in-band auth is off', null);
        throw new HandshakeError(401, 'a token is required');
      }
      ctx = {
        request: req,
        url,
        ip: clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.config.trustProxy),
        tenantId,
        identity,
        state: new Map(),
        gateway: this,
        onClose: (cb) => {
          if (ended) cb();
          else callbacks.push(cb);
        },
      };
      await this.#runConnection(ctx);
      if (this.#status !== 'running')
        throw new HandshakeError(503, 'the server is shutting down', { 'Retry-After': '5' });
    } catch (error) {
      this.#pendingHandshakes--;
      this.#refuse(req, socket, error);
      runCallbacks();
      return;
    }
    this.#pendingHandshakes--;
    if (socket.destroyed || !socket.writable) {
      runCallbacks();
      return;
    }
    const context = ctx;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      opened = true;
      try {
        this.#open(ws, socket, context, runCallbacks);
      } catch (error) {
        // Upgraded already: no HTTP answer is possible any more.
        this.#reportError(error, 'session open');
        ws.terminate();
        runCallbacks();
      }
    });
  }

  #refuse(req: IncomingMessage, socket: Duplex, error: unknown): void {
    let refusal: HandshakeError;
    if (error instanceof HandshakeError) refusal = error;
    else {
      this.#reportError(error, 'handshake');
      refusal = new HandshakeError(500, 'internal error');
    }
    this.#counters.handshakes_refused++;
    this.#callHook('onHandshakeRefused', (h) => h.onHandshakeRefused?.(refusal.status, refusal.code, req));
    this.config.logger.debug(
      { status: refusal.status, code: refusal.code, path: req.url?.split('?')[0] },
      'handshake refused',
    );
    if (!socket.writable || socket.destroyed) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
    const headers = {
      Connection: 'close',
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      ...refusal.headers,
    };
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    socket.end(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`,
    );
  }

  async #authenticate(
    token: string,
    source: TokenSource,
    tenantId: string | null,
    request: IncomingMessage | undefined,
    session: WebSocketSession | null,
  ): Promise<Identity> {
    const authenticator = this.config.authenticator;
    const inBand = source === 'frame';
    if (authenticator === undefined) {
      this.#authFailed('not_configured', 'no authenticator is configured', session);
      throw new ProtocolError(ErrorCode.AuthFailed, 'authentication is not configured on this gateway');
    }
    let identity: Identity;
    try {
      identity = await authenticator.authenticate(
        token,
        request ? { source, request, tenantId } : { source, tenantId },
      );
      if (typeof identity?.userId !== 'string' || identity.userId.length === 0) {
        throw new AuthError('missing_claim', 'the authenticator returned no userId');
      }
      if (identity.expiresAt != null && identity.expiresAt <= Date.now()) {
        throw new AuthError('expired', 'the token has expired');
      }
    } catch (error) {
      const reason = error instanceof AuthError ? error.code : 'invalid';
      this.#authFailed(reason, errorMessage(error), session);
      if (inBand) throw new ProtocolError(ErrorCode.AuthFailed, 'the token was refused');
      throw new HandshakeError(401, 'the token was refused', {}, 'auth_failed');
    }
    return identity;
  }

  #authFailed(reason: string, detail: string, session: WebSocketSession | null): void {
    this.#counters.auth_failures++;
    this.config.logger.info({ reason, detail, session_id: session?.sessionId }, 'authentication failed');
    this.#callHook('onAuthFailure', (h) => h.onAuthFailure?.(reason, session));
  }

  // ---------------------------------------------------------------- sessions: open, frames, close

  #open(ws: WebSocket, raw: Duplex, ctx: ConnectionContext, runCallbacks: () => void): void {
    const session = new WebSocketSession({
      sessionId: randomUUID(),
      socket: ws,
      raw,
      remoteAddress: ctx.ip,
      tenantId: ctx.tenantId,
      host: this.#sessionHost,
    });
    const state: SessionState = {
      ended: runCallbacks,
      inbox: [],
      inboxBytes: 0,
      processing: false,
      paused: false,
      authTimer: undefined,
      expiringTimer: undefined,
      expiryTimer: undefined,
      connection: ctx,
    };
    this.#state.set(session, state);
    if (ctx.identity !== null) session.applyIdentity({ ...ctx.identity, tenantId: ctx.tenantId });
    ws.on('message', (data, isBinary) => this.#onMessage(session, state, data, isBinary));
    ws.on('pong', () => {
      session.lastSeenAt = Date.now();
    });
    ws.on('error', (error) => {
      this.config.logger.debug({ session_id: session.sessionId, error }, 'socket error');
    });
    ws.once('close', (code, reason) => this.#onClose(session, state, code, reason.toString()));

    // The welcome is the first frame: nothing can reach the session before it is registered.
    session.sendRaw(
      Buffer.from(
        JSON.stringify({
          type: 'welcome',
          data: {
            session_id: session.sessionId,
            protocol: PROTOCOL_VERSION,
            node_id: this.nodeId,
            authenticated: session.isAuthenticated,
            user_id: session.userId,
            tenant_id: session.tenantId,
            heartbeat_ms: this.config.heartbeatMs,
          },
        }),
      ),
    );
    this.#sessions.add(session);
    this.#counters.connections_total++;
    if (this.config.requireToken && !session.isAuthenticated) {
      state.authTimer = setTimeout(() => {
        if (session.isAuthenticated) return;
        // Say why (4401), then end the socket without waiting for the client's close frame:
        // a client that never answers must not hold its address's or tenant's quota.
        session.close(CloseCode.Unauthorized);
        const force = setTimeout(() => raw.destroy(), 1000);
        force.unref();
        raw.end(() => {
          clearTimeout(force);
          raw.destroy();
        });
      }, this.config.authTimeoutMs);
    }
    this.#scheduleExpiry(session, state);
    this.#callHook('onConnection', (h) => h.onConnection?.(session));
  }

  #onClose(session: WebSocketSession, state: SessionState, code: number, reason: string): void {
    session.closing = true;
    if (!this.#sessions.remove(session)) return;
    for (const internal of session.subscriptions.values()) {
      this.#channels.remove(internal, session);
      this.#interest.release(topicFor({ kind: 'channel', channel: internal, name: '' }));
    }
    session.subscriptions.clear();
    clearTimeout(state.authTimer);
    clearTimeout(state.expiringTimer);
    clearTimeout(state.expiryTimer);
    this.#pendingInbound.frames -= state.inbox.length;
    this.#pendingInbound.bytes -= state.inboxBytes;
    state.inbox.length = 0;
    state.inboxBytes = 0;
    this.#counters.disconnections_total++;
    state.ended();
    this.#callHook('onDisconnect', (h) => h.onDisconnect?.(session, code, reason));
    this.#onSessionGone?.();
  }

  #onMessage(session: WebSocketSession, state: SessionState, data: RawData, isBinary: boolean): void {
    session.lastSeenAt = Date.now();
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.#counters.messages_received++;
    this.#counters.bytes_received += buf.length;
    if (session.closing) return;
    // Binary frames queue too: they are refused in order, and counted by the middleware.
    state.inbox.push({ text: isBinary ? null : buf.toString('utf8'), bytes: buf.length });
    state.inboxBytes += buf.length;
    this.#pendingInbound.frames++;
    this.#pendingInbound.bytes += buf.length;
    if (
      !state.paused &&
      (state.inbox.length >= this.config.maxPendingFrames || state.inboxBytes >= this.config.maxPendingBytes)
    ) {
      // Stop reading this client until its backlog is worked off: nothing is dropped.
      state.paused = true;
      session.socket.pause();
    }
    if (!state.processing) {
      this.#drainInbox(session, state).catch((error: unknown) => {
        // Only a fault of the gateway itself gets here: the session cannot go on in order.
        this.#reportError(error, 'inbound frames');
        session.close(CloseCode.InternalError);
      });
    }
  }

  async #drainInbox(session: WebSocketSession, state: SessionState): Promise<void> {
    state.processing = true;
    try {
      let handled = 0;
      let item = state.inbox.shift();
      while (item !== undefined) {
        state.inboxBytes -= item.bytes;
        this.#pendingInbound.frames--;
        this.#pendingInbound.bytes -= item.bytes;
        await this.#handleFrame(session, item.text, item.bytes);
        // A burst from one client runs in microtasks; hand the event loop back now and then
        // so that other sockets are read and served meanwhile.
        if (++handled % FRAMES_PER_TURN === 0) await yieldToEventLoop();
        if (
          state.paused &&
          state.inbox.length < this.config.maxPendingFrames / 2 &&
          state.inboxBytes <= this.config.maxPendingBytes / 2
        ) {
          state.paused = false;
          session.socket.resume();
        }
        item = state.inbox.shift();
      }
    } finally {
      state.processing = false;
    }
  }

  /**
   * Reads one inbound frame and runs the message middleware and the router on it. A frame that
   * cannot be read (binary, not JSON, not an object, bad `id` or `type`, too deep) runs the
   * middleware too, marked by `ctx.malformed`, so that it counts for rate limits; it is then
   * refused with that `bad_request`, or with what a middleware threw first.
   */
  async #handleFrame(session: WebSocketSession, text: string | null, bytes: number): Promise<void> {
    let ctx: MessageContext;
    try {
      if (text === null) throw new FrameError('binary frames are not supported: send JSON text');
      const frame = parseFrame(text, this.config.maxJsonDepth);
      ctx = { session, frame, type: frame.type, id: frame.id, bytes, gateway: this, malformed: null };
    } catch (error) {
      const malformed = error instanceof FrameError ? error : new FrameError('the frame could not be read');
      ctx = {
        session,
        frame: { type: '' },
        type: '',
        id: malformed.requestId,
        bytes,
        gateway: this,
        malformed,
      };
    }
    if (ctx.malformed === null) this.#callHook('onMessage', (h) => h.onMessage?.(session, ctx.type, bytes));
    try {
      await this.#runMessage(ctx);
      session.refusedInARow = 0;
    } catch (error) {
      this.#refuseFrame(session, ctx.type, ctx.id, error);
    }
  }

  /** The last step of the message middleware: refuses a malformed frame, routes the others. */
  readonly #routeOrRefuse = (ctx: MessageContext): Promise<void> => {
    if (ctx.malformed !== null) return Promise.reject(ctx.malformed);
    return this.#route(ctx);
  };

  #refuseFrame(session: WebSocketSession, type: string, id: FrameId | undefined, error: unknown): void {
    let code: string;
    let message: string;
    let retryAfterMs: number | undefined;
    if (error instanceof ProtocolError) {
      code = error.code;
      message = error.message;
      retryAfterMs = error.retryAfterMs;
    } else {
      this.#counters.handler_errors++;
      this.#reportError(error, `handler of "${type}"`);
      code = ErrorCode.InternalError;
      message = 'internal error';
    }
    this.#counters.messages_refused++;
    this.#callHook('onMessageRefused', (h) => h.onMessageRefused?.(session, type, code));
    session.sendRaw(Buffer.from(errorFrame(code, message, id, retryAfterMs)));
    if (code === ErrorCode.RateLimited) {
      this.#counters.rate_limited++;
      session.refusedInARow++;
      if (session.refusedInARow >= this.config.rateLimitCloseAfter) session.close(CloseCode.RateLimited);
    } else {
      session.refusedInARow = 0;
    }
  }

  // ---------------------------------------------------------------- routing

  async #route(ctx: MessageContext): Promise<void> {
    const { session, frame, type } = ctx;
    if (this.config.requireToken && !session.isAuthenticated && type !== 'auth') {
      throw new ProtocolError(
        ErrorCode.Unauthenticated,
        'authenticate first: send {"type":"auth","data":{"token":"…"}}',
      );
    }
    switch (type) {
      case 'ping':
        session.send(
          frame.id === undefined
            ? { type: 'pong', data: frame.data ?? null }
            : { type: 'pong', id: frame.id, data: frame.data ?? null },
        );
        return;
      case 'subscribe':
        return this.#subscribe(session, frame);
      case 'unsubscribe':
        return this.#unsubscribe(session, frame);
      case 'publish':
        return this.#clientPublish(session, frame);
      case 'auth':
        return this.#auth(session, frame);
      default:
        return this.#custom(session, frame);
    }
  }

  #ack(session: WebSocketSession, id: FrameId | undefined, data: unknown): void {
    if (id !== undefined) session.send({ type: 'ack', id, data });
  }

  /** The channel of a subscribe/unsubscribe frame: `data.channel`, else the top-level `channel`. */
  #channelOf(frame: Frame, fromData: boolean): string {
    const d = frame.data;
    const fromPayload =
      fromData && d !== null && typeof d === 'object' ? (d as Record<string, unknown>).channel : undefined;
    const name = fromPayload ?? frame.channel;
    if (!isValidChannelName(name)) {
      throw new ProtocolError(
        ErrorCode.InvalidChannel,
        'a channel name is 1-200 characters of A-Z a-z 0-9 _ - . : @ / =',
      );
    }
    return name;
  }

  #channelRef(session: WebSocketSession, name: string): ChannelRef {
    const tenantId = session.tenantId;
    if (this.config.tenantIsolation && tenantId === null && name.startsWith(TENANT_CHANNEL_PREFIX)) {
      throw new ProtocolError(
        ErrorCode.InvalidChannel,
        `channel names starting with "${TENANT_CHANNEL_PREFIX}" are reserved`,
      );
    }
    return { name, internal: internalChannelName(name, tenantId, this.config.tenantIsolation), tenantId };
  }

  async #subscribe(session: WebSocketSession, frame: Frame): Promise<void> {
    const name = this.#channelOf(frame, true);
    const existing = session.subscriptions.get(name);
    if (existing !== undefined) {
      this.#ack(session, frame.id, { channel: name, subscribers: this.#channels.subscribers(existing).size });
      return;
    }
    if (session.subscriptions.size >= this.config.maxSubscriptionsPerSession) {
      throw new ProtocolError(
        ErrorCode.TooManySubscriptions,
        `a session may hold at most ${this.config.maxSubscriptionsPerSession} channels`,
      );
    }
    const ref = this.#channelRef(session, name);
    if (!(await this.config.channelPolicy.canSubscribe(session, ref))) {
      throw new ProtocolError(ErrorCode.Forbidden, `subscribing to "${name}" is not allowed`);
    }
    if (!session.isOpen) return;
    session.subscriptions.set(name, ref.internal);
    this.#channels.add(ref.internal, session);
    await this.#interest.acquire(topicFor({ kind: 'channel', channel: ref.internal, name }));
    this.#ack(session, frame.id, {
      channel: name,
      subscribers: this.#channels.subscribers(ref.internal).size,
    });
  }

  async #unsubscribe(session: WebSocketSession, frame: Frame): Promise<void> {
    const name = this.#channelOf(frame, true);
    const internal = session.subscriptions.get(name);
    if (internal !== undefined) this.#dropSubscription(session, name, internal);
    this.#ack(session, frame.id, { channel: name });
  }

  #dropSubscription(session: WebSocketSession, name: string, internal: string): void {
    session.subscriptions.delete(name);
    this.#channels.remove(internal, session);
    this.#interest.release(topicFor({ kind: 'channel', channel: internal, name }));
  }

  /**
   * After an in-band `auth` changed who the session is (roles, permissions, tenant), drops
   * every subscription the channel policy no longer allows, or whose tenant scope changed,
   * telling the client with an `unsubscribed` push (protocol.md v1.1).
   */
  async #recheckSubscriptions(session: WebSocketSession): Promise<void> {
    for (const [name, internal] of [...session.subscriptions]) {
      let reason: string | null = null;
      let ref: ChannelRef | undefined;
      try {
        ref = this.#channelRef(session, name);
      } catch {
        reason = ErrorCode.Forbidden;
      }
      if (ref !== undefined) {
        if (ref.internal !== internal) reason = 'tenant_changed';
        else {
          let allowed: boolean;
          try {
            allowed = await this.config.channelPolicy.canSubscribe(session, ref);
          } catch (error) {
            this.#reportError(error, 'channel policy');
            allowed = false;
          }
          if (!allowed) reason = ErrorCode.Forbidden;
        }
      }
      if (reason === null || session.subscriptions.get(name) !== internal) continue;
      this.#dropSubscription(session, name, internal);
      session.send({ type: 'unsubscribed', channel: name, data: { reason } });
    }
  }

  async #clientPublish(session: WebSocketSession, frame: Frame): Promise<void> {
    const name = this.#channelOf(frame, false);
    const event = frame.event ?? 'message';
    if (!isValidEventName(event) || SERVER_FRAME_TYPES.has(event)) {
      throw new ProtocolError(
        ErrorCode.BadRequest,
        `"event" must be 1-100 characters of A-Z a-z 0-9 _ - . : @ / and not a server frame type`,
      );
    }
    const ref = this.#channelRef(session, name);
    if (!this.config.clientPublish && !(await this.config.channelPolicy.canPublish(session, ref))) {
      throw new ProtocolError(ErrorCode.Forbidden, `publishing on "${name}" is not allowed`);
    }
    // Local delivery happens inside publish() before it awaits the backend, so the next frame
    // of this session may be handled while the backend confirms: order is kept, latency is not paid twice.
    // The answer follows the backend's: an ack once it accepted the message, else
    // `backend_unavailable` (protocol.md v1.1), with or without an id.
    this.#broadcaster.publish({ kind: 'channel', channel: ref.internal, name }, event, frame.data).then(
      () => this.#ack(session, frame.id, { channel: name }),
      (error: unknown) => {
        if (session.isOpen) this.#refuseFrame(session, frame.type, frame.id, error);
      },
    );
  }

  async #auth(session: WebSocketSession, frame: Frame): Promise<void> {
    const d = frame.data;
    const token = d !== null && typeof d === 'object' ? (d as Record<string, unknown>).token : undefined;
    if (typeof token !== 'string' || token.length === 0) {
      this.#authFailed('missing', 'the auth frame has no data.token', session);
      throw new ProtocolError(ErrorCode.AuthFailed, 'data.token must be a non-empty string');
    }
    const identity = await this.#authenticate(token, 'frame', session.tenantId, undefined, session);
    const tokenTenant = identity.tenantId ?? null;
    if (session.tenantId !== null && tokenTenant !== null && tokenTenant !== session.tenantId) {
      this.#authFailed('tenant_mismatch', "the token's tenant differs from the session's", session);
      throw new ProtocolError(ErrorCode.Forbidden, 'the token belongs to another tenant');
    }
    if (session.tenantId !== null && tokenTenant === null && !this.config.tenantAgnosticTokens) {
      this.#authFailed('tenant_missing', 'the token has no tenant and the session is in one', session);
      throw new ProtocolError(ErrorCode.Forbidden, 'the token has no tenant_id and cannot enter a tenant');
    }
    if (session.isAuthenticated && session.userId !== identity.userId) {
      this.#authFailed(
        'user_mismatch',
        'a token of another user was sent on an authenticated session',
        session,
      );
      throw new ProtocolError(ErrorCode.Forbidden, 'a session cannot change its user: open a new connection');
    }
    const state = this.#state.get(session);
    if (state === undefined || !session.isOpen) return;
    const verified = { ...identity, tenantId: tokenTenant ?? session.tenantId };
    if (this.#identityMiddleware.length > 0) {
      try {
        await this.#runIdentity({
          session,
          identity: verified,
          state: state.connection.state,
          gateway: this,
          onClose: state.connection.onClose,
        });
      } catch (error) {
        if (error instanceof ProtocolError && error.code === ErrorCode.RateLimited) {
          // After the error frame (written in this turn), the session goes: it may not exist as
          // this user now, and 4429 tells the client to come back later (4401 would not).
          setImmediate(() => session.close(CloseCode.RateLimited));
        }
        throw error;
      }
      if (!session.isOpen) return;
    }
    session.applyIdentity(verified);
    clearTimeout(state.authTimer);
    state.authTimer = undefined;
    this.#scheduleExpiry(session, state);
    await this.#recheckSubscriptions(session);
    this.#ack(session, frame.id, {
      user_id: session.userId,
      tenant_id: session.tenantId,
      roles: session.roles,
      permissions: session.permissions,
      expires_at: session.expiresAt === null ? null : Math.floor(session.expiresAt / 1000),
    });
  }

  async #custom(session: WebSocketSession, frame: Frame): Promise<void> {
    const handler = this.#handlers.get(frame.type);
    if (handler === undefined) {
      throw new ProtocolError(ErrorCode.UnknownType, `no handler for frame type "${frame.type}"`);
    }
    let replied = false;
    const reply = (data: unknown) => {
      if (replied) return;
      replied = true;
      this.#ack(session, frame.id, data ?? null);
    };
    const result = await handler(session, frame.data, {
      id: frame.id,
      type: frame.type,
      frame,
      gateway: this,
      reply,
    });
    reply(result);
  }

  // ---------------------------------------------------------------- timers

  /** Sends `auth_expiring` ahead of the token's expiry and closes with 4401 at expiry. */
  #scheduleExpiry(session: WebSocketSession, state: SessionState): void {
    clearTimeout(state.expiringTimer);
    clearTimeout(state.expiryTimer);
    state.expiringTimer = undefined;
    state.expiryTimer = undefined;
    const expiresAt = session.expiresAt;
    if (expiresAt === null) return;
    const warnAt = expiresAt - this.config.authExpiringLeadMs;
    const warn = () =>
      session.send({ type: 'auth_expiring', data: { expires_at: Math.floor(expiresAt / 1000) } });
    if (warnAt <= Date.now()) warn();
    else state.expiringTimer = timerAt(warnAt, warn, (t) => (state.expiringTimer = t));
    state.expiryTimer = timerAt(
      expiresAt,
      () => {
        // Only if no newer token extended the session meanwhile.
        if (session.expiresAt === expiresAt) session.close(CloseCode.Unauthorized);
      },
      (t) => (state.expiryTimer = t),
    );
  }

  /** The heartbeat: pings every session, terminates those silent for two intervals. */
  #tick(): void {
    const now = Date.now();
    const limit = 2 * this.config.heartbeatMs;
    for (const session of [...this.#sessions.all()]) {
      const ws = session.socket;
      if (ws.readyState === ws.CLOSED) {
        // A socket that closed without its close event reaching us: clean it up here.
        const state = this.#state.get(session);
        if (state !== undefined) {
          this.#counters.stale_sessions_removed++;
          this.#onClose(session, state, 1006, 'stale');
        }
        continue;
      }
      if (now - session.lastSeenAt > limit) {
        this.#counters.heartbeat_timeouts++;
        session.closing = true;
        ws.terminate();
        continue;
      }
      if (ws.readyState === ws.OPEN) ws.ping();
    }
  }

  // ---------------------------------------------------------------- errors and hooks

  #reportError(error: unknown, context: string): void {
    this.config.logger.error({ error, context, node_id: this.nodeId }, `error in ${context}`);
    if (context === 'hook') return;
    this.#callHook('onError', (h) => h.onError?.(error, context));
  }

  #callHook(name: keyof ObservabilityHooks, call: (hooks: ObservabilityHooks) => void): void {
    const hooks = this.#hooks;
    if (hooks === undefined || hooks[name] === undefined) return;
    try {
      call(hooks);
    } catch (error) {
      this.config.logger.error({ error, hook: name }, 'an observability hook threw');
    }
  }
}

function timerAt(at: number, fn: () => void, set: (t: NodeJS.Timeout) => void): NodeJS.Timeout {
  const delay = at - Date.now();
  if (delay > MAX_TIMER_MS) {
    return setTimeout(() => set(timerAt(at, fn, set)), MAX_TIMER_MS);
  }
  return setTimeout(fn, Math.max(0, delay));
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Writes a JSON response. @internal */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}
