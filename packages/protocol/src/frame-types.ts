/** The `type` of every frame the protocol names (v1 and v1.1). */
export const FrameType = {
  // server -> client
  Welcome: 'welcome',
  Ack: 'ack',
  Error: 'error',
  Pong: 'pong',
  AuthExpiring: 'auth_expiring',
  Subscribed: 'subscribed',
  Unsubscribed: 'unsubscribed',
  Join: 'join',
  Leave: 'leave',
  // client -> server
  Auth: 'auth',
  Subscribe: 'subscribe',
  Unsubscribe: 'unsubscribe',
  Publish: 'publish',
  Ping: 'ping',
  History: 'history',
  Presence: 'presence',
  PresenceStats: 'presence_stats',
} as const;

/** A frame type from {@link FrameType}. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/**
 * Frame types only the server sends, including the v1.1 pushes. A client may never use one as
 * a publish `event` or a request type (nor the server API as a broadcast type): it could
 * otherwise forge an `unsubscribed` push or a presence `join` in other clients' streams.
 */
export const SERVER_FRAME_TYPES = [
  'welcome',
  'ack',
  'error',
  'pong',
  'auth_expiring',
  'subscribed',
  'unsubscribed',
  'join',
  'leave',
] as const;

/** A frame type from {@link SERVER_FRAME_TYPES}. */
export type ServerFrameType = (typeof SERVER_FRAME_TYPES)[number];

/** The reserved client types of v1, which every server handles itself ("Reserved client types"). */
export const RESERVED_CLIENT_TYPES = ['auth', 'subscribe', 'unsubscribe', 'publish', 'ping'] as const;

/** A frame type from {@link RESERVED_CLIENT_TYPES}. */
export type ReservedClientType = (typeof RESERVED_CLIENT_TYPES)[number];

/**
 * Client request types v1.1 adds for history and presence. A server that has switched those
 * features on (`welcome.data.features`) handles them itself.
 */
export const V1_1_CLIENT_TYPES = ['history', 'presence', 'presence_stats'] as const;

/** A frame type from {@link V1_1_CLIENT_TYPES}. */
export type V11ClientType = (typeof V1_1_CLIENT_TYPES)[number];

const SERVER_TYPES: ReadonlySet<string> = new Set(SERVER_FRAME_TYPES);

/** True when `type` is one of {@link SERVER_FRAME_TYPES}. */
export function isServerFrameType(type: string): type is ServerFrameType {
  return SERVER_TYPES.has(type);
}
