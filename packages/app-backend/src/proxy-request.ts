import type { IncomingHttpHeaders } from 'node:http';
import type { WebSocketSession } from '@dotmac-ws/core';

/**
 * The key of `session.state` under which the proxy keeps what later requests of the session
 * carry: the forwarded headers and cookies, and the connect result's `meta`.
 */
export const SESSION_EXTRA_KEY = 'app_backend';

/** What the proxy keeps per session (in `session.state`, key `app_backend`). */
export interface SessionProxyData {
  /** The forwarded handshake headers, by lower-cased name. */
  headers: Readonly<Record<string, string>>;
  /** The forwarded cookies, by name. */
  cookies: Readonly<Record<string, string>>;
  /** The connect result's `meta` (never shown to the client), or null. */
  meta: unknown;
}

/** How the session reached the gateway, as every request describes it. */
export interface TransportInfo {
  /** Always `websocket`. */
  name: 'websocket';
  /** The negotiated subprotocol (`dotmac.v1`), or null. */
  subprotocol: string | null;
  /** The client address (behind trusted proxies, the forwarded one). */
  remote_address: string;
  /** The gateway node that asks. */
  node_id: string;
}

/** The forwarded headers and cookies of an upgrade request. @internal */
export function forwardedFrom(
  headers: IncomingHttpHeaders,
  names: readonly string[],
  cookieNames: readonly string[],
): Pick<SessionProxyData, 'headers' | 'cookies'> {
  const picked: Record<string, string> = {};
  for (const name of names) {
    const v = headers[name];
    if (typeof v === 'string') picked[name] = v;
    else if (Array.isArray(v)) picked[name] = v.join(', ');
  }
  const cookies: Record<string, string> = {};
  if (cookieNames.length > 0 && typeof headers.cookie === 'string') {
    for (const pair of headers.cookie.split(';')) {
      const at = pair.indexOf('=');
      if (at <= 0) continue;
      const name = pair.slice(0, at).trim();
      if (cookieNames.includes(name) && !Object.hasOwn(cookies, name))
        cookies[name] = pair.slice(at + 1).trim();
    }
  }
  return { headers: picked, cookies };
}

/** What the proxy keeps of a session (in `session.state`), if anything. @internal */
export function sessionProxyData(session: WebSocketSession): SessionProxyData | undefined {
  const data = session.state.get(SESSION_EXTRA_KEY);
  return typeof data === 'object' && data !== null ? (data as SessionProxyData) : undefined;
}

/**
 * The fields every request about a live session carries (docs/app-backend.md, "Requests"):
 * who, how connected, the forwarded headers and cookies, and `meta`. @internal
 */
export function sessionFields(session: WebSocketSession, nodeId: string): Record<string, unknown> {
  const data = sessionProxyData(session);
  const transport: TransportInfo = {
    name: 'websocket',
    subprotocol: session.protocol === '' ? null : session.protocol,
    remote_address: session.remoteAddress,
    node_id: nodeId,
  };
  return {
    session_id: session.sessionId,
    user_id: session.userId,
    tenant_id: session.tenantId,
    roles: session.roles,
    permissions: session.permissions,
    transport,
    headers: data?.headers ?? {},
    cookies: data?.cookies ?? {},
    meta: data?.meta ?? null,
  };
}
