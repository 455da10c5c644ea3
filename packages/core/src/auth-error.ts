/**
 * Why a token was refused. Goes to the server log and to `onAuthFailure` hooks; the client
 * only ever sees `auth_failed` (or HTTP 401).
 */
export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_signature'
  | 'algorithm_not_allowed'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim'
  | 'too_old'
  | 'unknown_key'
  | 'key_unavailable'
  | 'tenant_mismatch'
  | 'user_mismatch'
  | 'not_configured'
  | 'invalid';

/**
 * Thrown by an {@link Authenticator} when a token is refused. `code` says why, for logs;
 * the message may be detailed but must never contain the token or a secret.
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  /** Why the token was refused. */
  readonly code: AuthFailureReason;

  constructor(code: AuthFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
