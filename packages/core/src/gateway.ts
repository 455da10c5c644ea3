import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { TokenVerifier } from './authentication';
import { basicMetrics } from './basic-metrics';
import { BROADCAST_TOPIC, type BroadcastTarget } from './broadcast-envelope';
import { Broadcaster } from './broadcaster';
import { ChannelFeatures, type ChannelPublishResult } from './channel-features';
import { internalChannelName, isValidChannelName, isValidEventName } from './channel-name';
import type { ChannelRef } from './channel-policy';
import { answerHistory, answerPresence, answerPresenceStats } from './channel-queries';
import { ChannelRegistry } from './channel-registry';
import { Cluster } from './cluster';
import { type GatewayOptions, type ResolvedGatewayConfig, resolveConfig } from './config';
import type { Connection, ConnectionNode } from './connection';
import { CloseCode, ErrorCode, RESERVED_CLIENT_TYPES, SERVER_FRAME_TYPES, SUBPROTOCOL } from './constants';
import type { NodeInfo } from './control-message';
import { ControlPlane } from './control-plane';
import { DeadlineQueue } from './deadline-queue';
import { Drain } from './drain';
import { type GatewayEventListener, type GatewayEventName, GatewayEvents } from './gateway-events';
import { Handshake } from './handshake';
import type { GatewayHealth } from './health';
import { BUILT_IN_COMPONENTS, HealthCheck, type HealthComponentCheck } from './health-check';
import { HookRunner } from './hook-runner';
import { handleHttpApiRequest } from './http-api';
import { sendJson } from './http-response';
import type { MessageHandler } from './message-handler';
import type { GatewayMiddleware } from './middleware';
import { MiddlewareStack } from './middleware-stack';
import type { ObservabilityHooks } from './observability-hooks';
import { createOwnedServer } from './owned-http-server';
import { isPositioned } from './positioned-payload';
import { ProtocolError } from './protocol-error';
import { Router } from './router';
import type { WebSocketSession } from './session';
import { SessionRegistry } from './session-registry';
import { createCounters, type GatewayCounters, type GatewayStats } from './stats';
import type { StreamPosition } from './stream-position';
import { TopicInterest } from './topic-interest';
import { VERSION } from './version';
import { WriteCoalescer } from './write-coalescer';

export type { MessageHandler, MessageHandlerContext } from './message-handler';

/** Options of the targeted broadcasts. */
export interface BroadcastOptions {
  /** Reach only sessions of this tenant (and, for channels, that tenant's channel). */
  tenantId?: string | null;
}

/**
 * Whom {@link WebSocketGateway.broadcast} reaches. A channel is named as clients name it;
 * `tenantId` scopes it (and every other kind but `tenant`) to one tenant.
 */
export type GatewayBroadcastTarget =
  | { kind: 'channel'; name: string; tenantId?: string | null }
  | Exclude<BroadcastTarget, { kind: 'channel' }>;

/** The address a started gateway listens on. */
export interface GatewayAddress {
  host: string;
  port: number;
}

type GatewayState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped';

/**
 * The WebSocket gateway: accepts connections, speaks protocol v1, keeps sessions and channels,
 * and broadcasts to channels, users, tenants, roles and permissions across nodes through a
 * {@link Backend}.
 *
 * This class orchestrates; the work is done by its parts: `handshake.ts` (upgrades and
 * refusals), `connection.ts` (one connection's state, inbound queue and writes), `router.ts`
 * (reserved frames and their authorization), `broadcaster.ts` (local delivery and the backend),
 * `drain.ts` (stop and heartbeats), `health-check.ts` and `http-api.ts`.
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
  readonly #hooks: HookRunner;
  readonly #interest: TopicInterest;
  readonly #sessions: SessionRegistry<Connection>;
  readonly #channels: ChannelRegistry<Connection>;
  readonly #broadcaster: Broadcaster;
  readonly #features: ChannelFeatures;
  readonly #events: GatewayEvents;
  #fallbackHandler: MessageHandler | undefined;
  readonly #metricsSources = new Set<() => string | Promise<string>>();
  readonly #control: ControlPlane;
  /** The whole cluster: disconnect, subscribe and unsubscribe sessions on every node; `info`, `channels`. */
  readonly cluster: Cluster;
  readonly #counters: GatewayCounters = createCounters();
  /** Inbound frames read on this node and not yet handled (every connection's inbox). */
  readonly #pendingInbound = { frames: 0, bytes: 0 };
  readonly #handlers = new Map<string, MessageHandler>();
  readonly #middleware: MiddlewareStack;
  readonly #handshake: Handshake;
  readonly #drain: Drain;
  readonly #health = new HealthCheck();
  #status: GatewayState = 'idle';
  #startedAt = 0;
  #stopping: Promise<void> | undefined;
  readonly #upgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    this.handleUpgrade(req, socket, head).catch((error: unknown) => {
      this.#hooks.reportError(error, 'handshake');
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
    const config = resolveConfig(options);
    this.config = config;
    this.nodeId = config.nodeId;
    this.#hooks = new HookRunner(config.hooks, config.logger, this.nodeId);
    this.#ownsServer = config.server === undefined;
    this.server = config.server ?? createOwnedServer(config.handshakeTimeoutMs);
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.maxMessageBytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.#interest = new TopicInterest(config.backend, (error, topic) => {
      this.#counters.backend_errors++;
      this.#hooks.reportError(error, `backend subscription of ${topic}`);
    });
    this.#sessions = new SessionRegistry(this.#interest);
    this.#channels = new ChannelRegistry(this.#interest);
    this.#broadcaster = new Broadcaster({
      nodeId: this.nodeId,
      backend: config.backend,
      sessions: this.#sessions,
      channels: this.#channels,
      counters: this.#counters,
      hooks: this.#hooks,
      eligible: (c) => c.authenticated || !config.requireToken,
      onError: (error, context) => this.#hooks.reportError(error, context),
    });
    this.#events = new GatewayEvents((error, context) => this.#hooks.reportError(error, context));
    const features = new ChannelFeatures({
      events: this.#events,
      config,
      nodeId: this.nodeId,
      channels: this.#channels,
      broadcaster: this.#broadcaster,
      counters: this.#counters,
      hooks: this.#hooks,
    });
    this.#features = features;
    const control = new ControlPlane({
      nodeId: this.nodeId,
      backend: config.backend,
      interest: this.#interest,
      sessions: this.#sessions,
      channels: this.#channels,
      features,
      tenantIsolation: config.tenantIsolation,
      channelPolicy: config.channelPolicy,
      maxSubscriptionsPerSession: config.maxSubscriptionsPerSession,
      snapshot: () => this.#nodeInfo(),
      onError: (error, context) => this.#hooks.reportError(error, context),
      logger: config.logger,
      announceIntervalMs: config.announceIntervalMs,
      queryTimeoutMs: config.clusterQueryTimeoutMs,
    });
    this.#control = control;
    this.cluster = new Cluster(control);
    const tokens = new TokenVerifier(config, this.#counters, this.#hooks);
    // The message middleware ends in the router; the router runs identity middleware.
    const middleware: MiddlewareStack = new MiddlewareStack((ctx) => router.routeOrRefuse(ctx));
    this.#middleware = middleware;
    const router: Router = new Router({
      config,
      counters: this.#counters,
      hooks: this.#hooks,
      channels: this.#channels,
      broadcaster: this.#broadcaster,
      features,
      events: this.#events,
      fallbackHandler: () => this.#fallbackHandler,
      handlers: this.#handlers,
      middleware,
      tokens,
      gateway: this,
    });
    const drain = new Drain({
      nodeId: this.nodeId,
      config,
      counters: this.#counters,
      hooks: this.#hooks,
      sessions: this.#sessions,
      interest: this.#interest,
      server: this.server,
      ownsServer: this.#ownsServer,
      wss: this.#wss,
      upgradeListener: this.#upgradeListener,
      requestListener: this.#requestListener,
      beforeBackendStop: async () => {
        control.stop();
        await features.stop();
      },
    });
    this.#drain = drain;
    const connections: ConnectionNode = {
      nodeId: this.nodeId,
      config,
      counters: this.#counters,
      pendingInbound: this.#pendingInbound,
      writer: new WriteCoalescer(Math.min(64 * 1024, Math.floor(config.maxBufferedBytes / 4))),
      sessions: this.#sessions,
      channels: this.#channels,
      hooks: this.#hooks,
      expiries: new DeadlineQueue<Connection>(
        (c) => c.expiryDue(),
        (error) => this.#hooks.reportError(error, 'session expiry'),
      ),
      handleFrame: (connection, text, bytes) => router.handleFrame(connection, text, bytes),
      leaveChannel: (connection, name, internal, disconnected) =>
        features.leave(connection, name, internal, disconnected),
      events: this.#events,
      subscribeIdentityChannels: (connection, channels) =>
        void control.subscribeClaimed(connection, channels),
      gone: () => drain.gone(),
    };
    this.#handshake = new Handshake({
      config,
      server: this.server,
      ownsServer: this.#ownsServer,
      wss: this.#wss,
      middleware: this.#middleware,
      tokens,
      gateway: this,
      connections,
      accepting: () => this.#status === 'running',
    });
    if (options.trustProxy === true) {
      config.logger.warn(
        { trust_proxy: config.trustProxy.description },
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
      await this.config.backend.start((topic, payload) => this.#receive(topic, payload));
      await this.#features.start();
      await this.#control.start();
      await this.#interest.need(BROADCAST_TOPIC);
      this.server.on('upgrade', this.#upgradeListener);
      if (this.config.serveHttp) this.server.on('request', this.#requestListener);
      if (this.#ownsServer) {
        await new Promise<void>((resolve, reject) => {
          this.server.once('error', reject);
          this.server.listen(this.config.port, this.config.host, this.config.listenBacklog, () => {
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
      await this.#features.stop();
      throw error;
    }
    this.#drain.startHeartbeat();
    this.#health.start();
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
   * and the server close (see `drain.ts`). Safe to call more than once.
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
    this.#health.stop();
    await this.#drain.run(() => {
      this.#status = 'stopped';
    });
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

  /**
   * Sets (or, with undefined, removes) the handler of every custom frame type that has no
   * handler of its own (e.g. an RPC proxy to the application backend); without it such frames
   * get `unknown_type`.
   */
  setFallbackHandler(handler: MessageHandler | undefined): this {
    if (handler !== undefined && typeof handler !== 'function')
      throw new TypeError('the fallback handler must be a function');
    this.#fallbackHandler = handler;
    return this;
  }

  /**
   * Listens to a gateway event (sessions connecting and closing, channels occupied and vacated
   * on this node, presence members added and removed, client publishes); returns a function that
   * stops listening. Listeners must not block; one that throws is reported and ignored.
   *
   * @example
   * gateway.on('session.disconnected', ({ session, code, durationMs }) => audit(session.userId, code, durationMs))
   */
  on<K extends GatewayEventName>(name: K, listener: GatewayEventListener<K>): () => void {
    return this.#events.on(name, listener);
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
    this.#middleware.add(middleware);
    return this;
  }

  /** The hooks set with {@link setObservabilityHooks} (or the `hooks` option). */
  get observabilityHooks(): ObservabilityHooks | undefined {
    return this.#hooks.hooks;
  }

  /**
   * The Prometheus text that `GET /metrics` serves: the hooks' `metrics()`, else the gateway's
   * basic set.
   */
  async getPrometheusMetrics(): Promise<string> {
    let text = (await this.#hooks.hooks?.metrics?.()) ?? basicMetrics(this);
    for (const source of this.#metricsSources) {
      try {
        const more = await source();
        if (more.length > 0) text += text.endsWith('\n') || text.length === 0 ? more : `\n${more}`;
      } catch (error) {
        this.#hooks.reportError(error, 'metrics source');
      }
    }
    return text;
  }

  /** Sets (or, with undefined, removes) the metrics, tracing and log hooks. */
  setObservabilityHooks(hooks: ObservabilityHooks | undefined): this {
    this.#hooks.hooks = hooks;
    return this;
  }

  // ---------------------------------------------------------------- broadcasting

  /**
   * Delivers `{type, data}` (with `channel` for a channel) to every session `target` names, on
   * every node: the one entry point behind every `broadcastTo*` method and `POST /api/publish`.
   * Local sessions get it at once; resolves with their number once the backend accepted it.
   * Rejects with a `ProtocolError` (`invalid_channel`, `bad_request`) for an invalid target or
   * type, and with a {@link BackendUnavailableError} (carrying `deliveredLocal`) when the backend
   * did not accept it: local sessions got it, other nodes did not.
   *
   * @example
   * await gateway.broadcast({ kind: 'channel', name: 'news' }, 'headline', { title: 'hello' })
   * await gateway.broadcast({ kind: 'user', userId: 'u1', tenantId: 'acme' }, 'notice', { n: 1 })
   * await gateway.broadcast({ kind: 'all' }, 'maintenance', { at: '02:00' })
   */
  broadcast(target: GatewayBroadcastTarget, type: string, data: unknown): Promise<number> {
    const resolved = this.#resolveTarget(target, type);
    if (resolved instanceof ProtocolError) return Promise.reject(resolved);
    if (resolved.kind === 'channel') {
      const tenantId = target.kind === 'channel' ? (target.tenantId ?? null) : null;
      return this.#features.publish(channelRef(resolved, tenantId), type, data).then((r) => r.delivered);
    }
    return this.#broadcaster.publish(resolved, type, data);
  }

  /**
   * Publishes `{type, channel, data}` to a channel on every node, like
   * {@link broadcastToChannel}, and tells where it went: in a channel with history its `offset`
   * and `epoch`, and whether `idempotencyKey` was seen before (`duplicate`: nothing was delivered
   * again). Rejects like {@link broadcast}.
   *
   * @example
   * const { offset } = await gateway.publish('room:1', 'message', { text: 'hi' }, { idempotencyKey: 'msg-42' })
   */
  publish(
    channel: string,
    type: string,
    data: unknown,
    options: BroadcastOptions & { idempotencyKey?: string } = {},
  ): Promise<ChannelPublishResult> {
    const resolved = this.#resolveTarget(
      { kind: 'channel', name: channel, tenantId: options.tenantId },
      type,
    );
    if (resolved instanceof ProtocolError) return Promise.reject(resolved);
    if (resolved.kind !== 'channel')
      return Promise.reject(new ProtocolError(ErrorCode.BadRequest, 'not a channel'));
    const ref = channelRef(resolved, options.tenantId ?? null);
    return this.#features.publish(ref, type, data, options.idempotencyKey);
  }

  /**
   * Reads a channel's history (`POST /api/history`): its current position and, oldest first
   * (newest first with `reverse`), up to `limit` publications after `since`. Rejects with
   * `not_available` for a channel without history, `bad_request` for a bad option, and
   * `BackendUnavailableError` when the store does not answer.
   *
   * @example
   * const { offset, epoch, publications } = await gateway.history('room:1', { limit: 50 })
   */
  async history(channel: string, options: HistoryOptions = {}): Promise<HistoryResult> {
    const ref = this.#queryRef(channel, options.tenantId);
    const r = await answerHistory(this.#features, ref, { ...options }, '');
    return {
      offset: r.offset,
      epoch: r.epoch,
      publications: r.publications.map((p) => JSON.parse(p) as HistoryResult['publications'][number]),
    };
  }

  /** Forgets a channel's history (`POST /api/history_remove`); the channel gets a new epoch. */
  async removeHistory(channel: string, options: BroadcastOptions = {}): Promise<void> {
    const ref = this.#queryRef(channel, options.tenantId);
    await this.#features.history.remove(ref.internal);
  }

  /** The members of a channel with presence, by session id (`POST /api/presence`). */
  async presence(
    channel: string,
    options: BroadcastOptions = {},
  ): Promise<Record<string, Record<string, unknown>>> {
    return (await answerPresence(this.#features, this.#queryRef(channel, options.tenantId))).clients;
  }

  /** The counts of a channel with presence (`POST /api/presence_stats`). */
  presenceStats(
    channel: string,
    options: BroadcastOptions = {},
  ): Promise<{ num_clients: number; num_users: number }> {
    return answerPresenceStats(this.#features, this.#queryRef(channel, options.tenantId));
  }

  #queryRef(channel: string, tenantId: string | null | undefined): ChannelRef {
    const resolved = this.#resolveTarget({ kind: 'channel', name: channel, tenantId }, 'message');
    if (resolved instanceof ProtocolError) throw resolved;
    if (resolved.kind !== 'channel') throw new ProtocolError(ErrorCode.BadRequest, 'not a channel');
    return channelRef(resolved, tenantId ?? null);
  }

  /** A payload from the backend: a numbered channel publication, or an envelope. */
  #receive(topic: string, payload: Uint8Array): void {
    if (isPositioned(payload)) this.#features.history.receive(payload);
    else if (this.#control.owns(topic)) this.#control.receive(payload);
    else this.#broadcaster.receive(topic, payload);
  }

  /** Checks a broadcast's target and type; the target as the broadcaster takes it, or the refusal. */
  #resolveTarget(target: GatewayBroadcastTarget, type: string): BroadcastTarget | ProtocolError {
    if (target?.kind === 'channel') {
      if (!isValidChannelName(target.name)) {
        return new ProtocolError(
          ErrorCode.InvalidChannel,
          `invalid channel name ${JSON.stringify(target.name)}`,
        );
      }
    }
    if (!isValidEventName(type) || SERVER_FRAME_TYPES.has(type)) {
      return new ProtocolError(
        ErrorCode.BadRequest,
        `message type ${JSON.stringify(type)} is not allowed for a broadcast`,
      );
    }
    let resolved: BroadcastTarget;
    switch (target?.kind) {
      case 'channel': {
        const internal = internalChannelName(
          target.name,
          target.tenantId ?? null,
          this.config.tenantIsolation,
        );
        return { kind: 'channel', channel: internal, name: target.name };
      }
      case 'user':
        resolved = { kind: 'user', userId: target.userId, tenantId: target.tenantId ?? null };
        break;
      case 'tenant':
        resolved = { kind: 'tenant', tenantId: target.tenantId };
        break;
      case 'role':
        resolved = { kind: 'role', role: target.role, tenantId: target.tenantId ?? null };
        break;
      case 'permission':
        resolved = { kind: 'permission', permission: target.permission, tenantId: target.tenantId ?? null };
        break;
      case 'all':
        resolved = { kind: 'all', tenantId: target.tenantId ?? null };
        break;
      default:
        return new ProtocolError(ErrorCode.BadRequest, 'a broadcast target needs a known kind');
    }
    for (const key of ['userId', 'tenantId', 'role', 'permission'] as const) {
      const v = (resolved as Record<string, unknown>)[key];
      if (v !== undefined && v !== null && (typeof v !== 'string' || v.length === 0)) {
        return new ProtocolError(ErrorCode.BadRequest, `${key} must be a non-empty string`);
      }
    }
    return resolved;
  }

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
    return this.broadcast({ kind: 'channel', name: channel, tenantId: options.tenantId }, type, data);
  }

  /** Delivers `{type, data}` to every session of `userId` on every node. */
  broadcastToUser(
    userId: string,
    type: string,
    data: unknown,
    options: BroadcastOptions = {},
  ): Promise<number> {
    return this.broadcast({ kind: 'user', userId, tenantId: options.tenantId }, type, data);
  }

  /** Delivers `{type, data}` to every session of `tenantId` on every node. */
  broadcastToTenant(tenantId: string, type: string, data: unknown): Promise<number> {
    return this.broadcast({ kind: 'tenant', tenantId }, type, data);
  }

  /** Delivers `{type, data}` to every session whose user has `role`, on every node. */
  broadcastToRole(
    role: string,
    type: string,
    data: unknown,
    options: BroadcastOptions = {},
  ): Promise<number> {
    return this.broadcast({ kind: 'role', role, tenantId: options.tenantId }, type, data);
  }

  /** Delivers `{type, data}` to every session whose user has `permission`, on every node. */
  broadcastToPermission(
    permission: string,
    type: string,
    data: unknown,
    options: BroadcastOptions = {},
  ): Promise<number> {
    return this.broadcast({ kind: 'permission', permission, tenantId: options.tenantId }, type, data);
  }

  /** Delivers `{type, data}` to every session on every node (of one tenant, with `tenantId`). */
  broadcastToAll(type: string, data: unknown, options: BroadcastOptions = {}): Promise<number> {
    return this.broadcast({ kind: 'all', tenantId: options.tenantId }, type, data);
  }

  // ---------------------------------------------------------------- sessions

  /** The session with this id on this node. */
  getSession(sessionId: string): WebSocketSession | undefined {
    return this.#sessions.get(sessionId)?.session;
  }

  /** Every session on this node. */
  *sessions(): IterableIterator<WebSocketSession> {
    for (const c of this.#sessions.all()) yield c.session;
  }

  /** Closes a session, by default with 4403 (revoked: the client does not reconnect by itself). */
  disconnectSession(sessionId: string, code: number = CloseCode.Forbidden, reason?: string): boolean {
    const c = this.#sessions.get(sessionId);
    if (c === undefined) return false;
    c.close(code, reason);
    return true;
  }

  // ---------------------------------------------------------------- health and stats

  /**
   * The health of the server, the sessions and the backend (`GET /health`); `sessions` is
   * degraded near `maxConnections` or when the event loop lags (see `health-check.ts`).
   */
  healthCheck(): Promise<GatewayHealth> {
    return this.#health.check({
      nodeId: this.nodeId,
      config: this.config,
      state: this.#status,
      startedAt: this.#startedAt,
      sessions: this.#sessions.size,
      authenticated: this.#countAuthenticated(),
      channels: this.#channels.channelCount,
      subscriptions: this.#channels.subscriptionCount,
    });
  }

  /**
   * Adds a component to `GET /health` (and `healthCheck()`), e.g. an application-backend
   * proxy's circuit breaker. A component that is not healthy makes the gateway `degraded` (it
   * still serves its sessions); one that throws or takes over 2 s reads as unhealthy. Returns a
   * function that removes it.
   *
   * @example
   * gateway.addHealthComponent('app_proxy', () => ({ status: breaker.open ? 'degraded' : 'healthy' }))
   */
  addHealthComponent(name: string, check: HealthComponentCheck): () => void {
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(name) || BUILT_IN_COMPONENTS.has(name)) {
      throw new TypeError(
        `a health component name is 1-64 characters of a-z 0-9 _ (starting with a letter) and not ${[...BUILT_IN_COMPONENTS].join(', ')}`,
      );
    }
    if (typeof check !== 'function') throw new TypeError('a health component check must be a function');
    return this.#health.add(name, check);
  }

  /**
   * Adds Prometheus text to `GET /metrics`, after the gateway's own metrics (or the
   * observability hooks'). Returns a function that removes it.
   */
  addMetricsSource(source: () => string | Promise<string>): () => void {
    if (typeof source !== 'function')
      throw new TypeError('a metrics source must be a function returning Prometheus text');
    this.#metricsSources.add(source);
    return () => this.#metricsSources.delete(source);
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
      channel_features: this.#features.stats(),
    };
  }

  /** What this node announces to the others (and answers `info` with). */
  #nodeInfo(): NodeInfo {
    const c = this.#counters;
    return {
      node_id: this.nodeId,
      version: VERSION,
      uptime_s: this.#startedAt === 0 ? 0 : Math.round((Date.now() - this.#startedAt) / 1000),
      sessions: this.#sessions.size,
      users: this.#sessions.userCount,
      channels: this.#channels.channelCount,
      subscriptions: this.#channels.subscriptionCount,
      messages_sent: c.messages_sent,
      messages_received: c.messages_received,
      memory_rss: process.memoryUsage.rss(),
    };
  }

  #countAuthenticated(): number {
    let n = 0;
    for (const c of this.#sessions.all()) if (c.authenticated) n++;
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
   * why not (see `handshake.ts`). Call it yourself only when you route upgrades yourself. Never
   * rejects: a request target that is not a URL gets 400, and a fault of the gateway's own gets 500.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    return this.#handshake.handle(req, socket, head);
  }
}

/** Options of {@link WebSocketGateway.history}. */
export interface HistoryOptions extends BroadcastOptions {
  /** At most this many publications (0-1000). @default the channel's history_size, at most 1000 */
  limit?: number;
  /** Only publications after this position (none when its epoch is not the channel's). @default from the oldest kept */
  since?: StreamPosition;
  /** Newest first. @default false */
  reverse?: boolean;
}

/** What {@link WebSocketGateway.history} resolves with. */
export interface HistoryResult extends StreamPosition {
  /** The publications, as clients receive them in a `history` ack. */
  publications: { type: string; data: unknown; offset: number }[];
}

/** The channel of a resolved channel target, as a policy sees it. */
function channelRef(target: BroadcastTarget & { kind: 'channel' }, tenantId: string | null): ChannelRef {
  return { name: target.name, internal: target.channel, tenantId };
}
