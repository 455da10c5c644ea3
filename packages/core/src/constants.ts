/** The wire protocol version carried in `welcome.data.protocol`. */
export const PROTOCOL_VERSION = 1;

/** The subprotocol the gateway selects when a client offers it. */
export const SUBPROTOCOL = 'dotmac.v1';

/** Subprotocol prefix that carries a token at the handshake (`bearer.<jwt>`). */
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

/**
 * WebSocket close codes the gateway uses, with their reason texts (protocol.md, "Close codes").
 * Application codes echo HTTP statuses: 4401 ~ 401.
 */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  InvalidPayload: 1007,
  MessageTooBig: 1009,
  InternalError: 1011,
  Unauthorized: 4401,
  Forbidden: 4403,
  SlowConsumer: 4408,
  RateLimited: 4429,
} as const;

/** A close code from {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The reason text sent with each close code. */
export const CloseReason: Readonly<Record<CloseCode, string>> = {
  1000: 'normal',
  1001: 'going_away',
  1007: 'invalid_payload',
  1009: 'message_too_big',
  1011: 'internal_error',
  4401: 'unauthorized',
  4403: 'forbidden',
  4408: 'slow_consumer',
  4429: 'rate_limited',
};

/** Error codes carried in `error` frames (`data.code`). */
export const ErrorCode = {
  BadRequest: 'bad_request',
  UnknownType: 'unknown_type',
  InvalidChannel: 'invalid_channel',
  Forbidden: 'forbidden',
  Unauthenticated: 'unauthenticated',
  TooManySubscriptions: 'too_many_subscriptions',
  RateLimited: 'rate_limited',
  AuthFailed: 'auth_failed',
  InternalError: 'internal_error',
  BackendUnavailable: 'backend_unavailable',
} as const;

/** An error code from {@link ErrorCode}; handlers may use codes of their own too. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Frame types the server sends and a client may therefore never use as a publish `event` (nor
 * the server API as a broadcast type): a client could otherwise forge an `unsubscribed` push
 * or a presence `join` in other clients' streams. Includes the v1.1 pushes.
 */
export const SERVER_FRAME_TYPES: ReadonlySet<string> = new Set([
  'welcome',
  'ack',
  'error',
  'pong',
  'auth_expiring',
  'subscribed',
  'unsubscribed',
  'join',
  'leave',
]);

/** Client frame types the gateway handles itself; `addMessageHandler` refuses them. */
export const RESERVED_CLIENT_TYPES: ReadonlySet<string> = new Set([
  'auth',
  'subscribe',
  'unsubscribe',
  'publish',
  'ping',
]);
