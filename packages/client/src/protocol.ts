/**
 * The wire protocol v1 (docs/protocol.md) as the client speaks it. Every constant and frame type
 * comes from `@dotmac-ws/protocol`, the one source the gateway uses too; the client adds the
 * local close code 1006 and `parseServerFrame`. It never imports `@dotmac-ws/core`.
 */
import {
  SERVER_FRAME_TYPES as PROTOCOL_SERVER_FRAME_TYPES,
  CloseCode as ProtocolCloseCode,
  type ServerFrame,
} from '@dotmac-ws/protocol';

// Every frame type, and the constants the client exported before the protocol package existed
// (the rest is in `@dotmac-ws/protocol`; re-exporting it all would grow the browser bundle).
export type {
  AckFrame,
  AuthAckData,
  AuthData,
  AuthExpiringData,
  AuthExpiringFrame,
  AuthFrame,
  ChannelMessageFrame,
  ClientFrame,
  ClientInfo,
  CustomFrame,
  DirectMessageFrame,
  ErrorData,
  ErrorFrame,
  FrameId,
  HandshakeRefusalBody,
  HistoryAckData,
  HistoryData,
  HistoryFrame,
  JoinFrame,
  JsonValue,
  LeaveFrame,
  PingFrame,
  PongFrame,
  PresenceAckData,
  PresenceData,
  PresenceFrame,
  PresenceMember,
  PresenceStatsAckData,
  PresenceStatsFrame,
  Publication,
  PublishAckData,
  PublishFrame,
  ServerFrame,
  SinceOffset,
  SubscribeAckData,
  SubscribeData,
  SubscribedData,
  SubscribedFrame,
  SubscribeFrame,
  UnsubscribeAckData,
  UnsubscribeData,
  UnsubscribedData,
  UnsubscribedFrame,
  UnsubscribeFrame,
  WelcomeData,
  WelcomeFrame,
} from '@dotmac-ws/protocol';
export { BEARER_SUBPROTOCOL_PREFIX, ErrorCode, PROTOCOL_VERSION, SUBPROTOCOL } from '@dotmac-ws/protocol';

/** Frame types only the server sends; never a publish `event` nor a custom request type. */
export const SERVER_FRAME_TYPES: readonly string[] = PROTOCOL_SERVER_FRAME_TYPES;

/**
 * The protocol's close codes (`CloseCode` of `@dotmac-ws/protocol`) plus `Abnormal` (1006), which the
 * client reports when the connection dropped, failed or was found dead (never sent on the wire).
 */
export const CloseCode = {
  ...ProtocolCloseCode,
  /** No close frame: the connection dropped (never sent on the wire). */
  Abnormal: 1006,
} as const;

/** A close code from {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * Reads one inbound text as a server frame: a JSON object with a string `type`. Anything else
 * is `null` (the client ignores it rather than failing the connection).
 */
export function parseServerFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const type = (value as { type?: unknown }).type;
  return typeof type === 'string' && type.length > 0 ? (value as ServerFrame) : null;
}
