import { createServer, type Server } from 'node:http';

/** Node's own bound on receiving a whole request (headers and body), kept unless the handshake timeout is longer. */
const REQUEST_TIMEOUT_MS = 300_000;

/**
 * The HTTP server a gateway creates when it is given none. A TCP connection must deliver the
 * complete headers of its request (the upgrade, or an HTTP API call) within
 * `handshakeTimeoutMs` of connecting or of starting the request, or it gets 408 and is closed:
 * Node counts a connection that sends nothing, or trickles its headers, from its start, and
 * checks at least once a second (its defaults: 60 s, checked every 30 s). Requests being
 * answered are not bounded by it, nor are upgraded sockets: Node stops tracking a connection
 * at its upgrade. @internal
 */
export function createOwnedServer(handshakeTimeoutMs: number): Server {
  return createServer({
    headersTimeout: handshakeTimeoutMs,
    requestTimeout: Math.max(REQUEST_TIMEOUT_MS, handshakeTimeoutMs),
    connectionsCheckingInterval: Math.min(1000, handshakeTimeoutMs),
  });
}
