import type { ErrorCode, FrameId } from './protocol';

/**
 * The gateway refused a request: it answered with an `error` frame. `code` is the server's
 * `data.code` (`forbidden`, `rate_limited`, `unknown_type`, or a handler's own code).
 *
 * @example
 * try { await client.publish('news', 'hi') } catch (e) {
 *   if (e instanceof ServerError && e.code === 'rate_limited') await sleep(e.retryAfterMs ?? 1000)
 * }
 */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  /** The server's error code. */
  readonly code: ErrorCode | (string & {});
  /** The server's `retry_after_ms`, when it sent one. */
  readonly retryAfterMs: number | undefined;
  /** The type of the refused request (`publish`, `subscribe`, a custom type, …). */
  readonly requestType: string;
  /** The id of the refused request, when it had one. */
  readonly requestId: FrameId | undefined;

  constructor(
    code: string,
    message: string,
    details: { retryAfterMs?: number | undefined; requestType: string; requestId?: FrameId | undefined },
  ) {
    super(message);
    this.code = code;
    this.retryAfterMs = details.retryAfterMs;
    this.requestType = details.requestType;
    this.requestId = details.requestId;
  }
}
