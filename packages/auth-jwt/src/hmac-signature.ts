import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';

/** The hash of each HMAC algorithm (RFC 7518, section 3.2). */
const HASHES: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/**
 * Does `signature` (the token's third part, base64url) sign `signingInput` (its first two parts
 * and the dot between them) under `alg` (HS256, HS384 or HS512) with `secret`?
 *
 * Compares the base64url text in constant time, as jsonwebtoken does: a signature spelled any
 * other way (different padding bits in the last character) does not verify, so that a token has
 * exactly one valid form.
 */
export function hmacSignatureMatches(
  alg: string,
  secret: KeyObject,
  signingInput: string,
  signature: string,
): boolean {
  const hash = HASHES[alg];
  if (hash === undefined) return false;
  const expected = Buffer.from(createHmac(hash, secret).update(signingInput).digest('base64url'), 'latin1');
  const given = Buffer.from(signature, 'latin1');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
