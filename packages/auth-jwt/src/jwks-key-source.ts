import { createPublicKey, type KeyObject } from 'node:crypto';
import { AuthError } from '@dotmac-ws/core';
import jwksRsa from 'jwks-rsa';
import { algorithmsForKey, type JwtAlgorithm } from './algorithms';
import { quote } from './quote';

/** A JWKS endpoint, optionally bound to the one issuer whose tokens it verifies. */
export interface JwksSource {
  /** The JWKS URL (`https://issuer.example.com/.well-known/jwks.json`). */
  uri: string;
  /**
   * The issuer (`iss`) whose tokens this JWKS verifies. Tokens are routed to the JWKS of their
   * issuer, so a key of one issuer never verifies another issuer's token. Unset: this JWKS
   * verifies the tokens of every accepted issuer that has no JWKS of its own.
   * @default undefined
   */
  issuer?: string;
}

/** How JWKS keys are fetched and kept. */
export interface JwksFetchOptions {
  /** How long a fetched key set is used before it is fetched again. */
  cacheMaxAgeMs: number;
  /** Fetches per minute and endpoint at most; an unknown `kid` past it is refused, not queued. */
  requestsPerMinute: number;
  /** How long one fetch may take. */
  timeoutMs: number;
}

interface JwksKey {
  key: KeyObject;
  /** The JWK's `alg`, when it names one. */
  alg: string | undefined;
}

const MINUTE = 60_000;

/** One JWKS endpoint's keys by `kid`, fetched on demand within a rate limit. */
class JwksEndpoint {
  readonly shown: string;
  readonly #client: jwksRsa.JwksClient;
  readonly #options: JwksFetchOptions;
  #keys = new Map<string, JwksKey>();
  #unnamed: JwksKey[] = [];
  #fetchedAt = Number.NEGATIVE_INFINITY;
  readonly #fetchTimes: number[] = [];
  #inflight: Promise<void> | null = null;

  constructor(uri: string, options: JwksFetchOptions) {
    this.shown = withoutCredentials(uri);
    this.#options = options;
    // jwks-rsa fetches and converts the JWKs; caching and rate limiting are ours, so that one
    // fetch caches every key of the set (not just the `kid` asked for).
    this.#client = new jwksRsa.JwksClient({
      jwksUri: uri,
      cache: false,
      rateLimit: false,
      timeout: options.timeoutMs,
    });
  }

  async lookup(kid: string | undefined): Promise<JwksKey> {
    const fresh = Date.now() - this.#fetchedAt < this.#options.cacheMaxAgeMs;
    const cached = this.#find(kid);
    if (fresh && cached !== undefined) return cached;
    try {
      if (this.#inflight !== null) {
        // Lookups during a fetch share it and do not start another one.
        await this.#inflight;
      } else if (this.#rateLimited()) {
        if (cached !== undefined) return cached;
        throw new AuthError(
          'unknown_key',
          `the key ${quote(kid)} is not cached and the JWKS of ${this.shown} was not fetched again: ` +
            `at most ${this.#options.requestsPerMinute} fetches a minute (jwksRequestsPerMinute)`,
        );
      } else {
        this.#inflight = this.#fetch().finally(() => {
          this.#inflight = null;
        });
        await this.#inflight;
      }
    } catch (error) {
      // A key the issuer published stays usable while its aged set cannot be refreshed (over
      // the fetch limit, endpoint down): an identity-provider outage does not lock users out.
      if (cached !== undefined) return cached;
      throw error;
    }
    const found = this.#find(kid);
    if (found !== undefined) return found;
    throw new AuthError(
      'unknown_key',
      kid === undefined
        ? `the token has no kid and the JWKS of ${this.shown} holds ${this.#size()} keys`
        : `the JWKS of ${this.shown} has no key ${quote(kid)}`,
    );
  }

  #find(kid: string | undefined): JwksKey | undefined {
    if (kid !== undefined) return this.#keys.get(kid);
    return this.#size() === 1 ? [...this.#keys.values(), ...this.#unnamed][0] : undefined;
  }

  #size(): number {
    return this.#keys.size + this.#unnamed.length;
  }

  #rateLimited(): boolean {
    const now = Date.now();
    while (this.#fetchTimes.length > 0 && now - this.#fetchTimes[0]! >= MINUTE) this.#fetchTimes.shift();
    return this.#fetchTimes.length >= this.#options.requestsPerMinute;
  }

  async #fetch(): Promise<void> {
    this.#fetchTimes.push(Date.now());
    let signingKeys: jwksRsa.SigningKey[];
    try {
      signingKeys = await this.#client.getSigningKeys();
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new AuthError('key_unavailable', `the JWKS of ${this.shown} could not be fetched: ${detail}`, {
        cause: error,
      });
    }
    const keys = new Map<string, JwksKey>();
    const unnamed: JwksKey[] = [];
    for (const k of signingKeys) {
      const entry: JwksKey = { key: createPublicKey(k.getPublicKey()), alg: k.alg || undefined };
      if (typeof k.kid === 'string' && k.kid.length > 0) keys.set(k.kid, entry);
      else unnamed.push(entry);
    }
    this.#keys = keys;
    this.#unnamed = unnamed;
    this.#fetchedAt = Date.now();
  }
}

/**
 * The public keys of one or more JWKS endpoints, cached per endpoint (so per issuer) and `kid`.
 * An unknown `kid` fetches its endpoint again, at most `requestsPerMinute` times a minute.
 */
export class JwksKeySource {
  readonly #byIssuer = new Map<string, JwksEndpoint>();
  readonly #fallback: JwksEndpoint | undefined;

  constructor(sources: readonly JwksSource[], options: JwksFetchOptions) {
    let fallback: JwksEndpoint | undefined;
    for (const source of sources) {
      const endpoint = new JwksEndpoint(source.uri, options);
      if (source.issuer === undefined) fallback = endpoint;
      else this.#byIssuer.set(source.issuer, endpoint);
    }
    this.#fallback = fallback;
  }

  /**
   * The public key that verifies a token of `issuer` signed with `alg` under `kid`. Throws
   * `AuthError` with `wrong_issuer`, `unknown_key`, `key_unavailable` or `algorithm_not_allowed`.
   */
  async key(issuer: string | undefined, kid: string | undefined, alg: JwtAlgorithm): Promise<KeyObject> {
    const endpoint = (issuer !== undefined ? this.#byIssuer.get(issuer) : undefined) ?? this.#fallback;
    if (endpoint === undefined) {
      throw new AuthError('wrong_issuer', `no JWKS is configured for the token's issuer ${quote(issuer)}`);
    }
    const { key, alg: keyAlg } = await endpoint.lookup(kid);
    if (keyAlg !== undefined ? keyAlg !== alg : !algorithmsForKey(key).includes(alg)) {
      throw new AuthError(
        'algorithm_not_allowed',
        `the key ${quote(kid)} of ${endpoint.shown} is ${keyAlg ? `for ${keyAlg}` : `a ${key.asymmetricKeyType} key`}, the token is signed with ${alg}`,
      );
    }
    return key;
  }
}

/** `https://user:pass@host/x?key=…` -> `https://host/x`: a URL's credentials never reach a log. */
export function withoutCredentials(uri: string): string {
  try {
    const url = new URL(uri);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString();
  } catch {
    return '(an invalid URL)';
  }
}
