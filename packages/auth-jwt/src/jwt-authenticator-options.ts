import { createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { ConfigError, describeOptionValue, withoutUndefined } from '@dotmac-ws/core';
import {
  algorithmsForKey,
  isJwtAlgorithm,
  isSymmetric,
  JWT_ALGORITHMS,
  type JwtAlgorithm,
  minSecretBytes,
} from './algorithms';
import {
  type ClaimMapper,
  type ClaimNames,
  checkMappedIdentity,
  DEFAULT_CLAIM_NAMES,
  isClaimPath,
  mapClaimsByName,
} from './claims';
import type { JwksSource } from './jwks-key-source';

/** Options of {@link jwtAuthenticator}. At least one key (`secret`, `publicKey` or `jwks`) is required. */
export interface JwtAuthenticatorOptions {
  /**
   * The algorithms a token may be signed with; any other (and `none`, always) is refused with
   * `algorithm_not_allowed`. HS* tokens are verified with `secret` only, every other algorithm
   * with `publicKey` or `jwks` only, so a public key can never serve as an HMAC secret.
   * @default HS256 with a secret, plus the public key's own algorithm (RS256 for RSA, ES256/384/512
   * by EC curve, PS256 for RSA-PSS), plus RS256 with a JWKS
   */
  algorithms?: readonly JwtAlgorithm[] | undefined;
  /** The shared secret of HS* tokens; at least as many bytes as the hash (32 for HS256). @default undefined */
  secret?: string | Buffer | undefined;
  /** A PEM (SPKI) public key, or a public `KeyObject`, for RS*, PS* or ES* tokens. @default undefined */
  publicKey?: string | Buffer | KeyObject | undefined;
  /**
   * JWKS endpoints for RS*, PS* and ES* tokens: a URL, or sources bound to issuers (see {@link JwksSource}).
   * Cannot be combined with `publicKey`.
   * @default undefined
   */
  jwks?: string | JwksSource | readonly JwksSource[] | undefined;
  /** Accepted issuers (`iss`); unset accepts any issuer (or those the JWKS sources name). @default undefined */
  issuer?: string | readonly string[] | undefined;
  /** Accepted audiences (`aud`); a token must name one of them. Unset does not check `aud`. @default undefined */
  audience?: string | readonly string[] | undefined;
  /**
   * Clock skew allowed for `exp`, `nbf` and `maxAgeSec`, in seconds. A session lives until
   * `exp` plus this tolerance.
   * @default 0
   */
  clockToleranceSec?: number | undefined;
  /** Refuse tokens without `exp` (`missing_claim`). @default true */
  requireExp?: boolean | undefined;
  /** Refuse tokens issued (`iat`) longer ago than this, in seconds (`too_old`); they must have `iat`. @default undefined */
  maxAgeSec?: number | undefined;
  /**
   * Where the identity is in the claims: claim names (each defaulting to `sub`, `tenant_id`,
   * `roles`, `permissions`), or a function of the verified claims.
   * @default the protocol's claim names
   */
  claims?: ClaimNames | ClaimMapper | undefined;
  /** Longest token accepted, in characters; longer ones are refused as `malformed` before any parsing. @default 8192 */
  maxTokenLength?: number | undefined;
  /** How long a JWKS key is cached before it is fetched again, in ms. @default 600000 */
  jwksCacheMaxAgeMs?: number | undefined;
  /** Fetches of one JWKS per minute at most (unknown `kid`s fetch again); past it, lookups are refused. @default 10 */
  jwksRequestsPerMinute?: number | undefined;
  /** How long one JWKS fetch may take, in ms. @default 5000 */
  jwksTimeoutMs?: number | undefined;
}

/** The defaults of the plain options of {@link JwtAuthenticatorOptions}. */
export const JWT_DEFAULTS = {
  clockToleranceSec: 0,
  requireExp: true,
  maxTokenLength: 8192,
  jwksCacheMaxAgeMs: 600_000,
  jwksRequestsPerMinute: 10,
  jwksTimeoutMs: 5000,
} as const;

/** Options after defaults and checks. */
export interface ResolvedJwtOptions {
  algorithms: readonly JwtAlgorithm[];
  secret: KeyObject | undefined;
  publicKey: KeyObject | undefined;
  jwks: readonly JwksSource[];
  issuer: readonly string[] | undefined;
  audience: readonly string[] | undefined;
  clockToleranceSec: number;
  requireExp: boolean;
  maxAgeSec: number | undefined;
  mapClaims: ClaimMapper;
  maxTokenLength: number;
  jwksCacheMaxAgeMs: number;
  jwksRequestsPerMinute: number;
  jwksTimeoutMs: number;
}

type IntRule = readonly [key: keyof typeof JWT_DEFAULTS | 'maxAgeSec', min: number, max: number];
const INT_RULES: readonly IntRule[] = [
  ['clockToleranceSec', 0, 86_400],
  ['maxAgeSec', 1, 31_536_000],
  ['maxTokenLength', 256, 1_048_576],
  ['jwksCacheMaxAgeMs', 1000, 86_400_000],
  ['jwksRequestsPerMinute', 1, 10_000],
  ['jwksTimeoutMs', 100, 60_000],
];

/** Applies defaults and checks every option; throws one `ConfigError` listing every problem. */
export function resolveJwtOptions(options: JwtAuthenticatorOptions): ResolvedJwtOptions {
  const problems: string[] = [];
  const o = { ...JWT_DEFAULTS, ...withoutUndefined(options ?? {}) };

  for (const [key, min, max] of INT_RULES) {
    const v = o[key];
    if (key === 'maxAgeSec' && v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`${key} is ${describeOptionValue(v)} when it must be an integer from ${min} to ${max}`);
    }
  }
  if (typeof o.requireExp !== 'boolean') {
    problems.push(`requireExp is ${describeOptionValue(o.requireExp)} when it must be true or false`);
  }

  const secret = resolveSecret(o.secret, problems);
  const publicKey = resolvePublicKey(o.publicKey, problems);
  const jwks = resolveJwks(o.jwks, problems);
  if (o.secret === undefined && o.publicKey === undefined && o.jwks === undefined) {
    problems.push('no key is set: set secret (HS*), publicKey (PEM) or jwks (URL) to verify tokens with');
  }
  if (o.publicKey !== undefined && o.jwks !== undefined) {
    problems.push('publicKey and jwks are both set: verify asymmetric tokens with one or the other');
  }
  const issuer = resolveStrings('issuer', o.issuer, problems);
  const audience = resolveStrings('audience', o.audience, problems);
  if (issuer !== undefined) {
    for (const s of jwks) {
      if (s.issuer !== undefined && !issuer.includes(s.issuer)) {
        problems.push(
          `jwks names the issuer ${describeOptionValue(s.issuer)}, which is not one of issuer ${JSON.stringify(issuer)}`,
        );
      }
    }
  }
  const algorithms = resolveAlgorithms(o.algorithms, secret, publicKey, jwks.length > 0, problems);
  if (secret !== undefined) {
    const hs = algorithms.filter(isSymmetric);
    if (algorithms.length > 0 && hs.length === 0) {
      problems.push(
        `secret is set but algorithms ${JSON.stringify(algorithms)} allows no HS algorithm to use it`,
      );
    }
    for (const alg of hs) {
      if (secret.symmetricKeySize! < minSecretBytes(alg)) {
        problems.push(
          `secret is ${secret.symmetricKeySize} bytes when ${alg} needs at least ${minSecretBytes(alg)} (RFC 7518, section 3.2)`,
        );
      }
    }
  }

  let mapClaims: ClaimMapper = mapClaimsByName();
  if (typeof o.claims === 'function') {
    const custom = o.claims;
    mapClaims = (claims) => checkMappedIdentity(custom(claims));
  } else if (o.claims !== undefined) {
    if (o.claims === null || typeof o.claims !== 'object') {
      problems.push(
        `claims is ${describeOptionValue(o.claims)} when it must be claim names or a function of the claims`,
      );
    } else {
      for (const [key, value] of Object.entries(o.claims)) {
        if (!(key in DEFAULT_CLAIM_NAMES)) {
          problems.push(`claims.${key} is not a claim mapping: use userId, tenantId, roles or permissions`);
        } else if (value !== undefined && !isClaimPath(value)) {
          problems.push(
            `claims.${key} is ${describeOptionValue(value)} when it must be a claim name or an array of names (a path)`,
          );
        }
      }
      mapClaims = mapClaimsByName(o.claims);
    }
  }

  if (problems.length > 0) throw new ConfigError(problems, 'JWT authenticator options');
  return {
    algorithms,
    secret,
    publicKey,
    jwks,
    issuer,
    audience,
    clockToleranceSec: o.clockToleranceSec,
    requireExp: o.requireExp,
    maxAgeSec: o.maxAgeSec,
    mapClaims,
    maxTokenLength: o.maxTokenLength,
    jwksCacheMaxAgeMs: o.jwksCacheMaxAgeMs,
    jwksRequestsPerMinute: o.jwksRequestsPerMinute,
    jwksTimeoutMs: o.jwksTimeoutMs,
  };
}

function resolveSecret(value: unknown, problems: string[]): KeyObject | undefined {
  if (value === undefined) return undefined;
  if ((typeof value !== 'string' && !Buffer.isBuffer(value)) || value.length === 0) {
    // Never show the value: it may be a secret of the wrong type.
    problems.push('secret must be a non-empty string or Buffer');
    return undefined;
  }
  return createSecretKey(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
}

function resolvePublicKey(value: unknown, problems: string[]): KeyObject | undefined {
  if (value === undefined) return undefined;
  if (value instanceof KeyObject) {
    if (value.type !== 'public') {
      problems.push(`publicKey is a ${value.type} KeyObject when it must be a public key`);
      return undefined;
    }
    return checkKeyType(value, problems);
  }
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    problems.push('publicKey must be a PEM string, a Buffer or a public KeyObject');
    return undefined;
  }
  const text = value.toString();
  // A private key would be accepted by createPublicKey (it derives the public half), but a
  // gateway that only verifies must never hold one: refuse it, without echoing it.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    problems.push('publicKey is a private key: give the gateway the public key (BEGIN PUBLIC KEY) only');
    return undefined;
  }
  if (!/-----BEGIN (PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE)-----/.test(text)) {
    problems.push('publicKey is not PEM text: it must start with -----BEGIN PUBLIC KEY-----');
    return undefined;
  }
  try {
    return checkKeyType(createPublicKey(text), problems);
  } catch (error) {
    problems.push(`publicKey could not be read as a PEM public key (${(error as Error).message})`);
    return undefined;
  }
}

function checkKeyType(key: KeyObject, problems: string[]): KeyObject | undefined {
  if (algorithmsForKey(key).length === 0) {
    problems.push(
      `publicKey is a ${key.asymmetricKeyType} key when it must be RSA, RSA-PSS or EC (P-256, P-384, P-521)`,
    );
    return undefined;
  }
  return key;
}

function resolveJwks(value: unknown, problems: string[]): JwksSource[] {
  if (value === undefined) return [];
  const list: unknown[] =
    typeof value === 'string' ? [{ uri: value }] : Array.isArray(value) ? value : [value];
  const out: JwksSource[] = [];
  let unbound = 0;
  const issuers = new Set<string>();
  if (list.length === 0) problems.push('jwks is an empty list when it must name at least one JWKS URL');
  list.forEach((item, i) => {
    const at = Array.isArray(value) ? `jwks[${i}]` : 'jwks';
    const s = item as Partial<JwksSource> | null;
    if (s === null || typeof s !== 'object') {
      problems.push(`${at} must be a URL or { uri, issuer? }`);
      return;
    }
    if (typeof s.uri !== 'string' || !isHttpUrl(s.uri)) {
      problems.push(`${at}.uri is ${describeOptionValue(s.uri)} when it must be an http(s) URL`);
      return;
    }
    if (s.issuer !== undefined && (typeof s.issuer !== 'string' || s.issuer.length === 0)) {
      problems.push(
        `${at}.issuer is ${describeOptionValue(s.issuer)} when it must be a non-empty string or unset`,
      );
      return;
    }
    if (s.issuer === undefined) unbound++;
    else if (issuers.has(s.issuer))
      problems.push(`${at}.issuer ${describeOptionValue(s.issuer)} has a JWKS already`);
    else issuers.add(s.issuer);
    out.push(s.issuer === undefined ? { uri: s.uri } : { uri: s.uri, issuer: s.issuer });
  });
  if (unbound > 1) {
    problems.push('jwks has more than one source without an issuer: bind each to the issuer it serves');
  }
  return out;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function resolveStrings(name: string, value: unknown, problems: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((x) => typeof x !== 'string' || x.length === 0)
  ) {
    problems.push(
      `${name} is ${describeOptionValue(value)} when it must be a non-empty string or a list of them`,
    );
    return undefined;
  }
  return [...list];
}

function resolveAlgorithms(
  value: unknown,
  secret: KeyObject | undefined,
  publicKey: KeyObject | undefined,
  hasJwks: boolean,
  problems: string[],
): JwtAlgorithm[] {
  if (value === undefined) {
    const derived: JwtAlgorithm[] = [];
    if (secret !== undefined) derived.push('HS256');
    if (publicKey !== undefined) {
      const own = algorithmsForKey(publicKey)[0];
      if (own !== undefined) derived.push(own);
    }
    if (hasJwks) derived.push('RS256');
    return derived;
  }
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(
      `algorithms is ${describeOptionValue(value)} when it must be a non-empty list such as ['HS256']`,
    );
    return [];
  }
  const out: JwtAlgorithm[] = [];
  for (const alg of value) {
    if (typeof alg === 'string' && alg.toLowerCase() === 'none') {
      problems.push("algorithms contains 'none': unsigned tokens are never accepted");
    } else if (!isJwtAlgorithm(alg)) {
      problems.push(
        `algorithms contains ${describeOptionValue(alg)} when each must be one of ${JWT_ALGORITHMS.join(', ')}`,
      );
    } else if (!out.includes(alg)) {
      out.push(alg);
      if (isSymmetric(alg) && secret === undefined) {
        problems.push(`algorithms allows ${alg} but no secret is set to verify it with`);
      }
      if (!isSymmetric(alg)) {
        if (publicKey === undefined && !hasJwks) {
          problems.push(`algorithms allows ${alg} but neither publicKey nor jwks is set to verify it with`);
        } else if (publicKey !== undefined && !algorithmsForKey(publicKey).includes(alg)) {
          problems.push(
            `algorithms allows ${alg} but publicKey is a ${describeKey(publicKey)} key, which verifies only ${algorithmsForKey(publicKey).join(', ')}`,
          );
        }
      }
    }
  }
  if (publicKey !== undefined && out.length > 0 && !out.some((a) => !isSymmetric(a))) {
    problems.push(
      `publicKey is set but algorithms ${JSON.stringify(out)} allows no RS, PS or ES algorithm to use it`,
    );
  }
  if (hasJwks && out.length > 0 && !out.some((a) => !isSymmetric(a))) {
    problems.push(
      `jwks is set but algorithms ${JSON.stringify(out)} allows no RS, PS or ES algorithm to use it`,
    );
  }
  return out;
}

function describeKey(key: KeyObject): string {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve ? `${key.asymmetricKeyType} (${curve})` : String(key.asymmetricKeyType);
}
