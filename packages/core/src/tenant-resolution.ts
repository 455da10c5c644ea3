import type { IncomingMessage } from 'node:http';
import { isValidTenantId } from './channel-name';
import { HandshakeError } from './handshake-error';

/** Where a tenant id was found. */
export type TenantSource = 'path' | 'header' | 'query' | 'subdomain';

/** The tenant an upgrade request names, and where; `tenantId` is null when none names one. */
export interface TenantResolution {
  tenantId: string | null;
  source: TenantSource | null;
}

/**
 * Matches a request path against the gateway path: `{base}` (or `{base}/`) and
 * `{base}/tenant/{id}`. Returns null for any other path.
 */
export function matchGatewayPath(pathname: string, base: string): { tenantId: string | null } | null {
  const root = base === '/' ? '' : base;
  if (pathname === root || pathname === `${root}/`) return { tenantId: null };
  const prefix = `${root}/tenant/`;
  if (!pathname.startsWith(prefix)) return null;
  const rest = pathname.slice(prefix.length).replace(/\/$/, '');
  if (rest.length === 0 || rest.includes('/')) return null;
  let id: string;
  try {
    id = decodeURIComponent(rest);
  } catch {
    throw new HandshakeError(
      400,
      'the tenant id in the path is not valid percent-encoding',
      {},
      'invalid_tenant',
    );
  }
  return { tenantId: id };
}

/**
 * Resolves the tenant of an upgrade request. First match wins: path, `X-Tenant-ID` header,
 * `?tenant=`, then the subdomain of `Host` under `subdomainBase`. An id that breaks the rules
 * (channel-name characters without `:`) is refused with HTTP 400.
 */
export function resolveTenant(
  request: IncomingMessage,
  url: URL,
  pathTenant: string | null,
  subdomainBase: string | null,
): TenantResolution {
  let found: TenantResolution = { tenantId: null, source: null };
  const header = request.headers['x-tenant-id'];
  const query = url.searchParams.get('tenant');
  if (pathTenant !== null) found = { tenantId: pathTenant, source: 'path' };
  else if (typeof header === 'string' && header.length > 0)
    found = { tenantId: header.trim(), source: 'header' };
  else if (query) found = { tenantId: query, source: 'query' };
  else if (subdomainBase !== null) {
    const host = (request.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
    const suffix = `.${subdomainBase}`;
    if (host.endsWith(suffix) && host.length > suffix.length) {
      found = { tenantId: host.slice(0, -suffix.length), source: 'subdomain' };
    }
  }
  if (found.tenantId !== null && !isValidTenantId(found.tenantId)) {
    throw new HandshakeError(
      400,
      `the tenant id from the ${found.source} must be 1-200 characters of A-Z a-z 0-9 _ - . @ / =`,
      {},
      'invalid_tenant',
    );
  }
  return found;
}
