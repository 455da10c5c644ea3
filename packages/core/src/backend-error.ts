/**
 * The base of the errors a scaling backend throws (`RedisBackendError`, `NatsBackendError`,
 * ...): an `Error` with a string {@link code} to branch on, so that code handling several
 * backends can test `error instanceof BackendError` and read one field.
 *
 * @typeParam Code - the codes of one backend's errors.
 * @example
 * export class RedisBackendError extends BackendError<RedisBackendErrorCode> {
 *   override readonly name = 'RedisBackendError'
 * }
 */
export class BackendError<Code extends string = string> extends Error {
  override readonly name: string = 'BackendError';
  /** What went wrong. */
  readonly code: Code;

  /** `options.cause` is kept for logs. */
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
