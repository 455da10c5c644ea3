import type { IncomingMessage } from 'node:http';

/** Who a session is, as an {@link Authenticator} establishes it from a token. */
export interface Identity {
  /** The user id (`sub`). */
  userId: string;
  /** The tenant the token belongs to, if any. */
  tenantId?: string | null;
  /** Roles, e.g. `['admin']`. */
  roles?: readonly string[];
  /** Permissions, e.g. `['chat:write']`. */
  permissions?: readonly string[];
  /** When the token expires, in milliseconds since the epoch; the session is closed then. */
  expiresAt?: number | null;
  /** Anything else the application wants on the session (`session.extra`). */
  extra?: Record<string, unknown>;
  /**
   * Channels the server subscribes the session to when it connects or authenticates (the
   * token's `channels` claim; each still checked against the channel policy). The session is
   * told with `subscribed` pushes (protocol.md v1.1). @default the `channels` claim, if any
   */
  channels?: readonly string[];
}

/** Where a token was found. */
export type TokenSource = 'header' | 'query' | 'subprotocol' | 'frame';

/** What an authenticator knows besides the token. */
export interface AuthenticationContext {
  /** Where the token came from. */
  source: TokenSource;
  /** The upgrade request, for handshake tokens. */
  request?: IncomingMessage;
  /** The tenant resolved from the request, if any. */
  tenantId: string | null;
}

/**
 * Turns a token into an {@link Identity}. `@dotmac-ws/auth-jwt` implements it with JWTs.
 * Refuse a token by throwing an `AuthError` (its code goes to the log, never to the client).
 */
export interface Authenticator {
  /** Verifies `token` and returns who it belongs to. */
  authenticate(token: string, context: AuthenticationContext): Promise<Identity> | Identity;
}

/** A token found in an upgrade request, and where. */
export interface ExtractedToken {
  /** The token text. */
  token: string;
  /** Where it was found. */
  source: TokenSource;
}

/**
 * Finds a token in an upgrade request. First match wins: `Authorization: Bearer <jwt>`,
 * `?token=`, then a `bearer.<jwt>` subprotocol.
 */
export function extractToken(request: IncomingMessage, url: URL): ExtractedToken | null {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match?.[1]) return { token: match[1], source: 'header' };
  }
  const query = url.searchParams.get('token');
  if (query) return { token: query, source: 'query' };
  const protocols = request.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    for (const raw of protocols.split(',')) {
      const p = raw.trim();
      if (p.startsWith('bearer.') && p.length > 'bearer.'.length) {
        return { token: p.slice('bearer.'.length), source: 'subprotocol' };
      }
    }
  }
  return null;
}
