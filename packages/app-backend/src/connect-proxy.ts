import {
  type ConnectionContext,
  type ConnectionMiddleware,
  HandshakeError,
  type Identity,
  SUBPROTOCOL,
} from '@dotmac-ws/core';
import type { ProxyDecision } from './proxy-answer';
import type { ProxyClient } from './proxy-client';
import { PROXY_UNAVAILABLE, ProxyFailure } from './proxy-failure';
import type { ResolvedProxyOptions } from './proxy-options';
import { forwardedFrom, SESSION_EXTRA_KEY, type SessionProxyData, type TransportInfo } from './proxy-request';
import { expiresAtMs, identityFieldProblem, stringList } from './result-fields';

/**
 * The connection middleware of the proxy: asks the connect endpoint (when set) who connects,
 * and keeps the forwarded headers, cookies and `meta` in the session's state for later requests.
 * Answers: a result sets the identity, an `error` refuses with 403, a `disconnect` with the
 * HTTP status its code echoes (4401 -> 401), a failure with 503 `proxy_unavailable`. @internal
 */
export function connectMiddleware(client: ProxyClient, o: ResolvedProxyOptions): ConnectionMiddleware {
  return async function appBackendConnect(ctx, next) {
    const forwarded = forwardedFrom(ctx.request.headers, o.forwardHeaders, o.forwardCookies);
    let meta: unknown = null;
    if (client.has('connect')) {
      const decision = await askConnect(client, ctx, forwarded);
      if (decision.kind === 'error') {
        const headers = retryAfterHeader(decision.retryAfterMs);
        throw new HandshakeError(403, decision.message, headers, decision.code);
      }
      if (decision.kind === 'disconnect') {
        throw new HandshakeError(
          httpStatusOf(decision.code),
          decision.reason === '' ? 'refused by the application' : decision.reason,
          {},
          'refused',
        );
      }
      meta = decision.result.meta ?? null;
      applyConnectResult(ctx, decision.result);
    }
    // Kept in the connection's state: the session's for its life, anonymous ones included.
    const data: SessionProxyData = { ...forwarded, meta };
    ctx.state.set(SESSION_EXTRA_KEY, data);
    await next();
  };
}

async function askConnect(
  client: ProxyClient,
  ctx: ConnectionContext,
  forwarded: Pick<SessionProxyData, 'headers' | 'cookies'>,
): Promise<ProxyDecision> {
  const token = ctx.identity;
  const offered = ctx.request.headers['sec-websocket-protocol'];
  const transport: TransportInfo = {
    name: 'websocket',
    subprotocol:
      typeof offered === 'string' && offered.split(',').some((p) => p.trim() === SUBPROTOCOL)
        ? SUBPROTOCOL
        : null,
    remote_address: ctx.ip,
    node_id: ctx.gateway.nodeId,
  };
  try {
    return await client.ask(
      'connect',
      {
        session_id: null,
        user_id: token?.userId ?? null,
        tenant_id: ctx.tenantId,
        roles: token?.roles ?? [],
        permissions: token?.permissions ?? [],
        transport,
        path: ctx.url.pathname,
        headers: forwarded.headers,
        cookies: forwarded.cookies,
        meta: null,
      },
      identityFieldProblem,
    );
  } catch (error) {
    if (!(error instanceof ProxyFailure)) throw error;
    throw new HandshakeError(
      503,
      'the application backend did not answer: try again later',
      retryAfterHeader(error.retryAfterMs),
      PROXY_UNAVAILABLE,
    );
  }
}

/**
 * Applies a connect result: its tenant (refused with 403 `tenant_mismatch` when the request
 * named another), and its user with roles, permissions, expiry, channels and `info`. Without a
 * user, a token's identity stays as it is (amended by the result); with neither, the session
 * is anonymous.
 */
function applyConnectResult(ctx: ConnectionContext, result: Readonly<Record<string, unknown>>): void {
  const tenant = result.tenant;
  if (typeof tenant === 'string') {
    if (ctx.tenantId !== null && ctx.tenantId !== tenant) {
      throw new HandshakeError(
        403,
        'the application named another tenant than the request',
        {},
        'tenant_mismatch',
      );
    }
    ctx.tenantId = tenant;
  }
  const token = ctx.identity;
  const user = typeof result.user === 'string' && result.user !== '' ? result.user : (token?.userId ?? null);
  if (user === null) return;
  const identity: Identity = {
    userId: user,
    tenantId: ctx.tenantId,
    roles: stringList(result, 'roles', token?.roles),
    permissions: stringList(result, 'permissions', token?.permissions),
    expiresAt: expiresAtMs(result, token?.expiresAt),
    extra: { ...token?.extra, ...(result.info === undefined ? {} : { info: result.info }) },
  };
  const channels = stringList(result, 'channels', token?.channels);
  if (channels !== undefined) identity.channels = channels;
  ctx.identity = identity;
}

/** The HTTP status a close code echoes (4401 -> 401, 4429 -> 429); 403 for the others. */
export function httpStatusOf(closeCode: number): number {
  const status = closeCode - 4000;
  return status >= 400 && status <= 599 ? status : 403;
}

function retryAfterHeader(ms: number | undefined): Record<string, string> {
  return ms === undefined ? {} : { 'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))) };
}
