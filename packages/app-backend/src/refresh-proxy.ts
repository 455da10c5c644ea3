import { CloseCode, type Identity, type Logger, type WebSocketSession } from '@dotmac-ws/core';
import type { ProxyClient } from './proxy-client';
import { ProxyFailure } from './proxy-failure';
import { sessionFields } from './proxy-request';
import { expiresAtMs, identityFieldProblem, stringList } from './result-fields';

/** The `refreshIdentity` option a gateway takes. */
export type RefreshIdentity = (session: WebSocketSession) => Promise<Identity | null | undefined>;

/**
 * The gateway's `refreshIdentity` backed by the refresh endpoint, called ahead of a session's
 * expiry. A result with a later `expires_at` extends the session silently (its `roles`,
 * `permissions` and `info` replace the session's when present); `expired: true` closes it with
 * 4401; a `disconnect` closes it with its code; an `error`, a failure or no later expiry leave
 * it to the usual `auth_expiring` (the client may still send a new token). @internal
 */
export function refreshIdentity(client: ProxyClient, nodeId: () => string, logger: Logger): RefreshIdentity {
  return async function appBackendRefresh(session) {
    if (session.userId === null) return null;
    let decision: Awaited<ReturnType<ProxyClient['ask']>>;
    try {
      decision = await client.ask(
        'refresh',
        {
          ...sessionFields(session, nodeId()),
          expires_at: session.expiresAt === null ? null : Math.floor(session.expiresAt / 1000),
        },
        identityFieldProblem,
      );
    } catch (error) {
      if (!(error instanceof ProxyFailure)) throw error;
      logger.warn(
        { component: 'app-backend', session_id: session.sessionId, reason: error.reason },
        'the refresh proxy did not answer: the client is told auth_expiring',
      );
      return null;
    }
    if (decision.kind === 'disconnect') {
      session.close(decision.code, decision.reason);
      return null;
    }
    if (decision.kind === 'error') return null;
    const r = decision.result;
    if (r.expired === true) {
      session.close(CloseCode.Unauthorized, 'unauthorized');
      return null;
    }
    const extra = { ...session.extra, ...(r.info === undefined ? {} : { info: r.info }) };
    return {
      userId: session.userId,
      tenantId: session.tenantId,
      roles: stringList(r, 'roles', session.roles),
      permissions: stringList(r, 'permissions', session.permissions),
      expiresAt: expiresAtMs(r, session.expiresAt),
      extra,
    };
  };
}
