import { BackendError } from '@dotmac-ws/core';

/** Why a {@link RedisBackendError} was thrown. */
export type RedisBackendErrorCode =
  /** `start` could not reach Redis within `connectTimeoutMs`. */
  | 'connect_failed'
  /** Redis is unreachable right now; the topic is subscribed again when it returns. */
  | 'unavailable'
  /** Redis did not confirm a subscription within `commandTimeoutMs`. */
  | 'timeout'
  /** Redis refused a command (e.g. a cluster that has no slot for the channel). */
  | 'command_failed'
  /** The backend is not started (or already stopped). */
  | 'not_started';

/** An error of the Redis backend, with a string `code` to branch on (a core `BackendError`). */
export class RedisBackendError extends BackendError<RedisBackendErrorCode> {
  override readonly name = 'RedisBackendError';
}
