/**
 * The `data.code` values of the server's `error` frames (v1 and v1.1). Application handlers may
 * answer with codes of their own too.
 */
export const ErrorCode = {
  /** Not JSON, not an object, no string `type`, or an invalid field. */
  BadRequest: 'bad_request',
  /** No handler is registered for the frame's type. */
  UnknownType: 'unknown_type',
  /** The channel name breaks the channel rules, or names a reserved namespace. */
  InvalidChannel: 'invalid_channel',
  /** The session may not do this (channel policy, tenant mismatch). */
  Forbidden: 'forbidden',
  /** The request needs an authenticated session. */
  Unauthenticated: 'unauthenticated',
  /** The session holds `max_subscriptions_per_session` channels already. */
  TooManySubscriptions: 'too_many_subscriptions',
  /** Refused by a rate limit; the error carries `retry_after_ms`. */
  RateLimited: 'rate_limited',
  /** The `auth` frame's token was refused. */
  AuthFailed: 'auth_failed',
  /** Unexpected server fault. */
  InternalError: 'internal_error',
  /** v1.1: the scaling backend did not accept a publish; carries `retry_after_ms`. */
  BackendUnavailable: 'backend_unavailable',
  /** v1.1: the channel has `max_presence_members` members already. */
  PresenceFull: 'presence_full',
  /**
   * v1.1 (dotmac-ws): a `history`, `presence` or `presence_stats` request for a channel that has
   * no history or no presence.
   */
  NotAvailable: 'not_available',
  /**
   * v1.1 (dotmac-ws): the application backend behind the gateway's proxy did not answer (down,
   * slow, failing, or its circuit breaker is open); carries `retry_after_ms`.
   */
  ProxyUnavailable: 'proxy_unavailable',
} as const;

/** An error code from {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
