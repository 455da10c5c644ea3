import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { TokenVerifier } from './authentication';
import { extractToken, type Identity } from './authenticator';
import type { ResolvedGatewayConfig } from './config';
import { Connection, type ConnectionNode } from './connection';
import { ConnectionEnd } from './connection-end';
import type { WebSocketGateway } from './gateway';
import { HandshakeContext } from './handshake-context';
import { HandshakeError } from './handshake-error';
import type { MiddlewareStack } from './middleware-stack';
import { matchGatewayPath, resolveTenant } from './tenant-resolution';
import { clientAddress } from './trusted-proxies';

/** What the handshake needs of the node. @internal */
export interface HandshakeNode {
  readonly config: ResolvedGatewayConfig;
  readonly server: Server;
  /** True when the gateway created `server` (and may refuse any path on it). */
  readonly ownsServer: boolean;
  readonly wss: WebSocketServer;
  readonly middleware: MiddlewareStack;
  readonly tokens: TokenVerifier;
  readonly gateway: WebSocketGateway;
  readonly connections: ConnectionNode;
  /** True while the gateway accepts connections. */
  accepting(): boolean;
}

/**
 * The upgrade handshake: path, draining, capacity, Origin, tenant, the token at the handshake
 * (header, subprotocol or query), client address, connection middleware; then the upgrade and
 * a new {@link Connection}, or an HTTP refusal that says why not. @internal
 */
export class Handshake {
  readonly #n: HandshakeNode;
  #pending = 0;

  constructor(node: HandshakeNode) {
    this.#n = node;
  }

  /** Handles one upgrade request. Never rejects: a fault of the gateway's own is answered 500. */
  async handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    try {
      await this.#upgrade(req, socket, head);
    } catch (error) {
      try {
        this.#refuse(req, socket, error);
      } catch {
        socket.destroy();
      }
    }
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const n = this.#n;
    const config = n.config;
    socket.on('error', () => undefined);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://gateway.invalid');
    } catch {
      // Attached to an application's server: another upgrade listener may want it.
      if (!n.ownsServer && n.server.listenerCount('upgrade') > 1) return;
      this.#refuse(req, socket, new HandshakeError(400, 'the request target is not a valid URL'));
      return;
    }
    let match: { tenantId: string | null } | null;
    try {
      match = matchGatewayPath(url.pathname, config.path);
    } catch (error) {
      this.#refuse(req, socket, error);
      return;
    }
    if (match === null) {
      // Attached to an application's server: other upgrade listeners may own this path.
      if (!n.ownsServer && n.server.listenerCount('upgrade') > 1) return;
      this.#refuse(req, socket, new HandshakeError(404, 'no WebSocket endpoint at this path'));
      return;
    }

    const end = new ConnectionEnd(n.connections.hooks);
    // A socket emits `close` once.
    socket.on('close', end.socketClosed);

    this.#pending++;
    let ctx: HandshakeContext | undefined;
    try {
      if (!n.accepting())
        throw new HandshakeError(503, 'the server is not accepting connections', { 'Retry-After': '5' });
      const cap = config.maxConnections;
      if (cap > 0 && n.connections.sessions.size + this.#pending > cap) {
        throw new HandshakeError(
          503,
          'the server is at its connection limit',
          { 'Retry-After': '5' },
          'at_capacity',
        );
      }
      const origin = req.headers.origin;
      const allowed = config.allowedOrigins;
      if (allowed !== null && origin !== undefined && !allowed.includes(origin)) {
        throw new HandshakeError(403, 'this Origin is not allowed', {}, 'origin_not_allowed');
      }
      const tenant = resolveTenant(req, url, match.tenantId, config.tenantSubdomainBase);
      let tenantId = tenant.tenantId;
      let identity: Identity | null = null;
      const found = config.authenticator ? extractToken(req, url) : null;
      if (found !== null) {
        identity = await n.tokens.verify(found.token, found.source, tenantId, req, null);
        const tokenTenant = identity.tenantId ?? null;
        if (tenantId !== null && tokenTenant !== null && tokenTenant !== tenantId) {
          n.tokens.failed('tenant_mismatch', `the token's tenant differs from the ${tenant.source}'s`, null);
          throw new HandshakeError(403, 'the token belongs to another tenant', {}, 'tenant_mismatch');
        }
        if (tenantId !== null && tokenTenant === null && !config.tenantAgnosticTokens) {
          n.tokens.failed(
            'tenant_missing',
            `the token has no tenant and the ${tenant.source} names one`,
            null,
          );
          throw new HandshakeError(
            403,
            'the token has no tenant_id and cannot enter a tenant',
            {},
            'tenant_mismatch',
          );
        }
        tenantId ??= tokenTenant;
      } else if (config.requireToken && !config.authInBand) {
        n.tokens.failed('missing', 'no token at the handshake and in-band auth is off', null);
        throw new HandshakeError(401, 'a token is required');
      }
      ctx = new HandshakeContext({
        request: req,
        url,
        ip: clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.trustProxy),
        tenantId,
        identity,
        gateway: n.gateway,
        onClose: end.add,
      });
      // Without connection middleware an anonymous upgrade completes in the turn it arrived in.
      if (n.middleware.hasConnection) await n.middleware.runConnection(ctx);
      if (!n.accepting())
        throw new HandshakeError(503, 'the server is shutting down', { 'Retry-After': '5' });
    } catch (error) {
      this.#pending--;
      this.#refuse(req, socket, error);
      end.run();
      return;
    }
    this.#pending--;
    if (socket.destroyed || !socket.writable) {
      end.run();
      return;
    }
    const { ip, tenantId, identity } = ctx;
    const state = ctx.peekState();
    // The 101 answer and the welcome leave in one write (one segment, one wake-up of the client).
    n.connections.writer.hold(socket);
    n.wss.handleUpgrade(req, socket, head, (ws) => {
      end.opened = true;
      try {
        // Only what the session keeps of the handshake: the request and its URL can go.
        new Connection({
          sessionId: randomUUID(),
          socket: ws,
          raw: socket,
          handshake: { ip, tenantId, identity, state },
          end,
          node: n.connections,
        }).open();
      } catch (error) {
        // Upgraded already: no HTTP answer is possible any more.
        n.connections.hooks.reportError(error, 'session open');
        ws.terminate();
        end.run();
      }
    });
  }

  /** Answers a refused upgrade with its HTTP status and a JSON error body, then closes. */
  #refuse(req: IncomingMessage, socket: Duplex, error: unknown): void {
    const n = this.#n;
    const hooks = n.connections.hooks;
    let refusal: HandshakeError;
    if (error instanceof HandshakeError) refusal = error;
    else {
      hooks.reportError(error, 'handshake');
      refusal = new HandshakeError(500, 'internal error');
    }
    n.connections.counters.handshakes_refused++;
    hooks.call('onHandshakeRefused', (h) => h.onHandshakeRefused?.(refusal.status, refusal.code, req));
    n.config.logger.debug(
      { status: refusal.status, code: refusal.code, path: req.url?.split('?')[0] },
      'handshake refused',
    );
    if (!socket.writable || socket.destroyed) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
    const headers = {
      Connection: 'close',
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      ...refusal.headers,
    };
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    socket.end(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`,
    );
  }
}
