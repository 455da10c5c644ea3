import { ErrorCode } from '@dotmac-ws/core';
/** The error code a client gets when the application could not decide (protocol addition). */
export const PROXY_UNAVAILABLE = ErrorCode.ProxyUnavailable;

/**
 * Why a proxy request brought no decision: `timeout`, `unreachable`, `bad_status` (not 2xx),
 * `invalid_answer` (not the documented JSON), `breaker_open` (refused without asking),
 * `overloaded` (no slot: too many requests at once on this node).
 */
export type ProxyFailureReason =
  | 'timeout'
  | 'unreachable'
  | 'bad_status'
  | 'invalid_answer'
  | 'breaker_open'
  | 'overloaded';

/**
 * A proxy request that brought no decision. The gateway answers it as the issue says: HTTP 503
 * at the handshake, `proxy_unavailable` with `retry_after_ms` for a frame. @internal
 */
export class ProxyFailure extends Error {
  override readonly name = 'ProxyFailure';
  constructor(
    readonly reason: ProxyFailureReason,
    message: string,
    /** When the client may try again. */
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}
