import type { TokenVerifier } from './authentication';
import type { Broadcaster } from './broadcaster';
import type { ChannelFeatures } from './channel-features';
import {
  internalChannelName,
  isValidChannelName,
  isValidEventName,
  TENANT_CHANNEL_PREFIX,
} from './channel-name';
import type { ChannelRef } from './channel-policy';
import { answerHistory, answerPresence, answerPresenceStats, withPublications } from './channel-queries';
import type { ChannelRegistry } from './channel-registry';
import type { ResolvedGatewayConfig } from './config';
import type { Connection } from './connection';
import { CloseCode, ErrorCode, SERVER_FRAME_TYPES } from './constants';
import { errorFrame, type Frame, FrameError, type FrameId, parseFrame, publishAckText } from './frame';
import type { WebSocketGateway } from './gateway';
import type { GatewayEvents } from './gateway-events';
import { readIdempotencyKey, readSince } from './history-query';
import type { HookRunner } from './hook-runner';
import type { MessageHandler } from './message-handler';
import type { MessageContext } from './middleware';
import type { MiddlewareStack } from './middleware-stack';
import { promiseTry } from './promise-try';
import { ProtocolError } from './protocol-error';
import type { GatewayCounters } from './stats';
import { encodeTextFrame } from './websocket-frame';

/** What the router needs of the node. @internal */
export interface RouterNode {
  readonly config: ResolvedGatewayConfig;
  readonly counters: GatewayCounters;
  readonly hooks: HookRunner;
  readonly channels: ChannelRegistry<Connection>;
  readonly broadcaster: Broadcaster;
  readonly features: ChannelFeatures;
  readonly events: GatewayEvents;
  /** The handler of frame types that have none of their own (`gateway.setFallbackHandler`). */
  fallbackHandler(): MessageHandler | undefined;
  readonly handlers: ReadonlyMap<string, MessageHandler>;
  readonly middleware: MiddlewareStack;
  readonly tokens: TokenVerifier;
  readonly gateway: WebSocketGateway;
}

/** The refusal of a publish the channel policy does not allow. */
function publishForbidden(name: string): ProtocolError {
  return new ProtocolError(ErrorCode.Forbidden, `publishing on "${name}" is not allowed`);
}

/** A message context that also carries the connection it came from. */
interface RoutedContext extends MessageContext {
  readonly connection: Connection;
}

/**
 * Handles inbound frames: reads each one, runs the message middleware, and routes the reserved
 * types (`auth`, `subscribe`, `unsubscribe`, `publish`, `ping`) and the custom ones. This is
 * where a subscribe or a publish is authorized (the channel policy), an in-band token is
 * checked, and a refused frame is answered with an `error` frame. @internal
 */
export class Router {
  readonly #n: RouterNode;

  constructor(node: RouterNode) {
    this.#n = node;
  }

  /**
   * Reads one inbound frame and runs the message middleware and the router on it. A frame that
   * cannot be read (binary, not JSON, not an object, bad `id` or `type`, too deep) runs the
   * middleware too, marked by `ctx.malformed`, so that it counts for rate limits; it is then
   * refused with that `bad_request`, or with what a middleware threw first.
   */
  handleFrame(connection: Connection, text: string | null, bytes: number): Promise<void> | undefined {
    const n = this.#n;
    const session = connection.session;
    let ctx: RoutedContext;
    try {
      if (text === null) throw new FrameError('binary frames are not supported: send JSON text');
      const frame = parseFrame(text, n.config.maxJsonDepth);
      ctx = {
        session,
        frame,
        type: frame.type,
        id: frame.id,
        bytes,
        gateway: n.gateway,
        malformed: null,
        connection,
      };
    } catch (error) {
      const malformed = error instanceof FrameError ? error : new FrameError('the frame could not be read');
      ctx = {
        session,
        // A fresh object each time: middleware may write to the frame it is given.
        frame: { type: '' },
        type: '',
        id: malformed.requestId,
        bytes,
        gateway: n.gateway,
        malformed,
        connection,
      };
    }
    if (ctx.malformed === null) n.hooks.onMessage(session, ctx.type, bytes);
    let pending: Promise<void> | undefined;
    try {
      // Without message middleware the router runs at once, and a frame it answers in this
      // turn (a publish to local subscribers, a ping) costs no promise at all.
      pending = n.middleware.hasMessage ? n.middleware.runMessage(ctx) : this.#routeNow(ctx);
    } catch (error) {
      this.#refuseFrame(connection, ctx.type, ctx.id, error);
      return undefined;
    }
    if (pending === undefined) {
      connection.refusedInARow = 0;
      return undefined;
    }
    return pending.then(
      () => {
        connection.refusedInARow = 0;
      },
      (error: unknown) => this.#refuseFrame(connection, ctx.type, ctx.id, error),
    );
  }

  /** The last step of the message middleware: refuses a malformed frame, routes the others. */
  readonly routeOrRefuse = (ctx: MessageContext): Promise<void> => promiseTry(() => this.#routeNow(ctx));

  /** Refuses a malformed frame (throws), routes the others; a promise only for work still going on. */
  #routeNow(ctx: MessageContext): Promise<void> | undefined {
    if (ctx.malformed !== null) throw ctx.malformed;
    return this.#route((ctx as RoutedContext).connection, ctx.frame, ctx.type);
  }

  #refuseFrame(connection: Connection, type: string, id: FrameId | undefined, error: unknown): void {
    const n = this.#n;
    let code: string;
    let message: string;
    let retryAfterMs: number | undefined;
    if (error instanceof ProtocolError) {
      code = error.code;
      message = error.message;
      retryAfterMs = error.retryAfterMs;
    } else {
      n.counters.handler_errors++;
      n.hooks.reportError(error, `handler of "${type}"`);
      code = ErrorCode.InternalError;
      message = 'internal error';
    }
    n.counters.messages_refused++;
    n.hooks.call('onMessageRefused', (h) => h.onMessageRefused?.(connection.session, type, code));
    connection.sendRaw(Buffer.from(errorFrame(code, message, id, retryAfterMs)));
    if (code === ErrorCode.RateLimited) {
      n.counters.rate_limited++;
      connection.refusedInARow++;
      if (connection.refusedInARow >= n.config.rateLimitCloseAfter) connection.close(CloseCode.RateLimited);
    } else {
      connection.refusedInARow = 0;
    }
  }

  /** Runs the frame's type; throws a refusal, returns a promise only for work still going on. */
  #route(connection: Connection, frame: Frame, type: string): Promise<void> | undefined {
    if (this.#n.config.requireToken && !connection.authenticated && type !== 'auth') {
      throw new ProtocolError(
        ErrorCode.Unauthenticated,
        'authenticate first: send {"type":"auth","data":{"token":"…"}}',
      );
    }
    switch (type) {
      case 'ping':
        connection.session.send(
          frame.id === undefined
            ? { type: 'pong', data: frame.data ?? null }
            : { type: 'pong', id: frame.id, data: frame.data ?? null },
        );
        return;
      case 'subscribe':
        return this.#subscribe(connection, frame);
      case 'unsubscribe':
        return this.#unsubscribe(connection, frame);
      case 'publish':
        return this.#clientPublish(connection, frame);
      case 'auth':
        return this.#auth(connection, frame);
      case 'history':
      case 'presence':
      case 'presence_stats':
        return this.#query(connection, frame, type);
      default:
        return this.#custom(connection, frame);
    }
  }

  #ack(connection: Connection, id: FrameId | undefined, data: unknown): void {
    if (id !== undefined) connection.session.send({ type: 'ack', id, data });
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

  #channelRef(connection: Connection, name: string): ChannelRef {
    const tenantId = connection.tenantId;
    const isolation = this.#n.config.tenantIsolation;
    if (isolation && tenantId === null && name.startsWith(TENANT_CHANNEL_PREFIX)) {
      throw new ProtocolError(
        ErrorCode.InvalidChannel,
        `channel names starting with "${TENANT_CHANNEL_PREFIX}" are reserved`,
      );
    }
    return { name, internal: internalChannelName(name, tenantId, isolation), tenantId };
  }

  /**
   * `subscribe`: the subscription limit, then the channel policy decides; a channel with
   * presence takes the session as a member (or refuses `presence_full`), a channel with history
   * answers with its position and, with `since`, what the client missed (protocol.md v1.1).
   */
  async #subscribe(connection: Connection, frame: Frame): Promise<void> {
    const n = this.#n;
    const name = this.#channelOf(frame, true);
    const existing = connection.subscriptions.get(name);
    if (existing !== undefined) {
      const position = n.features.history.position(existing);
      this.#ack(connection, frame.id, {
        channel: name,
        subscribers: n.channels.subscribers(existing).size,
        ...(position === null ? {} : position),
      });
      return;
    }
    if (connection.subscriptions.size >= n.config.maxSubscriptionsPerSession) {
      throw new ProtocolError(
        ErrorCode.TooManySubscriptions,
        `a session may hold at most ${n.config.maxSubscriptionsPerSession} channels`,
      );
    }
    const ref = this.#channelRef(connection, name);
    if (!(await n.config.channelPolicy.canSubscribe(connection.session, ref))) {
      throw new ProtocolError(ErrorCode.Forbidden, `subscribing to "${name}" is not allowed`);
    }
    const options = n.features.options(ref);
    const d = frame.data;
    const since =
      options.historySize > 0 && d !== null && typeof d === 'object'
        ? readSince((d as Record<string, unknown>).since, 'data.since')
        : null;
    await n.features.subscribe(
      connection,
      ref,
      since,
      (fields, publications) => {
        const data = { channel: name, subscribers: n.channels.subscribers(ref.internal).size, ...fields };
        if (frame.id === undefined) {
          // No id, no ack: what the client missed arrives as deliveries.
          for (const p of publications ?? []) connection.writeFramed(encodeTextFrame(p.frame()));
          return;
        }
        const head = `{"type":"ack","id":${JSON.stringify(frame.id)},"data":`;
        const body =
          publications === null
            ? JSON.stringify(data)
            : withPublications(
                data,
                publications.map((p) => p.json),
              );
        connection.sendRaw(Buffer.from(`${head}${body}}`));
      },
      options,
    );
  }

  /** `history`, `presence`, `presence_stats`: need subscribe permission on the channel. */
  async #query(connection: Connection, frame: Frame, type: string): Promise<void> {
    const n = this.#n;
    const name = this.#channelOf(frame, true);
    const ref = this.#channelRef(connection, name);
    if (!(await n.config.channelPolicy.canSubscribe(connection.session, ref))) {
      throw new ProtocolError(ErrorCode.Forbidden, `reading "${name}" is not allowed`);
    }
    const d = frame.data;
    const input =
      d !== null && typeof d === 'object' && !Array.isArray(d) ? (d as Record<string, unknown>) : {};
    if (type === 'history') {
      const r = await answerHistory(n.features, ref, input, 'data.');
      if (frame.id === undefined || !connection.session.isOpen) return;
      const body = withPublications({ channel: name, offset: r.offset, epoch: r.epoch }, r.publications);
      connection.sendRaw(Buffer.from(`{"type":"ack","id":${JSON.stringify(frame.id)},"data":${body}}`));
      return;
    }
    const answer =
      type === 'presence'
        ? await answerPresence(n.features, ref)
        : await answerPresenceStats(n.features, ref);
    this.#ack(connection, frame.id, { channel: name, ...answer });
  }

  async #unsubscribe(connection: Connection, frame: Frame): Promise<void> {
    const name = this.#channelOf(frame, true);
    const internal = connection.subscriptions.get(name);
    if (internal !== undefined) this.#dropSubscription(connection, name, internal);
    this.#ack(connection, frame.id, { channel: name });
  }

  #dropSubscription(connection: Connection, name: string, internal: string): void {
    this.#n.features.unsubscribe(connection, name, internal);
  }

  /**
   * After an in-band `auth` changed who the session is (roles, permissions, tenant), drops
   * every subscription the channel policy no longer allows, or whose tenant scope changed,
   * telling the client with an `unsubscribed` push (protocol.md v1.1).
   */
  async #recheckSubscriptions(connection: Connection): Promise<void> {
    const n = this.#n;
    for (const [name, internal] of [...connection.subscriptions]) {
      let reason: string | null = null;
      let ref: ChannelRef | undefined;
      try {
        ref = this.#channelRef(connection, name);
      } catch {
        reason = ErrorCode.Forbidden;
      }
      if (ref !== undefined) {
        if (ref.internal !== internal) reason = 'tenant_changed';
        else {
          let allowed: boolean;
          try {
            allowed = await n.config.channelPolicy.canSubscribe(connection.session, ref);
          } catch (error) {
            n.hooks.reportError(error, 'channel policy');
            allowed = false;
          }
          if (!allowed) reason = ErrorCode.Forbidden;
        }
      }
      if (reason === null || connection.subscriptions.get(name) !== internal) continue;
      this.#dropSubscription(connection, name, internal);
      connection.session.send({ type: 'unsubscribed', channel: name, data: { reason } });
    }
  }

  /** `publish` from a client: allowed by `clientPublish` or the channel policy. */
  #clientPublish(connection: Connection, frame: Frame): Promise<void> | undefined {
    const n = this.#n;
    const name = this.#channelOf(frame, false);
    const event = frame.event ?? 'message';
    if (!isValidEventName(event) || SERVER_FRAME_TYPES.has(event)) {
      throw new ProtocolError(
        ErrorCode.BadRequest,
        `"event" must be 1-100 characters of A-Z a-z 0-9 _ - . : @ / and not a server frame type`,
      );
    }
    const ref = this.#channelRef(connection, name);
    if (n.config.clientPublish) {
      this.#publish(connection, frame, ref, event);
      return undefined;
    }
    const allowed = n.config.channelPolicy.canPublish(connection.session, ref);
    if (typeof allowed === 'boolean') {
      if (!allowed) throw publishForbidden(name);
      this.#publish(connection, frame, ref, event);
      return undefined;
    }
    return Promise.resolve(allowed).then((yes) => {
      if (!yes) throw publishForbidden(name);
      this.#publish(connection, frame, ref, event);
    });
  }

  /**
   * Publishes an allowed client `publish`. Local delivery happens at once, before the backend
   * confirms, so the next frame of this session may be handled meanwhile: order is kept,
   * latency is not paid twice. The answer follows the backend's: an ack once it accepted the
   * message, else `backend_unavailable` (protocol.md v1.1), with or without an id.
   */
  #publish(connection: Connection, frame: Frame, ref: ChannelRef, event: string): void {
    const n = this.#n;
    const idempotencyKey = readIdempotencyKey(frame.idempotency_key, 'idempotency_key');
    if (n.events.has('client.publish')) {
      n.events.emit('client.publish', {
        session: connection.session,
        channel: ref,
        type: event,
        data: frame.data,
      });
    }
    const result = n.features.send(ref, event, frame.data, idempotencyKey);
    const id = frame.id;
    if (!(result instanceof Promise)) {
      // The hottest answer of all, written without serializing an object: `{channel, offset?}`.
      if (id !== undefined) connection.sendRaw(Buffer.from(publishAckText(id, ref.name, result.offset)));
      return;
    }
    result.then(
      (r) => {
        const offset = typeof r === 'number' ? undefined : r.offset;
        if (id !== undefined) connection.sendRaw(Buffer.from(publishAckText(id, ref.name, offset)));
      },
      (error: unknown) => {
        if (connection.session.isOpen) this.#refuseFrame(connection, frame.type, id, error);
      },
    );
  }

  /** `auth`: verifies the token, checks its tenant and user, runs identity middleware, applies it. */
  async #auth(connection: Connection, frame: Frame): Promise<void> {
    const n = this.#n;
    const session = connection.session;
    const tokens = n.tokens;
    const d = frame.data;
    const token = d !== null && typeof d === 'object' ? (d as Record<string, unknown>).token : undefined;
    if (typeof token !== 'string' || token.length === 0) {
      tokens.failed('missing', 'the auth frame has no data.token', session);
      throw new ProtocolError(ErrorCode.AuthFailed, 'data.token must be a non-empty string');
    }
    const identity = await tokens.verify(token, 'frame', connection.tenantId, undefined, session);
    const tokenTenant = identity.tenantId ?? null;
    if (connection.tenantId !== null && tokenTenant !== null && tokenTenant !== connection.tenantId) {
      tokens.failed('tenant_mismatch', "the token's tenant differs from the session's", session);
      throw new ProtocolError(ErrorCode.Forbidden, 'the token belongs to another tenant');
    }
    if (connection.tenantId !== null && tokenTenant === null && !n.config.tenantAgnosticTokens) {
      tokens.failed('tenant_missing', 'the token has no tenant and the session is in one', session);
      throw new ProtocolError(ErrorCode.Forbidden, 'the token has no tenant_id and cannot enter a tenant');
    }
    if (connection.authenticated && connection.userId !== identity.userId) {
      tokens.failed('user_mismatch', 'a token of another user was sent on an authenticated session', session);
      throw new ProtocolError(ErrorCode.Forbidden, 'a session cannot change its user: open a new connection');
    }
    if (!session.isOpen) return;
    const verified = { ...identity, tenantId: tokenTenant ?? connection.tenantId };
    if (n.middleware.hasIdentity) {
      try {
        await n.middleware.runIdentity({
          session,
          identity: verified,
          state: connection.state,
          gateway: n.gateway,
          onClose: connection.onClose,
        });
      } catch (error) {
        if (error instanceof ProtocolError && error.code === ErrorCode.RateLimited) {
          // After the error frame (written in this turn), the session goes: it may not exist as
          // this user now, and 4429 tells the client to come back later (4401 would not).
          setImmediate(() => connection.close(CloseCode.RateLimited));
        }
        throw error;
      }
      if (!session.isOpen) return;
    }
    connection.applyIdentity(verified, true);
    connection.authenticatedInBand();
    await this.#recheckSubscriptions(connection);
    connection.subscribeIdentityChannels(verified);
    this.#ack(connection, frame.id, {
      user_id: connection.userId,
      tenant_id: connection.tenantId,
      roles: connection.roles,
      permissions: connection.permissions,
      expires_at: connection.expiresAt === null ? null : Math.floor(connection.expiresAt / 1000),
    });
  }

  /** A custom frame type: its registered handler, whose result is the ack's data. */
  async #custom(connection: Connection, frame: Frame): Promise<void> {
    const handler = this.#n.handlers.get(frame.type) ?? this.#n.fallbackHandler();
    if (handler === undefined) {
      throw new ProtocolError(ErrorCode.UnknownType, `no handler for frame type "${frame.type}"`);
    }
    let replied = false;
    const reply = (data: unknown) => {
      if (replied) return;
      replied = true;
      this.#ack(connection, frame.id, data ?? null);
    };
    const result = await handler(connection.session, frame.data, {
      id: frame.id,
      type: frame.type,
      frame,
      gateway: this.#n.gateway,
      reply,
    });
    reply(result);
  }
}
