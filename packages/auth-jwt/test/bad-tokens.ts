import type { AuthFailureReason } from '@dotmac-ws/core';
import { hmacToken, keyPair, nowSec, OTHER_SECRET, rawToken, SECRET, sign } from './helpers';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The same signature bytes spelled another way: an HS256 signature is 43 characters, whose last
 * one carries 2 unused bits; setting one of them changes the text, not what it decodes to.
 */
export function respelled(signature: string): string {
  const last = BASE64URL.indexOf(signature.at(-1) ?? '');
  return signature.slice(0, -1) + BASE64URL[last ^ 1];
}

/** The issuer and audience every fixture authenticator expects. */
export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'dotmac';

/** Claims of a token that passes every check. */
export function goodClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: 'alice', iss: ISSUER, aud: AUDIENCE, iat: nowSec(), exp: nowSec() + 300, ...extra };
}

/** One token that must be refused, with the reason and log message it must be refused with. */
export interface BadToken {
  name: string;
  token: string;
  code: AuthFailureReason;
  detail: string | RegExp;
}

const rsa = keyPair('rsa');
const otherRsa = keyPair('rsa');

/** The RSA key pair the PEM fixtures verify with. */
export const RSA = rsa;

/** Options of the HS256 fixture authenticator. */
export const secretOptions = {
  secret: SECRET,
  issuer: ISSUER,
  audience: AUDIENCE,
  clockToleranceSec: 5,
  maxAgeSec: 600,
};

/** Options of the RS256 (PEM) fixture authenticator. */
export const pemOptions = {
  publicKey: rsa.publicPem,
  issuer: ISSUER,
  audience: AUDIENCE,
  clockToleranceSec: 5,
  maxAgeSec: 600,
};

/** Tokens the HS256 authenticator ({@link secretOptions}) must refuse. */
export function badSecretTokens(): BadToken[] {
  const good = sign(goodClaims());
  const [h, p, s] = good.split('.') as [string, string, string];
  const tampered = `${h}.${Buffer.from(JSON.stringify(goodClaims({ roles: ['admin'] }))).toString('base64url')}.${s}`;
  return [
    {
      name: 'unsigned (alg none)',
      token: rawToken({ alg: 'none', typ: 'JWT' }, goodClaims()),
      code: 'algorithm_not_allowed',
      detail: 'the token is unsigned (alg "none"), which is never accepted',
    },
    {
      name: 'alg none with a signature',
      token: rawToken({ alg: 'none', typ: 'JWT' }, goodClaims(), s),
      code: 'algorithm_not_allowed',
      detail: 'the token is unsigned (alg "none"), which is never accepted',
    },
    {
      name: 'signed with the wrong secret',
      token: sign(goodClaims(), OTHER_SECRET),
      code: 'bad_signature',
      detail: 'the token signature does not verify',
    },
    {
      name: 'a tampered payload',
      token: tampered,
      code: 'bad_signature',
      detail: 'the token signature does not verify',
    },
    {
      name: 'HS256 signed with the RSA public key as the secret',
      token: sign(goodClaims(), rsa.publicPem),
      code: 'bad_signature',
      detail: 'the token signature does not verify',
    },
    {
      name: 'a signature spelled with other unused bits (the same bytes)',
      token: `${h}.${p}.${respelled(s)}`,
      code: 'bad_signature',
      detail: 'the token signature does not verify',
    },
    {
      name: 'an algorithm outside the allow-list (HS512)',
      token: sign(goodClaims(), SECRET + SECRET, { algorithm: 'HS512' }),
      code: 'algorithm_not_allowed',
      detail: 'the token is signed with "HS512", not one of the allowed HS256',
    },
    {
      name: 'an RS256 token',
      token: sign(goodClaims(), rsa.privateKey, { algorithm: 'RS256' }),
      code: 'algorithm_not_allowed',
      detail: 'the token is signed with "RS256", not one of the allowed HS256',
    },
    {
      name: 'expired beyond the tolerance',
      token: sign(goodClaims({ iat: nowSec() - 120, exp: nowSec() - 60 })),
      code: 'expired',
      detail: /^the token expired at \d{4}-\d\d-\d\dT/,
    },
    {
      name: 'not yet valid (nbf)',
      token: sign(goodClaims({ nbf: nowSec() + 60 })),
      code: 'not_yet_valid',
      detail: /^the token is not valid before \d{4}-/,
    },
    {
      name: 'not valid before a time past any date (nbf 1e20)',
      token: sign(goodClaims({ nbf: 1e20 })),
      code: 'not_yet_valid',
      detail: 'the token is not valid before 100000000000000000000',
    },
    {
      name: 'an nbf that is not a number',
      token: hmacToken({ alg: 'HS256', typ: 'JWT' }, goodClaims({ nbf: 'now' })),
      code: 'invalid',
      detail: "the token's nbf claim is not a number",
    },
    {
      name: 'without exp',
      token: sign(goodClaims({ exp: undefined })),
      code: 'missing_claim',
      detail: 'the token has no "exp" claim and requireExp is on',
    },
    {
      name: 'of the wrong issuer',
      token: sign(goodClaims({ iss: 'https://evil.test' })),
      code: 'wrong_issuer',
      detail: `the token's issuer "https://evil.test" is not one of ${ISSUER}`,
    },
    {
      name: 'without an issuer',
      token: sign(goodClaims({ iss: undefined })),
      code: 'wrong_issuer',
      detail: `the token's issuer (none) is not one of ${ISSUER}`,
    },
    {
      name: 'for the wrong audience',
      token: sign(goodClaims({ aud: 'billing' })),
      code: 'wrong_audience',
      detail: `the token's audience "billing" is not one of ${AUDIENCE}`,
    },
    {
      name: 'issued too long ago (maxAgeSec)',
      token: sign(goodClaims({ iat: nowSec() - 3600 })),
      code: 'too_old',
      detail: /^the token was issued more than 600 s ago \(maxAgeSec\), at \d+$/,
    },
    {
      name: 'without iat while maxAgeSec is set',
      token: sign(goodClaims({ iat: undefined }), SECRET, { noTimestamp: true }),
      code: 'missing_claim',
      detail: 'the token has no "iat" claim, which maxAgeSec needs',
    },
    {
      name: 'without sub',
      token: sign(goodClaims({ sub: undefined })),
      code: 'missing_claim',
      detail: 'the token has no "sub" claim',
    },
    {
      name: 'with roles that are not strings',
      token: sign(goodClaims({ roles: [1, 2] })),
      code: 'invalid',
      detail: 'the "roles" claim must be an array of strings or a space-separated string',
    },
    {
      name: 'with critical header extensions',
      token: sign(goodClaims(), SECRET, { header: { alg: 'HS256', crit: ['exp'] } as never }),
      code: 'invalid',
      detail: 'the token lists critical header extensions (crit), none of which is supported',
    },
    {
      name: 'a garbage string',
      token: 'not-a-jwt',
      code: 'malformed',
      detail: 'the token is not a JWT (three base64url parts separated by dots)',
    },
    {
      name: 'three parts that are not JSON',
      token: 'abc.def.ghi',
      code: 'malformed',
      detail: 'the token header is not a JSON object with a string "alg"',
    },
    {
      name: 'a payload that is not a JSON object',
      token: `${h}.${Buffer.from('"alice"').toString('base64url')}.${s}`,
      code: 'malformed',
      detail: 'the token payload is not a JSON object',
    },
    {
      name: 'over maxTokenLength',
      token: sign(goodClaims({ pad: 'x'.repeat(9000) })),
      code: 'malformed',
      detail: /^the token is \d+ characters, over the limit of 8192 \(maxTokenLength\)$/,
    },
  ];
}

/** Tokens the RS256 authenticator ({@link pemOptions}) must refuse. */
export function badPemTokens(): BadToken[] {
  return [
    {
      name: 'HS256 signed with the RSA public key as the secret (algorithm confusion)',
      token: sign(goodClaims(), rsa.publicPem),
      code: 'algorithm_not_allowed',
      detail: 'the token is signed with "HS256", not one of the allowed RS256',
    },
    {
      name: 'signed with another RSA key',
      token: sign(goodClaims(), otherRsa.privateKey, { algorithm: 'RS256' }),
      code: 'bad_signature',
      detail: 'the token signature does not verify',
    },
    {
      name: 'unsigned (alg none)',
      token: rawToken({ alg: 'none' }, goodClaims()),
      code: 'algorithm_not_allowed',
      detail: 'the token is unsigned (alg "none"), which is never accepted',
    },
    {
      name: 'expired beyond the tolerance',
      token: sign(goodClaims({ exp: nowSec() - 30 }), rsa.privateKey, { algorithm: 'RS256' }),
      code: 'expired',
      detail: /^the token expired at /,
    },
    {
      name: 'PS256 while only RS256 is allowed',
      token: sign(goodClaims(), rsa.privateKey, { algorithm: 'PS256' }),
      code: 'algorithm_not_allowed',
      detail: 'the token is signed with "PS256", not one of the allowed RS256',
    },
  ];
}

/** Secrets and keys that must never reach a log line. */
export const SECRETS = [SECRET, OTHER_SECRET, rsa.privatePem, otherRsa.privatePem];
