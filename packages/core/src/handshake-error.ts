/**
 * A refusal of a WebSocket handshake before the upgrade, answered with an HTTP status.
 * Throw it from connection middleware (e.g. 429 with `Retry-After` for connection limits).
 *
 * @example
 * throw new HandshakeError(429, 'too many connections from this address', { 'Retry-After': '5' })
 */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  /** A string code for logs and the JSON body, e.g. `rate_limited`. */
  readonly code: string;
  /** The HTTP status of the refusal (4xx or 5xx). */
  readonly status: number;
  /** Extra response headers, e.g. `Retry-After`. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Record<string, string> = {}, code?: string) {
    super(message);
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HandshakeError status must be an integer from 400 to 599, got ${status}`);
    }
    this.status = status;
    this.headers = headers;
    this.code = code ?? defaultCode(status);
  }
}

function defaultCode(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'auth_failed';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal_error' : 'refused';
  }
}
