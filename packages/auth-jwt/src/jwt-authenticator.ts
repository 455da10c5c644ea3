import type { KeyObject } from 'node:crypto';
import { AuthError, type AuthenticationContext, type Authenticator, type Identity } from '@dotmac-ws/core';
import jwt from 'jsonwebtoken';
import { isJwtAlgorithm, isSymmetric, type JwtAlgorithm } from './algorithms';
import type { JwtClaims } from './claims';
import { hmacSignatureMatches } from './hmac-signature';
import { JwksKeySource } from './jwks-key-source';
import {
  type JwtAuthenticatorOptions,
  type ResolvedJwtOptions,
  resolveJwtOptions,
} from './jwt-authenticator-options';
import { quote } from './quote';
import { checkRegisteredClaims } from './registered-claims';

// Three base64url parts; the signature may be empty only to be refused as unsigned below.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** Distinct token headers kept decoded (see `#header`). */
const HEADER_CACHE_SIZE = 16;

interface DecodedToken {
  header: Readonly<{ alg: string; kid?: unknown; crit?: unknown }>;
  payload: JwtClaims;
  unsigned: boolean;
}

/**
 * Verifies JWTs for the gateway (core's `Authenticator`). Refusals throw core's `AuthError`
 * with a precise code (`expired`, `bad_signature`, `algorithm_not_allowed`, …) and a message for
 * the server log that never contains the token or a key.
 */
export class JwtAuthenticator implements Authenticator {
  /** The options in force, defaults applied. */
  readonly options: Readonly<ResolvedJwtOptions>;
  readonly #jwks: JwksKeySource | undefined;
  readonly #headers = new Map<string, Readonly<Record<string, unknown>>>();

  /** Checks `options` (throws one `ConfigError` listing every problem). */
  constructor(options: JwtAuthenticatorOptions) {
    this.options = resolveJwtOptions(options);
    const o = this.options;
    this.#jwks =
      o.jwks.length > 0
        ? new JwksKeySource(o.jwks, {
            cacheMaxAgeMs: o.jwksCacheMaxAgeMs,
            requestsPerMinute: o.jwksRequestsPerMinute,
            timeoutMs: o.jwksTimeoutMs,
          })
        : undefined;
  }

  /** The algorithms a token may be signed with. */
  get algorithms(): readonly JwtAlgorithm[] {
    return this.options.algorithms;
  }

  /** Verifies `token` and maps its claims to the session's identity. */
  async authenticate(token: string, _context?: AuthenticationContext): Promise<Identity> {
    const claims = await this.verify(token);
    const o = this.options;
    let mapped: ReturnType<ResolvedJwtOptions['mapClaims']>;
    try {
      mapped = o.mapClaims(claims);
    } catch (error) {
      if (error instanceof AuthError) throw error;
      throw new AuthError(
        'invalid',
        `the claim mapping failed: ${(error as Error)?.message ?? String(error)}`,
        {
          cause: error,
        },
      );
    }
    const exp = claims.exp;
    return {
      userId: mapped.userId,
      tenantId: mapped.tenantId ?? null,
      roles: mapped.roles ?? [],
      permissions: mapped.permissions ?? [],
      expiresAt: typeof exp === 'number' ? (exp + o.clockToleranceSec) * 1000 : null,
      ...(mapped.extra === undefined ? {} : { extra: mapped.extra }),
    };
  }

  /**
   * Verifies `token`'s signature and registered claims and returns its claims. Throws `AuthError`.
   */
  async verify(token: string): Promise<JwtClaims> {
    const o = this.options;
    const decoded = this.#decode(token);
    const { header, payload } = decoded;
    if (decoded.unsigned || header.alg.toLowerCase() === 'none') {
      throw new AuthError(
        'algorithm_not_allowed',
        'the token is unsigned (alg "none"), which is never accepted',
      );
    }
    if (!isJwtAlgorithm(header.alg) || !o.algorithms.includes(header.alg)) {
      throw new AuthError(
        'algorithm_not_allowed',
        `the token is signed with ${quote(header.alg)}, not one of the allowed ${o.algorithms.join(', ')}`,
      );
    }
    if (header.crit !== undefined) {
      throw new AuthError(
        'invalid',
        'the token lists critical header extensions (crit), none of which is supported',
      );
    }
    const alg = header.alg;
    const iss = typeof payload.iss === 'string' ? payload.iss : undefined;
    // Checked before any key is fetched, so that tokens of foreign issuers cannot make the
    // gateway fetch JWKS keys (the signature is checked afterwards all the same).
    if (o.issuer !== undefined && (iss === undefined || !o.issuer.includes(iss))) {
      throw new AuthError(
        'wrong_issuer',
        `the token's issuer ${quote(payload.iss)} is not one of ${o.issuer.join(', ')}`,
      );
    }
    const key = await this.#key(alg, iss, header.kid);
    if (isSymmetric(alg)) {
      // HMAC checked here: jsonwebtoken would decode the token a second time to do the same.
      const dot = token.lastIndexOf('.');
      if (!hmacSignatureMatches(alg, key, token.slice(0, dot), token.slice(dot + 1))) {
        throw new AuthError('bad_signature', 'the token signature does not verify');
      }
    } else {
      try {
        // The signature and the key's type only; the claims are checked below for every algorithm.
        jwt.verify(token, key, { algorithms: [alg], ignoreExpiration: true, ignoreNotBefore: true });
      } catch (error) {
        throw explainSignatureError(error);
      }
    }
    checkRegisteredClaims(payload, o);
    return payload;
  }

  #decode(token: string): DecodedToken {
    if (typeof token !== 'string' || token.length === 0) {
      throw new AuthError('malformed', 'the token is empty');
    }
    if (token.length > this.options.maxTokenLength) {
      throw new AuthError(
        'malformed',
        `the token is ${token.length} characters, over the limit of ${this.options.maxTokenLength} (maxTokenLength)`,
      );
    }
    if (!COMPACT_JWS.test(token)) {
      throw new AuthError('malformed', 'the token is not a JWT (three base64url parts separated by dots)');
    }
    const [h, p, s] = token.split('.') as [string, string, string];
    const header = this.#header(h);
    if (header === null || typeof header.alg !== 'string') {
      throw new AuthError('malformed', 'the token header is not a JSON object with a string "alg"');
    }
    const payload = parseJsonPart(p);
    if (payload === null) throw new AuthError('malformed', 'the token payload is not a JSON object');
    return { header: header as DecodedToken['header'], payload, unsigned: s.length === 0 };
  }

  /**
   * The decoded header part `h`. An issuer signs every token with the same header, so the last
   * few distinct ones are kept decoded (frozen: shared between tokens): a storm of sign-ins
   * decodes one header instead of one per token. Bounded: a client sending ever new headers only
   * evicts them.
   */
  #header(h: string): Readonly<Record<string, unknown>> | null {
    const cache = this.#headers;
    const known = cache.get(h);
    if (known !== undefined) return known;
    const header = parseJsonPart(h);
    if (header === null) return null;
    Object.freeze(header);
    if (cache.size >= HEADER_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(h, header);
    return header;
  }

  async #key(alg: JwtAlgorithm, iss: string | undefined, kid: unknown): Promise<KeyObject> {
    const o = this.options;
    if (isSymmetric(alg)) {
      // resolveJwtOptions allows an HS algorithm only with a secret.
      return o.secret!;
    }
    // resolveJwtOptions allows only the algorithms the public key can verify.
    if (o.publicKey !== undefined) return o.publicKey;
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > 256)) {
      throw new AuthError('malformed', `the token's kid ${quote(kid)} is not a string of 1-256 characters`);
    }
    return this.#jwks!.key(iss, kid, alg);
  }
}

/**
 * Creates a {@link JwtAuthenticator}: pass it as the gateway's `authenticator`. Throws a
 * `ConfigError` listing every problem in `options`.
 *
 * @example
 * const gateway = new WebSocketGateway({
 *   authenticator: jwtAuthenticator({ secret: process.env.JWT_SECRET_KEY, issuer: 'https://auth.example.com' }),
 *   requireToken: true,
 * })
 */
export function jwtAuthenticator(options: JwtAuthenticatorOptions): JwtAuthenticator {
  return new JwtAuthenticator(options);
}

function parseJsonPart(part: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function explainSignatureError(error: unknown): AuthError {
  const message = error instanceof Error ? error.message : String(error);
  if (message === 'invalid signature') {
    return new AuthError('bad_signature', 'the token signature does not verify', { cause: error });
  }
  // Key type checks, jws errors: jsonwebtoken's messages name no key material.
  return new AuthError('invalid', `the token was refused: ${message}`, { cause: error });
}
