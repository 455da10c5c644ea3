/**
 * WebSocket close codes of the protocol ("Close codes"). Application codes echo HTTP statuses:
 * 4401 ~ 401.
 */
export const CloseCode = {
  /** Client or server closed normally. */
  Normal: 1000,
  /** Server shutdown: reconnect with jitter. */
  GoingAway: 1001,
  /** Invalid UTF-8 in a text frame (sent by `ws`, without a reason text). */
  InvalidPayload: 1007,
  /** An inbound frame was over the server's `max_message_bytes` (sent by `ws`, without a reason text). */
  MessageTooBig: 1009,
  /** Unexpected server fault. */
  InternalError: 1011,
  /** No valid `auth` within `auth_timeout_ms`, or the token expired: needs a new token. */
  Unauthorized: 4401,
  /** The server revoked the session: needs a new token or a policy change. */
  Forbidden: 4403,
  /** The outbound buffer went over `max_buffered_bytes`: the client read too slowly. */
  SlowConsumer: 4408,
  /** `rate_limit_close_after` refused frames in a row. */
  RateLimited: 4429,
} as const;

/** A close code from {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The reason text the server sends with each close code. */
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

/** The close codes after which a client must not reconnect before it has a new token or policy. */
export const NO_RECONNECT_CLOSE_CODES: readonly CloseCode[] = [CloseCode.Unauthorized, CloseCode.Forbidden];

/**
 * Whether a client should reconnect (with backoff and jitter) after the connection closed with
 * `code`: after every code except 4401 and 4403, which need a new token or a policy change first.
 */
export function shouldReconnect(code: number): boolean {
  return code !== CloseCode.Unauthorized && code !== CloseCode.Forbidden;
}
