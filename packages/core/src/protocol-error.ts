import type { ErrorCode } from './constants';

/** Options of a {@link ProtocolError}. */
export interface ProtocolErrorOptions {
  /** Sent as `data.retry_after_ms`: when the client may try again. */
  retryAfterMs?: number;
  /** The underlying error, kept for logs; never sent to the client. */
  cause?: unknown;
}

/**
 * A refusal of one client frame, answered with an `error` frame carrying `code`.
 * Throw it from a message handler or message middleware to refuse a frame.
 *
 * @example
 * throw new ProtocolError('rate_limited', 'slow down', { retryAfterMs: 1200 })
 */
export class ProtocolError extends Error {
  override readonly name: string = 'ProtocolError';
  /** The `data.code` of the `error` frame. */
  readonly code: ErrorCode | (string & {});
  /** The `data.retry_after_ms` of the `error` frame, when set. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode | (string & {}), message: string, options: ProtocolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }
}
