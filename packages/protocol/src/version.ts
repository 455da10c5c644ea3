/** The wire protocol version carried in `welcome.data.protocol` (v1.1 keeps `1`). */
export const PROTOCOL_VERSION = 1;

/** The subprotocol a client offers and the server selects (protocol.md, "Transport"). */
export const SUBPROTOCOL = 'dotmac.v1';

/** Subprotocol prefix that carries a token at the handshake (`bearer.<jwt>`). */
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';
