import { ClientConfigError } from './client-config-error';
import { globalWebSocket, type WebSocketConstructor } from './websocket-like';

/** A token, or nothing when none is available (yet). */
export type TokenResult = string | null | undefined;

/** How the client presents its token. */
export type TokenTransport = 'auth-frame' | 'query' | 'subprotocol';

/** The reconnect policy. */
export interface ReconnectOptions {
  /** Lower bound of a reconnect delay. @default 500 */
  minDelayMs?: number;
  /** Upper bound of a reconnect delay. @default 30000 */
  maxDelayMs?: number;
  /** Reconnect attempts after a lost connection before giving up (state `closed`). @default Infinity */
  maxAttempts?: number;
}

/** Options of {@link createClient}. Only `url` is required. */
export interface ClientOptions {
  /** The gateway endpoint, e.g. `wss://example.com/ws`. */
  url: string;
  /** A token to authenticate with. @default undefined */
  token?: string | undefined;
  /**
   * Supplies a token: asked when the client has none, on `auth_expiring`, and after the server
   * refused the token (4401, 4403, `auth_failed`). Return the same token to mean "no new one".
   * @default undefined
   */
  getToken?: (() => TokenResult | Promise<TokenResult>) | undefined;
  /**
   * `auth-frame` sends an `auth` frame after `welcome` (keeps the token out of URLs, and a
   * refusal is an explicit `auth_failed`); `query` adds `?token=`; `subprotocol` offers
   * `bearer.<token>`. With the handshake transports a refused token looks like a network
   * failure (HTTP 401 is invisible to browser WebSockets), so the client retries with backoff.
   * @default 'auth-frame'
   */
  tokenTransport?: TokenTransport;
  /** Connect to the tenant-scoped endpoint `{url}/tenant/{tenant}`. @default undefined */
  tenant?: string | undefined;
  /** Subprotocols offered besides `dotmac.v1` (which is always offered first). @default [] */
  protocols?: readonly string[];
  /** Reconnect after a lost connection; `false` never reconnects. @default { minDelayMs: 500, maxDelayMs: 30000, maxAttempts: Infinity } */
  reconnect?: ReconnectOptions | false;
  /** How long a request waits for its reply (time in the send queue included). @default 10000 */
  requestTimeoutMs?: number;
  /** How long a connection attempt may take until `welcome` (and the `auth` ack). @default 10000 */
  connectTimeoutMs?: number;
  /**
   * The client's heartbeat: it sends `ping` after this long without inbound traffic and
   * reconnects after twice this long. @default the server's `heartbeat_ms` from `welcome`
   */
  heartbeatMs?: number | undefined;
  /** Frames kept while disconnected; past it, requests reject with `queue_full`. 0 keeps none. @default 32 */
  maxQueuedFrames?: number;
  /** Connect right away (in a microtask, so that listeners added after `createClient` see every event); with `false`, call `connect()`. @default true */
  autoConnect?: boolean;
  /** The WebSocket class. @default globalThis.WebSocket (browsers, Node 22+); in Node 20 pass `ws`'s */
  WebSocket?: WebSocketConstructor | undefined;
}

/** Options after defaults were applied and validated. */
export interface ResolvedClientOptions {
  url: string;
  token: string | undefined;
  getToken: (() => TokenResult | Promise<TokenResult>) | undefined;
  tokenTransport: TokenTransport;
  tenant: string | undefined;
  protocols: readonly string[];
  reconnect: Required<ReconnectOptions> | false;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  heartbeatMs: number | undefined;
  maxQueuedFrames: number;
  autoConnect: boolean;
  WebSocket: WebSocketConstructor;
}

/** The defaults of every plain option. */
export const CLIENT_DEFAULTS = {
  tokenTransport: 'auth-frame',
  minDelayMs: 500,
  maxDelayMs: 30_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  requestTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  maxQueuedFrames: 32,
  autoConnect: true,
} as const;

const TENANT_ID = /^[A-Za-z0-9_\-.@/=]{1,200}$/;
const TRANSPORTS: readonly TokenTransport[] = ['auth-frame', 'query', 'subprotocol'];
// setTimeout's ceiling: a longer delay would fire at once.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Applies defaults and checks every option, throwing one {@link ClientConfigError} listing all problems. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  const problems: string[] = [];
  const o = (options ?? {}) as Partial<ClientOptions>;

  if (typeof o.url !== 'string') problems.push('url must be a ws:// or wss:// URL string');
  else {
    let parsed: URL | undefined;
    try {
      parsed = new URL(o.url);
    } catch {
      problems.push(`url ${JSON.stringify(o.url)} is not a valid URL`);
    }
    if (parsed !== undefined && parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      problems.push(`url must start with ws:// or wss://, got ${JSON.stringify(parsed.protocol)}`);
    }
  }
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length === 0)) {
    problems.push('token must be a non-empty string');
  }
  if (o.getToken !== undefined && typeof o.getToken !== 'function')
    problems.push('getToken must be a function');
  const tokenTransport = o.tokenTransport ?? CLIENT_DEFAULTS.tokenTransport;
  if (!TRANSPORTS.includes(tokenTransport)) {
    problems.push(
      `tokenTransport must be one of ${TRANSPORTS.join(', ')}, got ${JSON.stringify(tokenTransport)}`,
    );
  }
  if (o.tenant !== undefined && (typeof o.tenant !== 'string' || !TENANT_ID.test(o.tenant))) {
    problems.push('tenant must be 1-200 characters of A-Z a-z 0-9 _ - . @ / =');
  }
  const protocols = o.protocols ?? [];
  if (!Array.isArray(protocols) || protocols.some((p) => typeof p !== 'string' || p.length === 0)) {
    problems.push('protocols must be an array of non-empty strings');
  }

  let reconnect: Required<ReconnectOptions> | false = false;
  if (o.reconnect !== false) {
    const r = o.reconnect ?? {};
    if (typeof r !== 'object' || r === null) problems.push('reconnect must be an object or false');
    else {
      reconnect = {
        minDelayMs: r.minDelayMs ?? CLIENT_DEFAULTS.minDelayMs,
        maxDelayMs: r.maxDelayMs ?? CLIENT_DEFAULTS.maxDelayMs,
        maxAttempts: r.maxAttempts ?? CLIENT_DEFAULTS.maxAttempts,
      };
      checkInt(problems, 'reconnect.minDelayMs', reconnect.minDelayMs, 0, MAX_TIMER_MS);
      checkInt(problems, 'reconnect.maxDelayMs', reconnect.maxDelayMs, 0, MAX_TIMER_MS);
      if (reconnect.minDelayMs > reconnect.maxDelayMs) {
        problems.push(
          `reconnect.minDelayMs (${reconnect.minDelayMs}) must not exceed reconnect.maxDelayMs (${reconnect.maxDelayMs})`,
        );
      }
      const max = reconnect.maxAttempts;
      if (max !== Number.POSITIVE_INFINITY)
        checkInt(problems, 'reconnect.maxAttempts', max, 0, Number.MAX_SAFE_INTEGER);
    }
  }

  const requestTimeoutMs = o.requestTimeoutMs ?? CLIENT_DEFAULTS.requestTimeoutMs;
  checkInt(problems, 'requestTimeoutMs', requestTimeoutMs, 1, MAX_TIMER_MS);
  const connectTimeoutMs = o.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs;
  checkInt(problems, 'connectTimeoutMs', connectTimeoutMs, 1, MAX_TIMER_MS);
  if (o.heartbeatMs !== undefined)
    checkInt(problems, 'heartbeatMs', o.heartbeatMs, 10, Math.floor(MAX_TIMER_MS / 2));
  const maxQueuedFrames = o.maxQueuedFrames ?? CLIENT_DEFAULTS.maxQueuedFrames;
  checkInt(problems, 'maxQueuedFrames', maxQueuedFrames, 0, 1_000_000);
  const autoConnect = o.autoConnect ?? CLIENT_DEFAULTS.autoConnect;
  if (typeof autoConnect !== 'boolean') problems.push('autoConnect must be a boolean');

  const WebSocket = o.WebSocket ?? globalWebSocket();
  if (WebSocket === undefined) {
    problems.push(
      'this runtime has no global WebSocket: pass one as the WebSocket option (e.g. the ws package)',
    );
  } else if (typeof WebSocket !== 'function') {
    problems.push('WebSocket must be a WebSocket class');
  }

  if (problems.length > 0) throw new ClientConfigError(problems);
  return {
    url: o.url as string,
    token: o.token,
    getToken: o.getToken,
    tokenTransport,
    tenant: o.tenant,
    protocols,
    reconnect,
    requestTimeoutMs,
    connectTimeoutMs,
    heartbeatMs: o.heartbeatMs,
    maxQueuedFrames,
    autoConnect,
    WebSocket: WebSocket as WebSocketConstructor,
  };
}

function checkInt(problems: string[], name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
}

/** The URL and subprotocols of one connection attempt. */
export function connectionTarget(
  options: ResolvedClientOptions,
  token: string | undefined,
): { url: string; protocols: string[] } {
  const url = new URL(options.url);
  if (options.tenant !== undefined) {
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/tenant/${encodeURIComponent(options.tenant)}`;
  }
  const protocols = ['dotmac.v1', ...options.protocols.filter((p) => p !== 'dotmac.v1')];
  if (token !== undefined && options.tokenTransport === 'query') url.searchParams.set('token', token);
  if (token !== undefined && options.tokenTransport === 'subprotocol') protocols.push(`bearer.${token}`);
  return { url: url.toString(), protocols };
}
