export { type BackoffOptions, backoffDelay } from './backoff';
export type { ResyncEvent, ResyncReason } from './channel-stream';
export {
  type ClientEventMap,
  type ClientIdentity,
  type ClientState,
  type ClosedReason,
  type ConnectedEvent,
  createClient,
  type DisconnectedEvent,
  DotmacClient,
  type HistoryOptions,
  type MessageHandler,
  type PublishOptions,
  type RequestOptions,
} from './client';
export { ClientConfigError } from './client-config-error';
export {
  CLIENT_DEFAULTS,
  type ClientOptions,
  type ReconnectOptions,
  type ResolvedClientOptions,
  type TokenResult,
  type TokenTransport,
} from './client-options';
export {
  type PresenceChange,
  PresenceTracker,
  type PresenceTrackerEventMap,
  type PresenceUser,
  type TrackedMember,
  trackPresence,
} from './presence-tracker';
export * from './protocol';
export { RequestError, type RequestErrorCode } from './request-error';
export { ServerError } from './server-error';
export {
  type ChannelHandler,
  type SubscribedEvent,
  Subscription,
  type SubscriptionEventMap,
  type SubscriptionState,
} from './subscription';
export type { WebSocketConstructor, WebSocketLike } from './websocket-like';
