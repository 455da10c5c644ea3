import {
  isServerFrameType,
  MAX_TYPE_LENGTH,
  RESERVED_CLIENT_TYPES,
  shouldReconnect,
} from '@dotmac-ws/protocol';
import { backoffDelay } from './backoff';
import { ChannelStream } from './channel-stream';
import {
  type ClientOptions,
  connectionTarget,
  type ResolvedClientOptions,
  resolveClientOptions,
  type TokenResult,
} from './client-options';
import { TypedEmitter } from './event-emitter';
import {
  type AuthAckData,
  type ChannelMessageFrame,
  CloseCode,
  type DirectMessageFrame,
  ErrorCode,
  type ErrorData,
  type FrameId,
  type HistoryAckData,
  type PresenceAckData,
  type PresenceStatsAckData,
  type PublishAckData,
  parseServerFrame,
  type ServerFrame,
  type SinceOffset,
  type SubscribeAckData,
  type SubscribedData,
  type UnsubscribedData,
  type WelcomeData,
} from './protocol';
import { RequestError, type RequestErrorCode } from './request-error';
import { ServerError } from './server-error';
import { type ChannelHandler, Subscription, type SubscriptionLink } from './subscription';
import { dropSocket, type WebSocketLike, WS_OPEN } from './websocket-like';

/**
 * Where the client is:
 * - `idle`: created with `autoConnect: false`, `connect()` not called yet;
 * - `connecting`: a connection attempt is under way (until `welcome` and the `auth` ack);
 * - `connected`: ready; requests go out at once;
 * - `reconnecting`: waiting out a backoff delay before the next attempt;
 * - `disconnected`: lost and waiting for a new token (after 4401, 4403 or `auth_failed`);
 * - `closed`: `close()` was called, or reconnecting was off or gave up.
 */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'closed';

/** Who the session is, from the `auth` ack or the `welcome`. */
export interface ClientIdentity {
  userId: string | null;
  tenantId: string | null;
  roles: readonly string[];
  permissions: readonly string[];
  /** When the token expires, in seconds since the epoch; null when unknown or never. */
  expiresAt: number | null;
}

/** The `connected` event. */
export interface ConnectedEvent {
  /** The server's welcome facts. */
  welcome: WelcomeData;
  /** The `auth` ack, when the client authenticated with an `auth` frame on this connection. */
  auth: AuthAckData | null;
  /** True for every connection after the first. */
  reconnected: boolean;
}

/** The `disconnected` event. */
export interface DisconnectedEvent {
  /** The close code (1006 when the connection dropped, failed or was found dead). */
  code: number;
  /** The close reason, or the client's own: `heartbeat_timeout`, `connect_timeout`, `auth_failed`, … */
  reason: string;
  /** True when a reconnect is scheduled (a `reconnecting` event follows). */
  willReconnect: boolean;
  /** True after 4401, 4403 or `auth_failed`: the client waits for a new token (`getToken` or `auth()`). */
  needsToken: boolean;
}

/** Why the client is `closed`. */
export type ClosedReason = 'close_called' | 'max_attempts' | 'reconnect_disabled';

/** Every event of a client, by name. */
export interface ClientEventMap {
  /** Any state change. */
  state: { state: ClientState; previous: ClientState };
  /** A connection attempt starts; `attempt` counts failures since the last connection. */
  connecting: { attempt: number };
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
  /** A reconnect is scheduled after `delayMs`. */
  reconnecting: { attempt: number; delayMs: number };
  closed: { reason: ClosedReason };
  /** The server warned that the token expires at `expiresAt` (seconds since the epoch). */
  auth_expiring: { expiresAt: number };
  /** A new token was accepted on the live connection. */
  token_refreshed: AuthAckData;
  /** The server refused a channel (on the first subscribe or on a resubscribe); it was removed. */
  subscription_error: { channel: string; error: ServerError };
  /**
   * The server subscribed the session to a channel the client did not hold (a `subscribed`
   * push): read it with `subscription.on('message', …)`.
   */
  subscribed: { channel: string; subscription: Subscription };
  /** The server unsubscribed the session from a channel (an `unsubscribed` push); it was removed. */
  unsubscribed: { channel: string; reason: string | undefined };
  /**
   * A problem without a request to reject: `getToken` threw, a token refresh was refused, an
   * `error` frame without id arrived, a handler threw.
   */
  error: { error: unknown; context: string };
}

/** Receives direct messages (frames without a channel) of one type. */
export type MessageHandler<D = unknown> = (data: D, frame: DirectMessageFrame<D>) => void;

/** Options of one request. */
export interface RequestOptions {
  /** How long to wait for the reply. @default the client's `requestTimeoutMs` */
  timeoutMs?: number;
}

/** Options of {@link DotmacClient.history}: which publications to read. */
export interface HistoryOptions extends RequestOptions {
  /** At most this many publications. @default the server's limit */
  limit?: number;
  /** Only publications after this position. @default from the oldest kept */
  since?: SinceOffset;
  /** Newest first. @default false */
  reverse?: boolean;
}

/** Options of {@link DotmacClient.publish}. */
export interface PublishOptions extends RequestOptions {
  /** The type subscribers receive. @default 'message' */
  event?: string;
}

interface Pending {
  type: string;
  frame: Record<string, unknown>;
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  sent: boolean;
}

interface ChannelEntry {
  name: string;
  subscriptions: Set<Subscription>;
  /** The ack (or `subscribed` push) on the current connection. */
  lastAck: SubscribeAckData | undefined;
  retryTimer: ReturnType<typeof setTimeout> | undefined;
  stream: ChannelStream;
  link: SubscriptionLink;
}

const AUTH_REFUSALS: ReadonlySet<string> = new Set([ErrorCode.AuthFailed, ErrorCode.Forbidden]);
/** Reserved types the client sends through its own methods (`ping` it lets `request()` send). */
const CLIENT_MANAGED_TYPES: ReadonlySet<string> = new Set(
  RESERVED_CLIENT_TYPES.filter((type) => type !== 'ping'),
);
const DEFAULT_HEARTBEAT_MS = 25_000;

/**
 * A dotmac-ws client: one connection with reconnect, resubscribe, requests, a send queue,
 * token refresh and a heartbeat. Create it with {@link createClient}.
 */
export class DotmacClient {
  /** The validated options. */
  readonly options: Readonly<ResolvedClientOptions>;
  readonly #events: TypedEmitter<ClientEventMap>;
  #state: ClientState = 'idle';
  #socket: WebSocketLike | undefined;
  /** Bumped by every connection attempt and by close(): async work of an older one stops. */
  #generation = 0;
  #attempt = 0;
  #everConnected = false;
  #lastConnected: ConnectedEvent | undefined;
  #welcome: WelcomeData | null = null;
  #identity: ClientIdentity | null = null;
  #token: string | undefined;
  #rejectedToken: string | undefined;
  #nextId = 1;
  readonly #pending = new Map<FrameId, Pending>();
  readonly #queue: FrameId[] = [];
  readonly #channels = new Map<string, ChannelEntry>();
  readonly #direct = new Map<string, Set<MessageHandler>>();
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #lastInbound = 0;
  #lastPing = 0;
  #retryAfterMs = 0;
  #refreshing = false;

  /** Validates `options` (throwing one `ClientConfigError` listing every problem). */
  constructor(options: ClientOptions) {
    this.options = resolveClientOptions(options);
    this.#token = this.options.token;
    this.#events = new TypedEmitter((error) => {
      // A throwing `error` listener must not loop back into itself.
      queueMicrotask(() => {
        throw error;
      });
    });
    // Deferred, so that listeners added right after createClient() see the first events.
    if (this.options.autoConnect) {
      queueMicrotask(() => {
        if (this.#state === 'idle') this.connect();
      });
    }
  }

  // ---------------------------------------------------------------- state

  /** Where the client is (see {@link ClientState}). */
  get state(): ClientState {
    return this.#state;
  }

  /** The `welcome` of the current (or last) connection. */
  get welcome(): WelcomeData | null {
    return this.#welcome;
  }

  /** Who the session is, once connected. */
  get identity(): ClientIdentity | null {
    return this.#identity;
  }

  /** Frames waiting in the send queue. */
  get queuedFrames(): number {
    return this.#queue.length;
  }

  /** Adds a listener of a client event (`connected`, `disconnected`, …); returns its remover. */
  onEvent<K extends keyof ClientEventMap>(type: K, listener: (event: ClientEventMap[K]) => void): () => void {
    return this.#events.on(type, listener);
  }

  /** Adds a listener that runs once. */
  onceEvent<K extends keyof ClientEventMap>(
    type: K,
    listener: (event: ClientEventMap[K]) => void,
  ): () => void {
    return this.#events.once(type, listener);
  }

  /**
   * Resolves when the client is connected (at once if it is); rejects with a `RequestError`
   * `closed` if it closes first, or `timeout` after `timeoutMs`.
   */
  whenConnected(timeoutMs?: number): Promise<ConnectedEvent> {
    if (this.#state === 'connected' && this.#lastConnected) return Promise.resolve(this.#lastConnected);
    if (this.#state === 'closed') {
      return Promise.reject(new RequestError('closed', 'the client is closed', 'connect'));
    }
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        offConnected();
        offClosed();
        clearTimeout(timer);
      };
      const offConnected = this.#events.on('connected', (event) => {
        done();
        resolve(event);
      });
      const offClosed = this.#events.on('closed', () => {
        done();
        reject(new RequestError('closed', 'the client closed before it connected', 'connect'));
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          done();
          reject(new RequestError('timeout', `not connected within ${timeoutMs} ms`, 'connect'));
        }, timeoutMs);
      }
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Connects (from `idle`, `closed` or `disconnected`), or skips the backoff wait when
   * `reconnecting`. Does nothing while connecting or connected.
   */
  connect(): void {
    if (this.#state === 'connecting' || this.#state === 'connected') return;
    if (this.#state !== 'reconnecting') this.#attempt = 0;
    void this.#open();
  }

  /**
   * Closes the connection (code 1000) and stops reconnecting. Requests waiting for a reply or
   * in the queue reject with `RequestError` `closed`. Subscriptions and handlers are kept, so
   * that `connect()` restores them.
   */
  close(): void {
    if (this.#state === 'closed') return;
    this.#generation++;
    const socket = this.#socket;
    const wasConnected = this.#state === 'connected';
    this.#detach();
    if (socket !== undefined) dropSocket(socket, CloseCode.Normal, 'normal');
    this.#rejectAll('closed', 'the client was closed');
    if (wasConnected) {
      this.#events.emit('disconnected', {
        code: CloseCode.Normal,
        reason: 'normal',
        willReconnect: false,
        needsToken: false,
      });
    }
    this.#finish('close_called');
  }

  // ---------------------------------------------------------------- requests

  /**
   * Sends a frame of `type` with `data` and an id, and resolves with the reply's data (the
   * `ack`, or the `pong` of a `ping`). Rejects with a {@link ServerError} carrying the server's
   * code and `retryAfterMs`, or a {@link RequestError} (`timeout`, `disconnected`, `closed`,
   * `queue_full`). While not connected the frame waits in the send queue.
   *
   * @example
   * const reply = await client.request<{ echo: string }>('echo', { text: 'hi' }, { timeoutMs: 2000 })
   */
  request<T = unknown>(type: string, data?: unknown, options: RequestOptions = {}): Promise<T> {
    if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LENGTH) {
      throw new TypeError(`a request type must be a string of 1 to ${MAX_TYPE_LENGTH} characters`);
    }
    if (CLIENT_MANAGED_TYPES.has(type)) {
      throw new TypeError(`use the client's ${type}() method for "${type}" frames`);
    }
    if (isServerFrameType(type)) {
      throw new TypeError(`"${type}" is a server frame type`);
    }
    const frame: Record<string, unknown> = { type };
    if (data !== undefined) frame.data = data;
    return this.#call<T>(frame, this.#timeoutOf(options), false);
  }

  /**
   * Publishes `data` on `channel` (delivered as type `event`, default `message`); resolves with
   * the ack (`{ channel, offset? }`).
   */
  publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<PublishAckData> {
    const frame: Record<string, unknown> = { type: 'publish', channel, data: data ?? null };
    if (options.event !== undefined) frame.event = options.event;
    return this.#call<PublishAckData>(frame, this.#timeoutOf(options), false);
  }

  /**
   * Uses `token` from now on. Connected: sends an `auth` frame and resolves with its ack.
   * Otherwise the token is kept for the next connection (resolving with null), and a client
   * that was waiting for a new token (`disconnected`) connects again.
   */
  auth(token: string): Promise<AuthAckData | null> {
    if (typeof token !== 'string' || token.length === 0)
      throw new TypeError('token must be a non-empty string');
    this.#token = token;
    this.#rejectedToken = undefined;
    if (this.#state === 'connected') return this.#sendAuth(token, this.#generation);
    if (this.#state === 'disconnected') this.connect();
    return Promise.resolve(null);
  }

  // ---------------------------------------------------------------- subscriptions and messages

  /**
   * Subscribes to `channel`: `handler` receives its messages. The subscription is restored after
   * every reconnect until `unsubscribe()`. Several subscriptions of one channel share one
   * server-side subscription.
   *
   * @example
   * const sub = client.subscribe('news', (data, frame) => console.log(frame.type, data))
   * await sub.ready
   */
  subscribe<D = unknown>(channel: string, handler: ChannelHandler<D>): Subscription<D> {
    if (typeof channel !== 'string') throw new TypeError('channel must be a string');
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    const entry = this.#channels.get(channel) ?? this.#addChannel(channel);
    // A channel held only by the server is subscribed by the client from now on.
    const unsent = entry.lastAck === undefined && !clientHeld(entry);
    const subscription = new Subscription<D>(channel, handler, entry.link);
    entry.subscriptions.add(subscription as Subscription);
    if (entry.lastAck !== undefined) subscription.acknowledged(entry.lastAck);
    else if (unsent && this.#state === 'connected') this.#sendSubscribe(entry);
    return subscription;
  }

  /**
   * Reads the history of `channel` (`limit`, `since`, `reverse`); resolves with
   * `{ channel, offset, epoch, publications }`. It needs history on the channel and permission to
   * subscribe; errors as {@link request}.
   *
   * @example
   * const { publications } = await client.history('chat', { since: sub.position, limit: 100 })
   */
  history(channel: string, options: HistoryOptions = {}): Promise<HistoryAckData> {
    const { limit, since, reverse } = options;
    return this.#channelCall('history', channel, { limit, since, reverse }, options);
  }

  /** The members of `channel` by session id: `{ channel, clients }` (it needs presence on the channel). */
  presence(channel: string, options: RequestOptions = {}): Promise<PresenceAckData> {
    return this.#channelCall('presence', channel, {}, options);
  }

  /** `{ channel, num_clients, num_users }` of `channel` (it needs presence on the channel). */
  presenceStats(channel: string, options: RequestOptions = {}): Promise<PresenceStatsAckData> {
    return this.#channelCall('presence_stats', channel, {}, options);
  }

  /** A request about a channel: the channel goes both top-level and in `data`, as `subscribe` takes it. */
  #channelCall<T>(type: string, channel: string, data: object, options: RequestOptions): Promise<T> {
    if (typeof channel !== 'string') throw new TypeError('channel must be a string');
    return this.#call<T>({ type, channel, data: { channel, ...data } }, this.#timeoutOf(options), false);
  }

  /** Channels the client holds. */
  channels(): string[] {
    return [...this.#channels.keys()];
  }

  /**
   * Receives direct messages of `type` (user, tenant, role, permission and everyone
   * broadcasts, and a server's `session.sendMessage`); returns the remover.
   */
  on<D = unknown>(type: string, handler: MessageHandler<D>): () => void {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    let set = this.#direct.get(type);
    if (set === undefined) {
      set = new Set();
      this.#direct.set(type, set);
    }
    set.add(handler as MessageHandler);
    return () => {
      set.delete(handler as MessageHandler);
    };
  }

  // ---------------------------------------------------------------- connection

  async #open(): Promise<void> {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    const generation = ++this.#generation;
    this.#setState('connecting');
    this.#events.emit('connecting', { attempt: this.#attempt });
    if (this.#token === undefined && this.options.getToken !== undefined) {
      const token = await this.#askToken();
      if (generation !== this.#generation) return;
      if (token === null) {
        this.#handleLoss(CloseCode.Abnormal, 'get_token_failed');
        return;
      }
      // connect() was asked for explicitly: even a token refused before is worth a try.
      if (token !== undefined) this.#token = token;
    }
    const { url, protocols } = connectionTarget(this.options, this.#token);
    let socket: WebSocketLike;
    try {
      socket = new this.options.WebSocket(url, protocols) as WebSocketLike;
    } catch (error) {
      this.#events.emit('error', { error, context: 'connect' });
      this.#handleLoss(CloseCode.Abnormal, 'connect_failed');
      return;
    }
    this.#socket = socket;
    this.#welcome = null;
    socket.onmessage = (event) => {
      if (socket === this.#socket && typeof event.data === 'string') this.#onText(event.data);
    };
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      this.#detach();
      this.#handleLoss(event.code, event.reason);
    };
    socket.onerror = () => undefined; // a close event always follows
    this.#connectTimer = setTimeout(
      () => this.#kill(socket, 'connect_timeout'),
      this.options.connectTimeoutMs,
    );
  }

  /** Drops a socket that is stuck (no welcome in time, or silent for two heartbeats). */
  #kill(socket: WebSocketLike, reason: string): void {
    if (socket !== this.#socket) return;
    this.#detach();
    dropSocket(socket);
    this.#handleLoss(CloseCode.Abnormal, reason);
  }

  /** Forgets the current socket: timers stop, sent requests reject, subscriptions need a resubscribe. */
  #detach(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    clearTimeout(this.#connectTimer);
    clearInterval(this.#heartbeatTimer);
    this.#connectTimer = undefined;
    this.#heartbeatTimer = undefined;
    if (socket !== undefined) {
      socket.onmessage = null;
      socket.onclose = null;
    }
    for (const [id, pending] of this.#pending) {
      if (!pending.sent) continue;
      this.#pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(
        new RequestError('disconnected', 'the connection was lost before the reply', pending.type),
      );
    }
    for (const entry of this.#channels.values()) {
      entry.lastAck = undefined;
      clearTimeout(entry.retryTimer);
      entry.retryTimer = undefined;
      entry.stream.reset();
      for (const s of entry.subscriptions) s.suspended();
    }
  }

  #handleLoss(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    if (!shouldReconnect(code)) {
      void this.#waitForToken(code, reason);
      return;
    }
    const policy = this.options.reconnect;
    const willReconnect = policy !== false && this.#attempt < policy.maxAttempts;
    this.#events.emit('disconnected', { code, reason, willReconnect, needsToken: false });
    if (!willReconnect) {
      this.#rejectAll('closed', 'the client stopped reconnecting');
      this.#finish(policy === false ? 'reconnect_disabled' : 'max_attempts');
      return;
    }
    this.#scheduleReconnect(code);
  }

  #scheduleReconnect(code: number): void {
    const policy = this.options.reconnect;
    if (policy === false) return;
    let delayMs = backoffDelay(this.#attempt, policy);
    // 4429 comes after refused frames; their retry_after_ms is the server's advice.
    if (code === CloseCode.RateLimited) delayMs = Math.max(delayMs, this.#retryAfterMs);
    this.#attempt++;
    this.#setState('reconnecting');
    this.#events.emit('reconnecting', { attempt: this.#attempt, delayMs });
    const generation = this.#generation;
    this.#reconnectTimer = setTimeout(() => {
      if (generation === this.#generation && this.#state === 'reconnecting') void this.#open();
    }, delayMs);
  }

  /** After 4401/4403/auth_failed: reconnect only with a token other than the refused one. */
  async #waitForToken(code: number, reason: string): Promise<void> {
    this.#rejectedToken = this.#token;
    this.#token = undefined;
    const policy = this.options.reconnect;
    this.#events.emit('disconnected', { code, reason, willReconnect: false, needsToken: true });
    if (policy === false) {
      this.#rejectAll('closed', 'the client does not reconnect');
      this.#finish('reconnect_disabled');
      return;
    }
    const generation = ++this.#generation;
    this.#setState('disconnected');
    if (this.options.getToken === undefined) return;
    const token = await this.#askToken();
    if (generation !== this.#generation || this.#state !== 'disconnected') return;
    if (typeof token === 'string' && token !== this.#rejectedToken) {
      this.#token = token;
      this.#scheduleReconnect(code);
    }
  }

  /** Calls getToken: a token, undefined for none, or null when it threw. */
  async #askToken(): Promise<string | undefined | null> {
    const getToken = this.options.getToken;
    if (getToken === undefined) return undefined;
    let token: TokenResult;
    try {
      token = await getToken();
    } catch (error) {
      this.#events.emit('error', { error, context: 'getToken' });
      return null;
    }
    return typeof token === 'string' && token.length > 0 ? token : undefined;
  }

  #finish(reason: ClosedReason): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#setState('closed');
    this.#events.emit('closed', { reason });
  }

  #setState(next: ClientState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    this.#events.emit('state', { state: next, previous });
  }

  // ---------------------------------------------------------------- inbound frames

  #onText(text: string): void {
    this.#lastInbound = Date.now();
    const frame = parseServerFrame(text);
    if (frame === null) {
      this.#events.emit('error', {
        error: new Error('the server sent a frame that is not a JSON object with a type'),
        context: 'frame',
      });
      return;
    }
    switch (frame.type) {
      case 'welcome':
        this.#onWelcome(frame.data as WelcomeData);
        return;
      case 'ack':
      case 'pong':
      case 'error':
        this.#onReply(frame);
        return;
      case 'auth_expiring':
        this.#onAuthExpiring((frame.data as { expires_at: number }).expires_at);
        return;
      default:
        this.#deliver(frame);
    }
  }

  /** A `subscribed` push: the server subscribed the session to `name`. */
  #onServerSubscribed(name: string, data: SubscribedData): void {
    let entry = this.#channels.get(name);
    if (entry === undefined) {
      entry = this.#addChannel(name);
      const subscription = new Subscription(name, undefined, entry.link);
      entry.subscriptions.add(subscription);
      this.#events.emit('subscribed', { channel: name, subscription });
    } else if (entry.lastAck !== undefined || clientHeld(entry)) {
      return; // the client's own subscribe ack says it all
    }
    if (this.#channels.get(name) !== entry) return; // a listener unsubscribed it already
    const ack: SubscribeAckData = { channel: name, ...data };
    entry.lastAck = ack;
    for (const s of entry.subscriptions) s.acknowledged(ack);
    entry.stream.serverSubscribed(data);
  }

  /** An `unsubscribed` push: the server dropped the channel; so does the client. */
  #onServerUnsubscribed(entry: ChannelEntry, data: UnsubscribedData): void {
    const reason = typeof data?.reason === 'string' ? data.reason : undefined;
    this.#dropChannel(entry);
    const error = new ServerError(reason ?? 'unsubscribed', `the server unsubscribed "${entry.name}"`, {
      requestType: 'subscribe',
    });
    for (const s of entry.subscriptions) s.ended(reason, error);
    this.#events.emit('unsubscribed', { channel: entry.name, reason });
  }

  #onWelcome(welcome: WelcomeData): void {
    if (this.#welcome !== null || this.#state !== 'connecting') return;
    this.#welcome = welcome;
    this.#identity = {
      userId: welcome.user_id,
      tenantId: welcome.tenant_id,
      roles: [],
      permissions: [],
      expiresAt: null,
    };
    const token = this.#token;
    if (this.options.tokenTransport !== 'auth-frame' || token === undefined || welcome.authenticated) {
      this.#ready(welcome, null);
      return;
    }
    const generation = this.#generation;
    const socket = this.#socket;
    this.#call<AuthAckData>({ type: 'auth', data: { token } }, this.options.requestTimeoutMs, true).then(
      (ack) => {
        if (generation !== this.#generation) return;
        this.#identify(ack);
        this.#ready(welcome, ack);
      },
      (error: unknown) => {
        if (generation !== this.#generation || socket === undefined || socket !== this.#socket) return;
        if (error instanceof ServerError && AUTH_REFUSALS.has(error.code)) {
          this.#events.emit('error', { error, context: 'auth' });
          this.#detach();
          dropSocket(socket, CloseCode.Normal, 'auth_failed');
          this.#handleLoss(CloseCode.Unauthorized, 'auth_failed');
        } else {
          this.#kill(socket, 'auth_no_reply');
        }
      },
    );
  }

  #ready(welcome: WelcomeData, auth: AuthAckData | null): void {
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    const event: ConnectedEvent = { welcome, auth, reconnected: this.#everConnected };
    this.#everConnected = true;
    this.#lastConnected = event;
    this.#attempt = 0;
    this.#setState('connected');
    this.#startHeartbeat(welcome);
    // Subscribes first: the server handles one session's frames in order, so queued
    // publishes and requests meet the restored subscriptions.
    // A channel only the server held comes back with the server's `subscribed` push, if at all.
    for (const entry of this.#channels.values()) if (clientHeld(entry)) this.#sendSubscribe(entry);
    this.#flushQueue();
    this.#events.emit('connected', event);
  }

  #identify(ack: AuthAckData): void {
    this.#identity = {
      userId: ack.user_id,
      tenantId: ack.tenant_id,
      roles: ack.roles ?? [],
      permissions: ack.permissions ?? [],
      expiresAt: ack.expires_at ?? null,
    };
  }

  #onReply(frame: ServerFrame): void {
    const id = (frame as { id?: FrameId }).id;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (frame.type === 'error') {
      const data = (frame.data ?? {}) as Partial<ErrorData>;
      const retryAfterMs = typeof data.retry_after_ms === 'number' ? data.retry_after_ms : undefined;
      if (data.code === ErrorCode.RateLimited && retryAfterMs !== undefined)
        this.#retryAfterMs = retryAfterMs;
      const error = new ServerError(String(data.code ?? 'unknown'), String(data.message ?? ''), {
        retryAfterMs,
        requestType: pending?.type ?? 'unknown',
        requestId: id,
      });
      if (pending === undefined || !pending.sent) {
        if (id === undefined) this.#events.emit('error', { error, context: 'server' });
        return;
      }
      this.#settle(id as FrameId, pending);
      pending.reject(error);
      return;
    }
    if (pending === undefined || !pending.sent) return;
    this.#settle(id as FrameId, pending);
    pending.resolve(frame.data);
  }

  #deliver(frame: ServerFrame): void {
    const channel = (frame as { channel?: unknown }).channel;
    if (typeof channel === 'string') {
      const data = frame.data as never;
      const entry = this.#channels.get(channel);
      if (frame.type === 'subscribed') this.#onServerSubscribed(channel, data ?? {});
      else if (entry === undefined) return;
      else if (frame.type === 'unsubscribed') this.#onServerUnsubscribed(entry, data);
      else if (frame.type === 'join' || frame.type === 'leave') {
        for (const s of [...entry.subscriptions]) s.emit(frame.type, data);
      } else entry.stream.frame(frame as ChannelMessageFrame);
      return;
    }
    const handlers = this.#direct.get(frame.type);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      try {
        handler((frame as DirectMessageFrame).data, frame as DirectMessageFrame);
      } catch (error) {
        this.#events.emit('error', { error, context: `handler of ${frame.type}` });
      }
    }
  }

  // ---------------------------------------------------------------- tokens

  #onAuthExpiring(expiresAt: number): void {
    this.#events.emit('auth_expiring', { expiresAt });
    if (this.options.getToken === undefined || this.#refreshing) return;
    this.#refreshing = true;
    const generation = this.#generation;
    void (async () => {
      try {
        const token = await this.#askToken();
        if (token === null) return; // getToken threw: reported already
        if (token === undefined || token === this.#token) {
          this.#events.emit('error', {
            error: new Error('getToken gave no new token: the server closes with 4401 at expiry'),
            context: 'getToken',
          });
          return;
        }
        this.#token = token;
        // A connection that was lost meanwhile authenticates with the new token when it comes back.
        if (generation === this.#generation && this.#state === 'connected') {
          await this.#sendAuth(token, generation).catch(() => undefined);
        }
      } finally {
        this.#refreshing = false;
      }
    })();
  }

  async #sendAuth(token: string, generation: number): Promise<AuthAckData> {
    try {
      const ack = await this.#call<AuthAckData>(
        { type: 'auth', data: { token } },
        this.options.requestTimeoutMs,
        true,
      );
      if (generation === this.#generation) {
        this.#identify(ack);
        this.#events.emit('token_refreshed', ack);
      }
      return ack;
    } catch (error) {
      this.#events.emit('error', { error, context: 'auth' });
      throw error;
    }
  }

  // ---------------------------------------------------------------- subscriptions

  #addChannel(name: string): ChannelEntry {
    const stream = new ChannelStream(name, {
      deliver: (frame) => {
        for (const s of [...entry.subscriptions]) s.deliver(frame);
      },
      resync: (event) => {
        for (const s of [...entry.subscriptions]) s.emit('resync', event);
      },
      history: (since, limit) =>
        this.#call<HistoryAckData>(
          { type: 'history', channel: name, data: { channel: name, since, limit } },
          this.options.requestTimeoutMs,
          true,
        ),
    });
    const entry: ChannelEntry = {
      name,
      subscriptions: new Set(),
      lastAck: undefined,
      retryTimer: undefined,
      stream,
      link: {
        client: this,
        stream,
        remove: (s) => this.#unsubscribe(s),
        reportError: (error, context) => this.#events.emit('error', { error, context }),
      },
    };
    this.#channels.set(name, entry);
    return entry;
  }

  /** Forgets a channel: no resubscribe, no more deliveries. */
  #dropChannel(entry: ChannelEntry): void {
    this.#channels.delete(entry.name);
    clearTimeout(entry.retryTimer);
    entry.stream.reset();
  }

  #sendSubscribe(entry: ChannelEntry): void {
    const generation = this.#generation;
    const current = () => this.#channels.get(entry.name) === entry && generation === this.#generation;
    // Resume from the last position delivered: the ack recovers what was missed.
    const since = entry.stream.position;
    this.#call<SubscribeAckData>(
      { type: 'subscribe', data: since ? { channel: entry.name, since } : { channel: entry.name } },
      this.options.requestTimeoutMs,
      true,
    ).then(
      (ack) => {
        if (!current()) return;
        entry.lastAck = ack;
        for (const s of entry.subscriptions) s.acknowledged(ack);
        if (current()) entry.stream.acknowledged(ack, since);
      },
      (error: unknown) => {
        if (!current() || this.#state !== 'connected') return; // a reconnect subscribes again
        if (error instanceof ServerError && error.code !== ErrorCode.RateLimited) {
          this.#dropChannel(entry);
          for (const s of entry.subscriptions) s.ended(error.code, error);
          this.#events.emit('subscription_error', { channel: entry.name, error });
          return;
        }
        // rate_limited, or no reply in time on a live connection: try again later.
        const delay = error instanceof ServerError ? (error.retryAfterMs ?? 1000) : 0;
        entry.retryTimer = setTimeout(() => {
          entry.retryTimer = undefined;
          if (current() && this.#state === 'connected') this.#sendSubscribe(entry);
        }, delay);
      },
    );
  }

  async #unsubscribe(subscription: Subscription): Promise<void> {
    const entry = this.#channels.get(subscription.channel);
    if (entry === undefined || !entry.subscriptions.delete(subscription)) return;
    if (entry.subscriptions.size > 0) return;
    this.#dropChannel(entry);
    if (this.#state !== 'connected') return; // the server forgets subscriptions with the connection
    try {
      await this.#call(
        { type: 'unsubscribe', data: { channel: entry.name } },
        this.options.requestTimeoutMs,
        true,
      );
    } catch (error) {
      if (!(error instanceof RequestError)) throw error;
    }
  }

  // ---------------------------------------------------------------- sending

  #timeoutOf(options: RequestOptions): number {
    const t = options.timeoutMs ?? this.options.requestTimeoutMs;
    if (!Number.isInteger(t) || t < 1)
      throw new TypeError(`timeoutMs must be a positive integer, got ${String(t)}`);
    return t;
  }

  /**
   * Sends `frame` with a new id and settles with its reply. `internal` frames belong to the
   * connection (auth, subscribe) and go out at once or fail; others wait in the queue while
   * the client is not connected.
   */
  #call<T>(frame: Record<string, unknown>, timeoutMs: number, internal: boolean): Promise<T> {
    const type = String(frame.type);
    if (this.#state === 'closed')
      return Promise.reject(new RequestError('closed', 'the client is closed', type));
    const id = this.#nextId++;
    const full = { ...frame, id };
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        type,
        frame: full,
        resolve: resolve as (data: unknown) => void,
        reject,
        sent: false,
        timer: setTimeout(() => {
          if (this.#pending.get(id) !== pending) return;
          this.#settle(id, pending);
          reject(new RequestError('timeout', `no reply to "${type}" within ${timeoutMs} ms`, type));
        }, timeoutMs),
      };
      this.#pending.set(id, pending);
      const live = internal || this.#state === 'connected';
      if (live && this.#transmit(pending)) return;
      if (internal) {
        this.#settle(id, pending);
        reject(new RequestError('disconnected', 'not connected', type));
        return;
      }
      if (this.#queue.length >= this.options.maxQueuedFrames) {
        this.#settle(id, pending);
        reject(
          new RequestError(
            'queue_full',
            `not connected and the send queue is full (${this.options.maxQueuedFrames} frames)`,
            type,
          ),
        );
        return;
      }
      this.#queue.push(id);
    });
  }

  #transmit(pending: Pending): boolean {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== WS_OPEN) return false;
    try {
      socket.send(JSON.stringify(pending.frame));
    } catch {
      return false;
    }
    pending.sent = true;
    return true;
  }

  #flushQueue(): void {
    while (this.#queue.length > 0 && this.#state === 'connected') {
      const id = this.#queue[0] as FrameId;
      const pending = this.#pending.get(id);
      if (pending !== undefined && !this.#transmit(pending)) return;
      this.#queue.shift();
    }
  }

  /** Forgets a request: its timer stops and it leaves the queue. */
  #settle(id: FrameId, pending: Pending): void {
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    if (!pending.sent) {
      const i = this.#queue.indexOf(id);
      if (i >= 0) this.#queue.splice(i, 1);
    }
  }

  #rejectAll(code: RequestErrorCode, message: string): void {
    for (const [id, pending] of [...this.#pending]) {
      this.#settle(id, pending);
      pending.reject(new RequestError(code, message, pending.type));
    }
  }

  // ---------------------------------------------------------------- heartbeat

  #startHeartbeat(welcome: WelcomeData): void {
    const fromServer = welcome.heartbeat_ms;
    const interval =
      this.options.heartbeatMs ??
      (typeof fromServer === 'number' && fromServer > 0 ? fromServer : DEFAULT_HEARTBEAT_MS);
    const socket = this.#socket;
    if (socket === undefined) return;
    this.#lastInbound = Date.now();
    this.#lastPing = 0;
    clearInterval(this.#heartbeatTimer);
    // Browsers answer the server's WebSocket pings without telling the page, so the client
    // pings in-band: a `pong` (or any frame) proves the connection alive.
    this.#heartbeatTimer = setInterval(
      () => {
        const now = Date.now();
        const idle = now - this.#lastInbound;
        if (idle >= 2 * interval) {
          this.#kill(socket, 'heartbeat_timeout');
        } else if (idle >= interval && now - this.#lastPing >= interval) {
          this.#lastPing = now;
          try {
            socket.send('{"type":"ping"}');
          } catch {
            // the close event will follow
          }
        }
      },
      Math.max(5, Math.floor(interval / 4)),
    );
  }
}

/** True when `client.subscribe()` asked for the channel: the client resubscribes it itself. */
function clientHeld(entry: ChannelEntry): boolean {
  for (const s of entry.subscriptions) if (!s.serverSide) return true;
  return false;
}

/**
 * Creates a client and (unless `autoConnect: false`) connects it.
 *
 * @example
 * import { createClient } from '@dotmac-ws/client'
 * const client = createClient({ url: 'wss://example.com/ws', getToken: () => fetchToken() })
 * client.subscribe('news', (data) => console.log(data))
 * await client.publish('news', { text: 'hello' })
 */
export function createClient(options: ClientOptions): DotmacClient {
  return new DotmacClient(options);
}
