import { BackendError } from '@dotmac-ws/core';

/** Why a {@link NatsBackendError} was thrown. */
export type NatsBackendErrorCode =
  /** `start` could not connect to any server within `connectTimeoutMs`. */
  | 'connect_failed'
  /** NATS is unreachable right now; the subscription is sent when the connection returns. */
  | 'unavailable'
  /** The server did not confirm a subscription within `commandTimeoutMs`. */
  | 'timeout'
  /** The client refused a publish (e.g. a payload over the server's `max_payload`). */
  | 'publish_failed'
  /** The backend is not started (or already stopped). */
  | 'not_started'
  /** JetStream refused a history or presence operation (e.g. a body over `max_payload`). */
  | 'store_failed';

/** An error of the NATS backend, with a string `code` to branch on (a core `BackendError`). */
export class NatsBackendError extends BackendError<NatsBackendErrorCode> {
  override readonly name = 'NatsBackendError';
}
