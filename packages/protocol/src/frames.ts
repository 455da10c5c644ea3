import type { ErrorCode } from './error-codes';

/** A request id: a string of at most 128 characters or a safe integer. */
export type FrameId = string | number;

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A channel position: where to resume its history from ("History and recovery"). */
export interface SinceOffset {
  offset: number;
  epoch: string;
}

/** One publication of a channel's history. */
export interface Publication<D = unknown> {
  /** The delivered type. */
  type: string;
  data: D;
  offset: number;
}

// ------------------------------------------------------------------ server -> client

/** `welcome.data`: the facts of the session, sent first on every connection. */
export interface WelcomeData {
  session_id: string;
  /** The protocol version (`PROTOCOL_VERSION`). */
  protocol: number;
  node_id: string;
  authenticated: boolean;
  user_id: string | null;
  tenant_id: string | null;
  /** The server's heartbeat interval. */
  heartbeat_ms: number;
  /** v1.1: what the server has switched on, e.g. `["history","presence"]`. */
  features?: string[];
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
  /** When the client may try again (e.g. with `rate_limited`, `backend_unavailable`). */
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

/** v1.1 `subscribed.data`: the server subscribed the session; the channel's position where history is on. */
export interface SubscribedData {
  offset?: number;
  epoch?: string;
}

/** v1.1: the server subscribed the session to `channel`. */
export interface SubscribedFrame {
  type: 'subscribed';
  channel: string;
  data: SubscribedData;
}

/** v1.1 `unsubscribed.data`. */
export interface UnsubscribedData {
  /** Why, e.g. `forbidden` or `tenant_changed` after a re-auth. */
  reason?: string;
}

/** v1.1: the server unsubscribed the session from `channel`. */
export interface UnsubscribedFrame {
  type: 'unsubscribed';
  channel: string;
  data: UnsubscribedData;
}

/** v1.1 `join.data` / `leave.data`: the member that came or went. */
export interface ClientInfo {
  /** The member's session id. */
  client: string;
  /** The member's user id. */
  user: string | null;
  info?: JsonValue;
}

/** v1.1: a member joined a channel with `join_leave`. */
export interface JoinFrame {
  type: 'join';
  channel: string;
  data: ClientInfo;
}

/** v1.1: a member left a channel with `join_leave`. */
export interface LeaveFrame {
  type: 'leave';
  channel: string;
  data: ClientInfo;
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
  | SubscribedFrame
  | UnsubscribedFrame
  | JoinFrame
  | LeaveFrame
  | ChannelMessageFrame
  | DirectMessageFrame;

// ------------------------------------------------------------------ client -> server

/** `auth.data`. */
export interface AuthData {
  token: string;
}

/** In-band authentication. */
export interface AuthFrame {
  type: 'auth';
  id?: FrameId;
  data: AuthData;
}

/** `subscribe.data`. */
export interface SubscribeData {
  channel: string;
  /** v1.1: recover the publications after this position. */
  since?: SinceOffset;
}

/** Joins a channel. */
export interface SubscribeFrame {
  type: 'subscribe';
  id?: FrameId;
  /** The channel may be here instead of in `data`. */
  channel?: string;
  data: SubscribeData;
}

/** `unsubscribe.data`. */
export interface UnsubscribeData {
  channel: string;
}

/** Leaves a channel. */
export interface UnsubscribeFrame {
  type: 'unsubscribe';
  id?: FrameId;
  channel?: string;
  data: UnsubscribeData;
}

/** Publishes `data` on `channel`; subscribers receive it as a frame of type `event`. */
export interface PublishFrame<D = unknown> {
  type: 'publish';
  id?: FrameId;
  channel: string;
  data: D;
  /** The delivered type. @default 'message' */
  event?: string;
  /** v1.1: a retry with the same key (within the history TTL) is acked with the first offset, not delivered again. */
  idempotency_key?: string;
}

/** Asks for a `pong` with the same data. */
export interface PingFrame<D = unknown> {
  type: 'ping';
  id?: FrameId;
  data?: D;
}

/** v1.1 `history.data`. */
export interface HistoryData {
  channel: string;
  limit?: number;
  since?: SinceOffset;
  reverse?: boolean;
}

/** v1.1: asks for a channel's history (needs subscribe permission). */
export interface HistoryFrame {
  type: 'history';
  id?: FrameId;
  data: HistoryData;
}

/** v1.1 `presence.data` / `presence_stats.data`. */
export interface PresenceData {
  channel: string;
}

/** v1.1: asks for a channel's members (needs subscribe permission). */
export interface PresenceFrame {
  type: 'presence';
  id?: FrameId;
  data: PresenceData;
}

/** v1.1: asks for a channel's member counts (needs subscribe permission). */
export interface PresenceStatsFrame {
  type: 'presence_stats';
  id?: FrameId;
  data: PresenceData;
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
  | HistoryFrame
  | PresenceFrame
  | PresenceStatsFrame
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
  /** v1.1: the channel's top position, where history is on. */
  offset?: number;
  epoch?: string;
  /** v1.1: whether `since` could be honoured. */
  recovered?: boolean;
  /** v1.1: the recovered publications (or the latest one with `recovery: "cache"`). */
  publications?: Publication[];
}

/** The `ack` data of `unsubscribe`. */
export interface UnsubscribeAckData {
  channel: string;
}

/** The `ack` data of `publish`. */
export interface PublishAckData {
  channel: string;
  /** v1.1: the publication's offset, where history is on. */
  offset?: number;
}

/** v1.1: the `ack` data of `history`. */
export interface HistoryAckData {
  channel: string;
  offset: number;
  epoch: string;
  publications: Publication[];
}

/** v1.1: one member in a `presence` ack, keyed by its session id. */
export interface PresenceMember {
  user: string | null;
  node: string;
  joined_at: number;
  info?: JsonValue;
}

/** v1.1: the `ack` data of `presence`. */
export interface PresenceAckData {
  channel: string;
  clients: Record<string, PresenceMember>;
}

/** v1.1: the `ack` data of `presence_stats`. */
export interface PresenceStatsAckData {
  channel: string;
  num_clients: number;
  num_users: number;
}

/** The JSON body of an HTTP refusal of the handshake (401, 403, 404, 429, 503, 400). */
export interface HandshakeRefusalBody {
  error: { code: string; message: string };
}
