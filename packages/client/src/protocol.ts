/**
 * TypeScript types for every frame of the dotmac-ws wire protocol v1 (docs/protocol.md).
 * The client owns these types: it must not import `@dotmac-ws/core` at run time.
 */

/** The protocol version the client speaks (`welcome.data.protocol`). */
export const PROTOCOL_VERSION = 1;

/** The subprotocol the client offers; the gateway selects it. */
export const SUBPROTOCOL = 'dotmac.v1';

/** Subprotocol prefix that carries a token at the handshake (`bearer.<jwt>`). */
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

/** A request id: a string of at most 128 characters or a safe integer. */
export type FrameId = string | number;

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** WebSocket close codes of the protocol ("Close codes"). */
export const CloseCode = {
  /** Client or server closed normally. */
  Normal: 1000,
  /** Server shutdown: reconnect with jitter. */
  GoingAway: 1001,
  /** No close frame: the connection dropped (never sent on the wire). */
  Abnormal: 1006,
  /** Invalid UTF-8 in a text frame. */
  InvalidPayload: 1007,
  /** An inbound frame was over the server's `max_message_bytes`. */
  MessageTooBig: 1009,
  /** Unexpected server fault. */
  InternalError: 1011,
  /** No valid `auth` in time, or the token expired: needs a new token. */
  Unauthorized: 4401,
  /** The server revoked the session: needs a new token or a policy change. */
  Forbidden: 4403,
  /** The client read too slowly (outbound buffer over the server's limit). */
  SlowConsumer: 4408,
  /** Too many refused frames in a row. */
  RateLimited: 4429,
} as const;

/** A close code from {@link CloseCode}. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The `data.code` values of the gateway's `error` frames; handlers may use codes of their own. */
export const ErrorCode = {
  BadRequest: 'bad_request',
  UnknownType: 'unknown_type',
  InvalidChannel: 'invalid_channel',
  Forbidden: 'forbidden',
  Unauthenticated: 'unauthenticated',
  TooManySubscriptions: 'too_many_subscriptions',
  RateLimited: 'rate_limited',
  AuthFailed: 'auth_failed',
  InternalError: 'internal_error',
} as const;

/** An error code from {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Frame types only the server sends; never a publish `event` nor a custom request type. */
export const SERVER_FRAME_TYPES: readonly string[] = [
  'welcome',
  'ack',
  'error',
  'pong',
  'auth_expiring',
  'subscribed',
  'unsubscribed',
  'join',
  'leave',
];

// ------------------------------------------------------------------ server -> client

/** `welcome.data`: the facts of the session, sent first on every connection. */
export interface WelcomeData {
  session_id: string;
  protocol: number;
  node_id: string;
  authenticated: boolean;
  user_id: string | null;
  tenant_id: string | null;
  /** The server's heartbeat interval. */
  heartbeat_ms: number;
}

/** The first frame after the upgrade. */
export interface WelcomeFrame {
  type: 'welcome';
  data: WelcomeData;
}

/** The reply to a request that succeeded. */
export interface AckFrame<D = unknown> {
  type: 'ack';
  id: FrameId;
  data: D;
}

/** `error.data`. */
export interface ErrorData {
  code: ErrorCode | (string & {});
  message: string;
  /** When the client may try again (e.g. with `rate_limited`). */
  retry_after_ms?: number;
}

/** The reply to a refused frame; without `id` when the frame had none (or no readable one). */
export interface ErrorFrame {
  type: 'error';
  id?: FrameId;
  data: ErrorData;
}

/** The reply to `ping`, echoing its data. */
export interface PongFrame<D = unknown> {
  type: 'pong';
  id?: FrameId;
  data: D;
}

/** `auth_expiring.data`. */
export interface AuthExpiringData {
  /** When the token expires, in seconds since the epoch (the unit of the JWT `exp` claim). */
  expires_at: number;
}

/** Sent ahead of a token's expiry; the server closes with 4401 at expiry unless re-authenticated. */
export interface AuthExpiringFrame {
  type: 'auth_expiring';
  data: AuthExpiringData;
}

/** A channel broadcast delivered to a subscriber; `type` is the publisher's event (default `message`). */
export interface ChannelMessageFrame<D = unknown> {
  type: string;
  channel: string;
  data: D;
  /** Position in the channel's history, where history is on. */
  offset?: number;
}

/** A direct broadcast (to a user, tenant, role, permission or everyone): no `channel`. */
export interface DirectMessageFrame<D = unknown> {
  type: string;
  data: D;
}

/** Every frame the server sends. */
export type ServerFrame =
  | WelcomeFrame
  | AckFrame
  | ErrorFrame
  | PongFrame
  | AuthExpiringFrame
  | ChannelMessageFrame
  | DirectMessageFrame;

// ------------------------------------------------------------------ client -> server

/** In-band authentication. */
export interface AuthFrame {
  type: 'auth';
  id?: FrameId;
  data: { token: string };
}

/** Where to resume a channel's history from. */
export interface SinceOffset {
  offset: number;
  epoch: string;
}

/** Joins a channel. */
export interface SubscribeFrame {
  type: 'subscribe';
  id?: FrameId;
  /** The channel may be here instead of in `data`. */
  channel?: string;
  data: { channel: string; since?: SinceOffset };
}

/** Leaves a channel. */
export interface UnsubscribeFrame {
  type: 'unsubscribe';
  id?: FrameId;
  channel?: string;
  data: { channel: string };
}

/** Publishes `data` on `channel`; subscribers receive it as a frame of type `event`. */
export interface PublishFrame<D = unknown> {
  type: 'publish';
  id?: FrameId;
  channel: string;
  data: D;
  /** The delivered type. @default 'message' */
  event?: string;
}

/** Asks for a `pong` with the same data. */
export interface PingFrame<D = unknown> {
  type: 'ping';
  id?: FrameId;
  data?: D;
}

/** A frame of an application type, routed to the handler the server registered for it. */
export interface CustomFrame<D = unknown> {
  type: string;
  id?: FrameId;
  channel?: string;
  data?: D;
}

/** Every frame a client sends. */
export type ClientFrame =
  | AuthFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | PublishFrame
  | PingFrame
  | CustomFrame;

// ------------------------------------------------------------------ ack data

/** The `ack` data of `auth`. */
export interface AuthAckData {
  user_id: string;
  tenant_id: string | null;
  roles: string[];
  permissions: string[];
  /** Seconds since the epoch; `null` when the token does not expire. */
  expires_at: number | null;
}

/** The `ack` data of `subscribe`. */
export interface SubscribeAckData {
  channel: string;
  /** Subscribers of the channel on the answering node. */
  subscribers?: number;
  offset?: number;
  epoch?: string;
  recovered?: boolean;
}

/** The `ack` data of `unsubscribe`. */
export interface UnsubscribeAckData {
  channel: string;
}

/** The `ack` data of `publish`. */
export interface PublishAckData {
  channel: string;
  offset?: number;
}

/** The JSON body of an HTTP refusal of the handshake (401, 403, 404, 429, 503, 400). */
export interface HandshakeRefusalBody {
  error: { code: string; message: string };
}

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
