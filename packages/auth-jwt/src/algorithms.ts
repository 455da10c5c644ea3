import type { KeyObject } from 'node:crypto';

/** The signature algorithms a token may use. `none` is not one of them, and never will be. */
export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

/** A signature algorithm of {@link JWT_ALGORITHMS}. */
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const ALGORITHM_SET: ReadonlySet<string> = new Set(JWT_ALGORITHMS);

/** Is `alg` one of {@link JWT_ALGORITHMS}? */
export function isJwtAlgorithm(alg: unknown): alg is JwtAlgorithm {
  return typeof alg === 'string' && ALGORITHM_SET.has(alg);
}

/** HMAC algorithms are verified with the shared secret, every other one with a public key. */
export function isSymmetric(alg: JwtAlgorithm): boolean {
  return alg.startsWith('HS');
}

/** The fewest secret bytes an HMAC algorithm accepts: its hash size (RFC 7518, section 3.2). */
export function minSecretBytes(alg: JwtAlgorithm): number {
  return Number(alg.slice(2)) / 8;
}

const EC_CURVES: Readonly<Record<string, JwtAlgorithm>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/**
 * The algorithms a public key can verify: RS and PS for an RSA key, PS for an RSA-PSS key,
 * the one ES algorithm of an EC key's curve. Empty for anything else.
 */
export function algorithmsForKey(key: KeyObject): JwtAlgorithm[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const alg = EC_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
      return alg ? [alg] : [];
    }
    default:
      return [];
  }
}
