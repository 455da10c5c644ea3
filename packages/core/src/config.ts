import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type ApiKeyOption, type ResolvedApiKey, resolveApiKeys } from './api-keys';
import type { Authenticator, Identity } from './authenticator';
import type { Backend } from './backend';
import { type ChannelPolicy, defaultChannelPolicy } from './channel-policy';
import { ConfigError } from './config-error';
import type { HistoryStore } from './history-store';
import { DEFAULT_MAX_JSON_DEPTH, MAX_JSON_DEPTH_LIMIT } from './json-depth';
import { createConsoleLogger, type Logger } from './logger';
import { MemoryBackend } from './memory-backend';
import { MemoryHistoryStore } from './memory-history-store';
import { MemoryPresenceStore } from './memory-presence-store';
import type { ObservabilityHooks } from './observability-hooks';
import {
  checkIntegerOptions,
  describeOptionValue,
  type IntegerRule,
  withoutUndefined,
} from './option-checks';
import type { PresenceStore } from './presence-store';
import type { WebSocketSession } from './session';
import { compileTrustProxy, type TrustedProxies, type TrustProxyOption } from './trusted-proxies';

/** What happens to a session whose outbound buffer passes `maxBufferedBytes`. */
export type SlowConsumerPolicy = 'close' | 'drop';

/** Options of a {@link WebSocketGateway}. Every field is optional. */
export interface GatewayOptions {
  /** Interface to listen on; unset listens on all interfaces. @default undefined */
  host?: string | undefined;
  /** Port to listen on; 0 binds a free port (see `gateway.address()`). @default 8765 */
  port?: number;
  /**
   * How many connection attempts the kernel queues while the gateway is busy accepting (the
   * `listen` backlog; Linux caps it at `net.core.somaxconn`). A reconnect storm after a node died
   * overflows Node's default of 511. Ignored when the gateway is attached to a server.
   * @default 4096
   */
  listenBacklog?: number;
  /**
   * How long a TCP connection to the gateway's own server may take, from connecting (or from
   * starting a further request on a kept-alive connection), to send the complete headers of its
   * request: the upgrade, or an HTTP API call. Later it is answered 408 and closed, checked at
   * least once a second. Bounds how long a client that connects and sends nothing, or trickles
   * its headers, holds a socket that no limit counts until it upgrades (Node's own bound is
   * 60 s, checked every 30 s). Once upgraded, the session's own deadlines apply
   * (`authTimeoutMs`, `heartbeatMs`). Ignored when the gateway is attached to your `server`:
   * set its `headersTimeout` yourself.
   * @default 10000
   */
  handshakeTimeoutMs?: number;
  /** The WebSocket path; `{path}/tenant/{id}` is the tenant-scoped endpoint. @default '/ws' */
  path?: string;
  /** An existing HTTP server to attach to instead of owning one. @default undefined */
  server?: Server | undefined;
  /**
   * Serve `/health`, `/ready`, `/metrics` and `/api/*` on the server's `request` event.
   * @default true when the gateway owns its server, false when attached (use `gateway.handleHttpRequest`)
   */
  serveHttp?: boolean | undefined;
  /**
   * Serves the HTTP requests the gateway does not own (with `serveHttp`), e.g. a page of your
   * own. @default a 404 JSON answer
   */
  httpFallback?: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  /** This node's id, in `welcome` and in broadcast envelopes. @default a random id */
  nodeId?: string | undefined;
  /** How nodes reach each other. @default new MemoryBackend() */
  backend?: Backend | undefined;
  /** Verifies tokens; without it, tokens are not accepted. @default undefined */
  authenticator?: Authenticator | undefined;
  /** Every session must authenticate (at the handshake or in-band). @default false */
  requireToken?: boolean;
  /** With `requireToken`, a handshake without a token may still authenticate in-band. @default true */
  authInBand?: boolean;
  /** How long an unauthenticated session may wait before sending `auth`. @default 5000 */
  authTimeoutMs?: number;
  /** How long before a token's expiry `auth_expiring` is sent. @default 30000 */
  authExpiringLeadMs?: number;
  /**
   * Called `authExpiringLeadMs` before a session's identity expires: an identity of the same
   * user (and tenant) with a later `expiresAt` extends the session without the client's help
   * (e.g. from the application backend's refresh endpoint); null, a throw or anything else sends
   * `auth_expiring` as without it. @default undefined (the client must send a new token)
   */
  refreshIdentity?: ((session: WebSocketSession) => Promise<Identity | null | undefined>) | undefined;
  /** Who may subscribe and publish. @default anyone may subscribe, nobody may publish */
  channelPolicy?: ChannelPolicy | undefined;
  /** Let clients publish on every channel, whatever the policy says. @default false */
  clientPublish?: boolean;
  /** Scope channel names by tenant (`news` -> `tenant:{id}:news`). @default true */
  tenantIsolation?: boolean;
  /** Resolve tenants from `Host` subdomains of this domain (`acme.example.com`). @default null */
  tenantSubdomainBase?: string | null | undefined;
  /** Origins allowed to connect; null allows any (and requests without `Origin`). @default null */
  allowedOrigins?: readonly string[] | null | undefined;
  /** Bearer key of the HTTP API (an admin key, id `default`); null (and no `apiKeys`) turns the API off. @default null */
  apiKey?: string | null | undefined;
  /**
   * More keys of the HTTP API, each with an id for logs and a scope (`admin`, or `publish`: only
   * `/api/publish` and `/api/broadcast`). Several keys allow rotation. @default []
   */
  apiKeys?: readonly ApiKeyOption[] | undefined;
  /** Largest inbound frame in bytes; larger closes with 1009. @default 65536 */
  maxMessageBytes?: number;
  /**
   * How deep an inbound frame or HTTP API body may nest (the outermost object is level 1);
   * deeper frames get `bad_request`, deeper bodies 400. @default 32
   */
  maxJsonDepth?: number;
  /** Largest outbound buffer per session in bytes before the slow-consumer policy applies. @default 1048576 */
  maxBufferedBytes?: number;
  /** `close` (4408) or `drop` (count and skip) for a session over `maxBufferedBytes`. @default 'close' */
  slowConsumerPolicy?: SlowConsumerPolicy;
  /** Channels one session may hold. @default 128 */
  maxSubscriptionsPerSession?: number;
  /** Open connections this node accepts; more get 503. 0 is unlimited. @default 0 */
  maxConnections?: number;
  /** Inbound frames queued per session before the gateway stops reading its socket. @default 256 */
  maxPendingFrames?: number;
  /**
   * Bytes of inbound frames queued per session before the gateway stops reading its socket
   * (whichever of this and `maxPendingFrames` is reached first). @default 4 * maxMessageBytes
   */
  maxPendingBytes?: number;
  /** WebSocket ping interval; no answer within two intervals terminates. @default 25000 */
  heartbeatMs?: number;
  /** How long a shutdown waits for sessions to close before terminating them. @default 10000 */
  drainTimeoutMs?: number;
  /** Refused `rate_limited` frames in a row before the session is closed with 4429. @default 50 */
  rateLimitCloseAfter?: number;
  /**
   * The proxies whose `X-Forwarded-For` names the client address: `false` (the socket's peer
   * is the client), a list of addresses and CIDR ranges (`['127.0.0.1/8', '10.0.0.0/8']`, or one
   * comma-separated string; `loopback`, `linklocal` and `uniquelocal` name their ranges), or a
   * hop count. The header is read only when the socket's peer is trusted, from the right, and
   * the client is the right-most address that is not a trusted proxy. `true` is a deprecated
   * alias of `'loopback'`. See {@link TrustProxyOption}.
   * @default false
   */
  trustProxy?: TrustProxyOption;
  /**
   * Tokens without a `tenant_id` may enter any tenant named by the path, `X-Tenant-ID`,
   * `?tenant=` or subdomain. Off, such a token is refused there (HTTP 403 `tenant_mismatch` at
   * the handshake, `forbidden` in-band), as protocol.md asks; turn it on only when your tokens
   * are deliberately valid in every tenant.
   * @default false
   */
  tenantAgnosticTokens?: boolean;
  /**
   * Where channels with history keep it (see {@link ChannelPolicy.options}). With a broker
   * backend, pass its package's store (`RedisHistoryStore`, `NatsHistoryStore`), or every node
   * keeps its own history. @default new MemoryHistoryStore()
   */
  history?: HistoryStore | undefined;
  /**
   * Where channels with presence keep their members. With a broker backend, pass its package's
   * store (`RedisPresenceStore`, `NatsPresenceStore`). @default new MemoryPresenceStore()
   */
  presence?: PresenceStore | undefined;
  /** A member whose node stopped refreshing it (the node died) is gone after this long. @default 60000 */
  presenceTtlMs?: number;
  /**
   * How long a session that disconnected stays a member, so that a client that reconnects at
   * once does not appear to leave. 0 removes it at once. @default 3000
   */
  presenceGraceMs?: number;
  /** Member info (the token's `info` claim) larger than this, as JSON, is left out. @default 1024 */
  maxPresenceInfoBytes?: number;
  /**
   * How often this node announces itself to the others over the backend; a node silent for
   * three announcements is dropped from `cluster.info()` and `cluster.channels()`. @default 5000
   */
  announceIntervalMs?: number;
  /** How long a cluster-wide query (`info`, `channels`) waits for the nodes' answers. @default 1000 */
  clusterQueryTimeoutMs?: number;
  /** Where logs go. @default JSON lines at level `info` */
  logger?: Logger | undefined;
  /** Metrics, tracing and log hooks. @default undefined */
  hooks?: ObservabilityHooks | undefined;
}

/** Options after defaults were applied and validated. */
export interface ResolvedGatewayConfig {
  host: string | undefined;
  port: number;
  listenBacklog: number;
  handshakeTimeoutMs: number;
  path: string;
  server: Server | undefined;
  serveHttp: boolean;
  httpFallback: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  nodeId: string;
  backend: Backend;
  authenticator: Authenticator | undefined;
  requireToken: boolean;
  authInBand: boolean;
  authTimeoutMs: number;
  authExpiringLeadMs: number;
  refreshIdentity: ((session: WebSocketSession) => Promise<Identity | null | undefined>) | undefined;
  channelPolicy: ChannelPolicy;
  clientPublish: boolean;
  tenantIsolation: boolean;
  tenantSubdomainBase: string | null;
  allowedOrigins: readonly string[] | null;
  apiKey: string | null;
  apiKeys: readonly ResolvedApiKey[];
  maxMessageBytes: number;
  maxJsonDepth: number;
  maxBufferedBytes: number;
  slowConsumerPolicy: SlowConsumerPolicy;
  maxSubscriptionsPerSession: number;
  maxConnections: number;
  maxPendingFrames: number;
  maxPendingBytes: number;
  heartbeatMs: number;
  drainTimeoutMs: number;
  rateLimitCloseAfter: number;
  trustProxy: TrustedProxies;
  tenantAgnosticTokens: boolean;
  history: HistoryStore;
  presence: PresenceStore;
  presenceTtlMs: number;
  presenceGraceMs: number;
  maxPresenceInfoBytes: number;
  announceIntervalMs: number;
  clusterQueryTimeoutMs: number;
  logger: Logger;
  hooks: ObservabilityHooks | undefined;
}

/** `maxPendingBytes` defaults to this many frames of `maxMessageBytes`. */
const PENDING_BYTES_PER_MESSAGE = 4;

/** The defaults of every plain option. */
export const DEFAULTS = {
  port: 8765,
  listenBacklog: 4096,
  handshakeTimeoutMs: 10_000,
  path: '/ws',
  requireToken: false,
  authInBand: true,
  authTimeoutMs: 5000,
  authExpiringLeadMs: 30_000,
  clientPublish: false,
  tenantIsolation: true,
  maxMessageBytes: 64 * 1024,
  maxJsonDepth: DEFAULT_MAX_JSON_DEPTH,
  maxBufferedBytes: 1024 * 1024,
  slowConsumerPolicy: 'close',
  maxSubscriptionsPerSession: 128,
  maxConnections: 0,
  maxPendingFrames: 256,
  heartbeatMs: 25_000,
  drainTimeoutMs: 10_000,
  rateLimitCloseAfter: 50,
  trustProxy: false,
  tenantAgnosticTokens: false,
  presenceTtlMs: 60_000,
  presenceGraceMs: 3000,
  maxPresenceInfoBytes: 1024,
  announceIntervalMs: 5000,
  clusterQueryTimeoutMs: 1000,
} as const satisfies Partial<GatewayOptions>;

const INT_RULES: readonly IntegerRule<keyof GatewayOptions & string>[] = [
  ['port', 0, 65535],
  ['listenBacklog', 1, 1_000_000],
  ['handshakeTimeoutMs', 100, 3_600_000],
  ['authTimeoutMs', 1, 3_600_000],
  ['authExpiringLeadMs', 0, 3_600_000],
  ['maxMessageBytes', 64, 256 * 1024 * 1024],
  ['maxJsonDepth', 2, MAX_JSON_DEPTH_LIMIT],
  ['maxBufferedBytes', 1024, 1024 * 1024 * 1024],
  ['maxSubscriptionsPerSession', 1, 1_000_000],
  ['maxConnections', 0, 10_000_000],
  ['maxPendingFrames', 1, 1_000_000],
  ['heartbeatMs', 100, 3_600_000],
  ['drainTimeoutMs', 0, 3_600_000],
  ['rateLimitCloseAfter', 1, 1_000_000],
  ['presenceTtlMs', 100, 86_400_000],
  ['presenceGraceMs', 0, 3_600_000],
  ['maxPresenceInfoBytes', 0, 1024 * 1024],
  ['announceIntervalMs', 50, 600_000],
  ['clusterQueryTimeoutMs', 10, 60_000],
];
/** Checked only when set: its default follows `maxMessageBytes`. */
const PENDING_BYTES_RULE: IntegerRule<'maxPendingBytes'> = ['maxPendingBytes', 64, 4 * 1024 * 1024 * 1024];
const BOOL_KEYS = [
  'requireToken',
  'authInBand',
  'clientPublish',
  'tenantIsolation',
  'tenantAgnosticTokens',
] as const;

/**
 * Applies defaults and checks every option; throws one {@link ConfigError} listing every problem.
 */
export function resolveConfig(options: GatewayOptions = {}): ResolvedGatewayConfig {
  const problems: string[] = [];
  const o = { ...DEFAULTS, ...withoutUndefined(options) } as GatewayOptions & {
    [K in keyof typeof DEFAULTS]-?: NonNullable<GatewayOptions[K]>;
  };

  checkIntegerOptions(problems, o, INT_RULES);
  const trustProxy = compileTrustProxy(o.trustProxy, problems);
  if (o.maxPendingBytes !== undefined) checkIntegerOptions(problems, o, [PENDING_BYTES_RULE]);
  for (const key of BOOL_KEYS) {
    if (typeof o[key] !== 'boolean')
      problems.push(`${key} is ${describeOptionValue(o[key])} when it must be true or false`);
  }
  if (
    typeof o.path !== 'string' ||
    !/^\/[A-Za-z0-9_\-./~]*$/.test(o.path) ||
    (o.path.length > 1 && o.path.endsWith('/'))
  ) {
    problems.push(
      `path is ${describeOptionValue(o.path)} when it must start with '/', not end with '/', and hold only URL path characters`,
    );
  }
  if (o.host !== undefined && (typeof o.host !== 'string' || o.host.length === 0)) {
    problems.push(`host is ${describeOptionValue(o.host)} when it must be a non-empty string or unset`);
  }
  if (
    o.nodeId !== undefined &&
    (typeof o.nodeId !== 'string' || !/^[A-Za-z0-9_\-.:]{1,64}$/.test(o.nodeId))
  ) {
    problems.push(
      `nodeId is ${describeOptionValue(o.nodeId)} when it must be 1-64 characters of A-Z a-z 0-9 _ - . :`,
    );
  }
  if (o.slowConsumerPolicy !== 'close' && o.slowConsumerPolicy !== 'drop') {
    problems.push(
      `slowConsumerPolicy is ${describeOptionValue(o.slowConsumerPolicy)} when it must be 'close' or 'drop'`,
    );
  }
  if (o.apiKey != null && (typeof o.apiKey !== 'string' || o.apiKey.length < 1)) {
    problems.push(`apiKey is ${describeOptionValue(o.apiKey)} when it must be a non-empty string or null`);
  }
  if (
    o.tenantSubdomainBase != null &&
    (typeof o.tenantSubdomainBase !== 'string' || !/^[a-z0-9.-]+$/i.test(o.tenantSubdomainBase))
  ) {
    problems.push(
      `tenantSubdomainBase is ${describeOptionValue(o.tenantSubdomainBase)} when it must be a domain name such as 'example.com' or null`,
    );
  }
  if (
    o.allowedOrigins != null &&
    (!Array.isArray(o.allowedOrigins) ||
      o.allowedOrigins.some((x) => typeof x !== 'string' || x.length === 0))
  ) {
    problems.push(
      `allowedOrigins is ${describeOptionValue(o.allowedOrigins)} when it must be an array of origins such as 'https://app.example.com' or null`,
    );
  }
  if (o.authenticator !== undefined && typeof o.authenticator?.authenticate !== 'function') {
    problems.push('authenticator must have an authenticate(token, context) method');
  }
  if (o.refreshIdentity !== undefined && typeof o.refreshIdentity !== 'function') {
    problems.push('refreshIdentity must be a function (session) returning a promise of an identity');
  }
  if (o.requireToken === true && o.authenticator === undefined) {
    problems.push('requireToken is true but no authenticator is set: nothing could verify a token');
  }
  if (
    o.channelPolicy !== undefined &&
    (typeof o.channelPolicy?.canSubscribe !== 'function' || typeof o.channelPolicy?.canPublish !== 'function')
  ) {
    problems.push(
      'channelPolicy must have canSubscribe(session, channel) and canPublish(session, channel) methods',
    );
  }
  if (o.backend !== undefined) {
    const missing = (['start', 'subscribe', 'unsubscribe', 'publish', 'health', 'stop'] as const).filter(
      (m) => typeof (o.backend as unknown as Record<string, unknown>)?.[m] !== 'function',
    );
    if (missing.length > 0) problems.push(`backend lacks the Backend methods ${missing.join(', ')}`);
  }
  for (const [key, methods] of [
    ['history', ['start', 'append', 'read', 'top', 'remove', 'stop']],
    ['presence', ['start', 'add', 'remove', 'refresh', 'list', 'stats', 'prune', 'stop']],
  ] as const) {
    const store = o[key] as unknown as Record<string, unknown> | undefined;
    if (store === undefined) continue;
    const missing = methods.filter((m) => typeof store?.[m] !== 'function');
    if (missing.length > 0) problems.push(`${key} lacks the store methods ${missing.join(', ')}`);
  }
  if (o.channelPolicy?.options !== undefined && typeof o.channelPolicy.options !== 'function') {
    problems.push('channelPolicy.options must be a function (channel) returning the channel options');
  }
  const apiKeys = resolveApiKeys(o.apiKey, o.apiKeys, problems);
  if (o.server !== undefined && (typeof o.server !== 'object' || typeof o.server?.on !== 'function')) {
    problems.push('server must be a node:http Server');
  }
  if (o.httpFallback !== undefined && typeof o.httpFallback !== 'function') {
    problems.push('httpFallback must be a function (req, res)');
  }
  if (o.server !== undefined && options.port !== undefined) {
    problems.push('port and server are both set: an attached gateway listens on the server it is given');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    host: o.host,
    port: o.port,
    listenBacklog: o.listenBacklog,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    path: o.path,
    server: o.server,
    serveHttp: o.serveHttp ?? o.server === undefined,
    httpFallback: o.httpFallback,
    nodeId: o.nodeId ?? `node-${randomBytes(4).toString('hex')}`,
    backend: o.backend ?? new MemoryBackend(),
    history: o.history ?? new MemoryHistoryStore(),
    presence: o.presence ?? new MemoryPresenceStore(),
    presenceTtlMs: o.presenceTtlMs,
    presenceGraceMs: o.presenceGraceMs,
    maxPresenceInfoBytes: o.maxPresenceInfoBytes,
    announceIntervalMs: o.announceIntervalMs,
    clusterQueryTimeoutMs: o.clusterQueryTimeoutMs,
    authenticator: o.authenticator,
    requireToken: o.requireToken,
    authInBand: o.authInBand,
    authTimeoutMs: o.authTimeoutMs,
    authExpiringLeadMs: o.authExpiringLeadMs,
    refreshIdentity: o.refreshIdentity,
    channelPolicy: o.channelPolicy ?? defaultChannelPolicy,
    clientPublish: o.clientPublish,
    tenantIsolation: o.tenantIsolation,
    tenantSubdomainBase: o.tenantSubdomainBase?.toLowerCase() ?? null,
    allowedOrigins: o.allowedOrigins ?? null,
    apiKey: o.apiKey ?? null,
    apiKeys,
    maxMessageBytes: o.maxMessageBytes,
    maxJsonDepth: o.maxJsonDepth,
    maxBufferedBytes: o.maxBufferedBytes,
    slowConsumerPolicy: o.slowConsumerPolicy,
    maxSubscriptionsPerSession: o.maxSubscriptionsPerSession,
    maxConnections: o.maxConnections,
    maxPendingFrames: o.maxPendingFrames,
    maxPendingBytes: o.maxPendingBytes ?? PENDING_BYTES_PER_MESSAGE * o.maxMessageBytes,
    heartbeatMs: o.heartbeatMs,
    drainTimeoutMs: o.drainTimeoutMs,
    rateLimitCloseAfter: o.rateLimitCloseAfter,
    trustProxy,
    tenantAgnosticTokens: o.tenantAgnosticTokens,
    logger: o.logger ?? createConsoleLogger('info'),
    hooks: o.hooks,
  };
}

/**
 * Options for local development: clients may publish on every channel, no token is needed.
 * Validated at once.
 *
 * @example
 * const gateway = new WebSocketGateway(createDevelopmentConfig({ port: 8765 }))
 */
export function createDevelopmentConfig(overrides: GatewayOptions = {}): GatewayOptions {
  const options: GatewayOptions = { clientPublish: true, ...withoutUndefined(overrides) };
  resolveConfig({ ...options, backend: options.backend ?? placeholderBackend });
  return options;
}

/**
 * Options for production: every session must authenticate (so an `authenticator` is required),
 * clients publish only where the channel policy allows, tenants are isolated. Validated at once.
 */
export function createProductionConfig(overrides: GatewayOptions = {}): GatewayOptions {
  const options: GatewayOptions = {
    requireToken: true,
    clientPublish: false,
    tenantIsolation: true,
    ...withoutUndefined(overrides),
  };
  resolveConfig({ ...options, backend: options.backend ?? placeholderBackend });
  return options;
}

// Validation of a factory's output must not construct a real backend.
const placeholderBackend = new MemoryBackend();
