import {
  RESERVED_CLIENT_TYPES as RESERVED_CLIENT_TYPE_LIST,
  SERVER_FRAME_TYPES as SERVER_FRAME_TYPE_LIST,
  V1_1_CLIENT_TYPES,
} from '@dotmac-ws/protocol';

// The protocol's constants have one source, `@dotmac-ws/protocol`, shared with the client.
export {
  BEARER_SUBPROTOCOL_PREFIX,
  CloseCode,
  CloseReason,
  ErrorCode,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
} from '@dotmac-ws/protocol';

/**
 * Frame types the server sends and a client may therefore never use as a publish `event` (nor
 * the server API as a broadcast type): a client could otherwise forge an `unsubscribed` push
 * or a presence `join` in other clients' streams. Includes the v1.1 pushes.
 */
export const SERVER_FRAME_TYPES: ReadonlySet<string> = new Set(SERVER_FRAME_TYPE_LIST);

/** Client frame types the gateway handles itself; `addMessageHandler` refuses them. */
export const RESERVED_CLIENT_TYPES: ReadonlySet<string> = new Set([
  ...RESERVED_CLIENT_TYPE_LIST,
  ...V1_1_CLIENT_TYPES,
]);
