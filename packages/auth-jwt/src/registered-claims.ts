import { AuthError } from '@dotmac-ws/core';
import type { JwtClaims } from './claims';
import { quote } from './quote';

/** What {@link checkRegisteredClaims} checks a verified token's claims against. */
export interface RegisteredClaimRules {
  /** Clock skew allowed for `exp`, `nbf` and the maximum age, in seconds. */
  clockToleranceSec: number;
  /** Refuse a token without `exp`. */
  requireExp: boolean;
  /** Oldest `iat` accepted, as an age in seconds; unset: any. */
  maxAgeSec: number | undefined;
  /** Accepted audiences: one of them must be in `aud`; unset: any. */
  audience: readonly string[] | undefined;
}

/**
 * Checks the registered claims of a token whose signature verified (RFC 7519, section 4.1), in
 * jsonwebtoken's order and with its rules: `nbf`, `exp`, `aud`, the age from `iat`, then
 * whether `exp` is there at all. `iss` is not among them: `JwtAuthenticator.verify` checks it
 * before it fetches any key. Throws `AuthError` (`not_yet_valid`, `expired`, `wrong_audience`,
 * `missing_claim`, `too_old` or `invalid`).
 */
export function checkRegisteredClaims(
  claims: JwtClaims,
  rules: RegisteredClaimRules,
  nowSec: number = Math.floor(Date.now() / 1000),
): void {
  const tolerance = rules.clockToleranceSec;
  const { nbf, exp, aud, iat } = claims;
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') throw new AuthError('invalid', "the token's nbf claim is not a number");
    if (nbf > nowSec + tolerance) {
      throw new AuthError('not_yet_valid', `the token is not valid before ${isoTime(nbf)}`);
    }
  }
  if (exp !== undefined) {
    if (typeof exp !== 'number') throw new AuthError('invalid', "the token's exp claim is not a number");
    if (nowSec >= exp + tolerance) throw new AuthError('expired', `the token expired at ${isoTime(exp)}`);
  }
  if (rules.audience !== undefined) {
    const accepted = rules.audience;
    const named = Array.isArray(aud) ? (aud as unknown[]) : [aud];
    if (!named.some((a) => typeof a === 'string' && accepted.includes(a))) {
      throw new AuthError(
        'wrong_audience',
        `the token's audience ${quote(aud)} is not one of ${accepted.join(', ')}`,
      );
    }
  }
  if (rules.maxAgeSec !== undefined) {
    if (typeof iat !== 'number') {
      throw new AuthError('missing_claim', 'the token has no "iat" claim, which maxAgeSec needs');
    }
    if (nowSec >= iat + rules.maxAgeSec + tolerance) {
      throw new AuthError(
        'too_old',
        `the token was issued more than ${rules.maxAgeSec} s ago (maxAgeSec), at ${quote(iat)}`,
      );
    }
  }
  if (exp === undefined && rules.requireExp) {
    throw new AuthError('missing_claim', 'the token has no "exp" claim and requireExp is on');
  }
}

/** A NumericDate (seconds since the epoch) as an ISO time; the number itself where no date has it. */
function isoTime(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}
