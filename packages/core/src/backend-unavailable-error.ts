import { ErrorCode } from './constants';
import { ProtocolError } from './protocol-error';

/** When a sender may try again after a publish the backend did not accept, unless told otherwise. */
export const DEFAULT_BACKEND_RETRY_AFTER_MS = 1000;

/** What a sender is told when the backend did not accept its broadcast. @internal */
export const NOT_ACCEPTED_MESSAGE =
  'the scaling backend did not accept the message: only subscribers on this node got it';

/** Options of a {@link BackendUnavailableError}. */
export interface BackendUnavailableErrorOptions {
  /** When the sender may try again (`data.retry_after_ms`). @default DEFAULT_BACKEND_RETRY_AFTER_MS (1000) */
  retryAfterMs?: number;
  /**
   * How many local sessions the broadcast was handed to before the backend refused it (set by
   * the gateway on the error `broadcastTo*` rejects with; undefined on a backend's own error).
   */
  deliveredLocal?: number;
  /** The underlying error, kept for logs; never sent to a client. */
  cause?: unknown;
}

/**
 * The scaling backend did not accept a message: the broker is unreachable, the backend is
 * stopped, or the broker refused it. Every backend rejects `publish` with this class when it
 * drops a message, and the gateway's `broadcastTo*` reject with it (carrying
 * {@link deliveredLocal}: local delivery stands). A client `publish` gets `error` code
 * `backend_unavailable` with `retry_after_ms`; `POST /api/publish` answers 503.
 *
 * @example
 * try {
 *   await gateway.broadcastToChannel('news', 'headline', data)
 * } catch (error) {
 *   if (error instanceof BackendUnavailableError) retryLater(error.retryAfterMs)
 * }
 */
export class BackendUnavailableError extends ProtocolError {
  override readonly name: string = 'BackendUnavailableError';
  /** Always `backend_unavailable`. */
  declare readonly code: typeof ErrorCode.BackendUnavailable;
  /** When the sender may try again, in milliseconds. */
  declare readonly retryAfterMs: number;
  /** Local sessions the broadcast reached before the backend refused it (see the options). */
  readonly deliveredLocal: number | undefined;

  constructor(message: string, options: BackendUnavailableErrorOptions = {}) {
    super(ErrorCode.BackendUnavailable, message, {
      retryAfterMs: options.retryAfterMs ?? DEFAULT_BACKEND_RETRY_AFTER_MS,
      cause: options.cause,
    });
    this.deliveredLocal = options.deliveredLocal;
  }
}
