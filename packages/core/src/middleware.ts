import type { IncomingMessage } from 'node:http';
import type { Identity } from './authenticator';
import type { Frame, FrameError, FrameId } from './frame';
import type { WebSocketGateway } from './gateway';
import { promiseTry } from './promise-try';
import type { WebSocketSession } from './session';

/** What connection middleware sees of an upgrade request, before the upgrade. */
export interface ConnectionContext {
  /** The upgrade request. */
  readonly request: IncomingMessage;
  /** The parsed request URL. */
  readonly url: URL;
  /**
   * The client address: the socket's peer, or with `trustProxy` the right-most
   * `X-Forwarded-For` address that is not a trusted proxy.
   */
  readonly ip: string;
  /** The tenant resolved from the path, header, query, subdomain or token. */
  tenantId: string | null;
  /** The identity from a handshake token, if one was given and verified. */
  identity: Identity | null;
  /**
   * Free-form state for middleware to share with later middleware; the same map is handed to
   * identity middleware when the session later authenticates in-band ({@link IdentityContext}).
   */
  readonly state: Map<string, unknown>;
  /** The gateway. */
  readonly gateway: WebSocketGateway;
  /**
   * Registers `callback` to run exactly once when this connection ends, however it ends:
   * closed, terminated, refused by later middleware, or lost before the upgrade.
   */
  onClose(callback: () => void): void;
}

/**
 * What identity middleware sees when a live session authenticates in-band (an `auth` frame):
 * the token is verified and its tenant checked, the identity is not applied yet.
 */
export interface IdentityContext {
  /** The session, still with its identity before this `auth`. */
  readonly session: WebSocketSession;
  /** The verified identity about to be applied; `tenantId` is the session's tenant after it. */
  readonly identity: Identity & { readonly tenantId: string | null };
  /** The connection's state: the map its connection middleware saw at the handshake. */
  readonly state: Map<string, unknown>;
  /** The gateway. */
  readonly gateway: WebSocketGateway;
  /** Registers `callback` to run exactly once when the session ends (at once if it already has). */
  onClose(callback: () => void): void;
}

/**
 * What message middleware sees of one inbound frame.
 *
 * Message middleware runs for every inbound frame, also for one that cannot be read as a
 * frame (binary, not JSON, not an object, an invalid `id` or `type`, nested deeper than
 * `maxJsonDepth`), so that such frames count for rate limits like any other. Those are marked
 * by `malformed` (the `bad_request` they will be refused with), and then `frame` is an empty
 * frame, `type` is `''` (never a valid frame type) and `id` is the frame's id when it had a
 * valid one. Middleware that reads frames should let them pass (`if (ctx.malformed) return
 * next()`). After the last middleware, a malformed frame is refused with `malformed`; a
 * middleware that throws first (e.g. `rate_limited`) is answered instead.
 */
export interface MessageContext {
  /** The session the frame came from. */
  readonly session: WebSocketSession;
  /** The parsed frame (`{ type: '' }` for a malformed one). */
  readonly frame: Frame;
  /** `frame.type` (`''` for a malformed frame). */
  readonly type: string;
  /** `frame.id`, if any. */
  readonly id: FrameId | undefined;
  /** The frame's size in bytes. */
  readonly bytes: number;
  /** The gateway. */
  readonly gateway: WebSocketGateway;
  /** Why the frame could not be read, or null for a well-formed frame. */
  readonly malformed: FrameError | null;
}

/**
 * Runs before the upgrade. Call `next()` to go on; throw a `HandshakeError` to refuse with an
 * HTTP status (e.g. 429 with `Retry-After`).
 */
export type ConnectionMiddleware = (ctx: ConnectionContext, next: () => Promise<void>) => Promise<void>;

/**
 * Runs for every inbound frame, malformed ones included (see {@link MessageContext}), before
 * it is routed. Call `next()` to go on; throw a `ProtocolError` to refuse the frame (e.g.
 * `rate_limited` with `retryAfterMs`).
 */
export type MessageMiddleware = (ctx: MessageContext, next: () => Promise<void>) => Promise<void>;

/**
 * Runs when a live session authenticates in-band, before the identity is applied: e.g. a
 * limiter counts the user now. Call `next()` to go on; throw a `ProtocolError` to refuse the
 * `auth` frame with that code. A refusal with `rate_limited` also closes the session with 4429
 * (the connection may not exist as this user; the client reconnects with backoff).
 */
export type IdentityMiddleware = (ctx: IdentityContext, next: () => Promise<void>) => Promise<void>;

/**
 * What `gateway.use()` takes: connection middleware, message middleware, or both (a plugin
 * such as a rate limiter registers both at once).
 */
export interface GatewayMiddleware {
  /** Runs before every upgrade. */
  connection?: ConnectionMiddleware;
  /** Runs for every inbound frame, malformed ones included (`ctx.malformed`). */
  message?: MessageMiddleware;
  /** Runs when a live session authenticates in-band. */
  identity?: IdentityMiddleware;
}

/**
 * Composes middleware into one function that runs them in order and then `last`.
 * Calling `next()` twice in one middleware is an error.
 */
export function compose<C>(
  stack: readonly ((ctx: C, next: () => Promise<void>) => Promise<void>)[],
  last: (ctx: C) => Promise<void> | void,
): (ctx: C) => Promise<void> {
  // No middleware: the last step alone, without a dispatch (and its promise) per call.
  if (stack.length === 0) {
    return (ctx) => promiseTry(() => last(ctx));
  }
  return (ctx) => {
    let index = -1;
    const dispatch = async (i: number): Promise<void> => {
      if (i <= index) throw new Error('next() called more than once in one middleware');
      index = i;
      const fn = stack[i];
      if (fn === undefined) return last(ctx);
      return fn(ctx, () => dispatch(i + 1));
    };
    return dispatch(0);
  };
}
