import { AuthError, isValidTenantId } from '@dotmac-ws/core';

/** A verified token's payload. */
export type JwtClaims = Readonly<Record<string, unknown>>;

/**
 * Where a claim is: a top-level name (`'tenant_id'`, or a namespaced one such as
 * `'https://example.com/roles'`), or a path into nested objects (`['realm_access', 'roles']`).
 */
export type ClaimPath = string | readonly string[];

/** Which claims hold the identity. Each field defaults to the protocol's claim. */
export interface ClaimNames {
  /** The user id. @default 'sub' */
  userId?: ClaimPath;
  /** The tenant id. @default 'tenant_id' */
  tenantId?: ClaimPath;
  /** The roles: an array of strings or one space-separated string. @default 'roles' */
  roles?: ClaimPath;
  /** The permissions: an array of strings or one space-separated string. @default 'permissions' */
  permissions?: ClaimPath;
}

/** What a claim mapping makes of a token; the expiry always comes from `exp`. */
export interface MappedIdentity {
  /** The user id; a token without one is refused (`missing_claim`). */
  userId: string;
  /** The tenant id, if the token names one. */
  tenantId?: string | null;
  /** Roles, e.g. `['admin']`. */
  roles?: readonly string[];
  /** Permissions, e.g. `['chat:write']`. */
  permissions?: readonly string[];
  /** Anything else for `session.extra`. */
  extra?: Record<string, unknown>;
}

/**
 * Turns verified claims into an identity. Throw an `AuthError` to refuse the token; any other
 * exception refuses it with the code `invalid`.
 */
export type ClaimMapper = (claims: JwtClaims) => MappedIdentity;

/** The protocol's claims: `sub`, `tenant_id`, `roles`, `permissions`. */
export const DEFAULT_CLAIM_NAMES: Readonly<Required<ClaimNames>> = {
  userId: 'sub',
  tenantId: 'tenant_id',
  roles: 'roles',
  permissions: 'permissions',
};

/** How a claim path is written in messages: `sub`, `realm_access.roles`. */
export function describeClaimPath(path: ClaimPath): string {
  return typeof path === 'string' ? path : path.join('.');
}

/** Is `path` a usable claim path (a non-empty name, or a non-empty list of them)? */
export function isClaimPath(path: unknown): path is ClaimPath {
  if (typeof path === 'string') return path.length > 0;
  return Array.isArray(path) && path.length > 0 && path.every((p) => typeof p === 'string' && p.length > 0);
}

function readClaim(claims: JwtClaims, path: ClaimPath): unknown {
  const steps = typeof path === 'string' ? [path] : path;
  let value: unknown = claims;
  for (const step of steps) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    // Own properties only: a claim named `__proto__` or `constructor` must not reach Object.prototype.
    if (!Object.hasOwn(value, step)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

function readList(claims: JwtClaims, path: ClaimPath): string[] {
  const value = readClaim(claims, path);
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value.split(/\s+/).filter((s) => s.length > 0);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return [...value];
  throw new AuthError(
    'invalid',
    `the "${describeClaimPath(path)}" claim must be an array of strings or a space-separated string`,
  );
}

/** A {@link ClaimMapper} that reads the named claims and keeps every claim in `extra.claims`. */
export function mapClaimsByName(names: ClaimNames = {}): ClaimMapper {
  const n = { ...DEFAULT_CLAIM_NAMES, ...names };
  return (claims) => {
    const userId = readClaim(claims, n.userId);
    if (userId === undefined || userId === null || userId === '') {
      throw new AuthError('missing_claim', `the token has no "${describeClaimPath(n.userId)}" claim`);
    }
    if (typeof userId !== 'string') {
      throw new AuthError('invalid', `the "${describeClaimPath(n.userId)}" claim must be a string`);
    }
    const tenantId = readClaim(claims, n.tenantId);
    if (tenantId !== undefined && tenantId !== null && !isValidTenantId(tenantId)) {
      throw new AuthError(
        'invalid',
        `the "${describeClaimPath(n.tenantId)}" claim must be a tenant id (1-200 characters of A-Z a-z 0-9 _ - . @ / =)`,
      );
    }
    return {
      userId,
      tenantId: tenantId ?? null,
      roles: readList(claims, n.roles),
      permissions: readList(claims, n.permissions),
      extra: { claims },
    };
  };
}

/** Checks what a custom mapper returned, so that a mistake refuses the token instead of passing it. */
export function checkMappedIdentity(value: unknown): MappedIdentity {
  if (value === null || typeof value !== 'object') {
    throw new AuthError('invalid', 'the claim mapping returned no identity');
  }
  const v = value as Record<string, unknown>;
  if (typeof v.userId !== 'string' || v.userId.length === 0) {
    throw new AuthError('missing_claim', 'the claim mapping returned no userId');
  }
  if (v.tenantId !== undefined && v.tenantId !== null && !isValidTenantId(v.tenantId)) {
    throw new AuthError('invalid', 'the claim mapping returned a tenantId that is not a valid tenant id');
  }
  for (const key of ['roles', 'permissions'] as const) {
    const list = v[key];
    if (list !== undefined && !(Array.isArray(list) && list.every((x) => typeof x === 'string'))) {
      throw new AuthError('invalid', `the claim mapping returned ${key} that are not an array of strings`);
    }
  }
  if (v.extra !== undefined && (v.extra === null || typeof v.extra !== 'object')) {
    throw new AuthError('invalid', 'the claim mapping returned extra that is not an object');
  }
  return value as MappedIdentity;
}
