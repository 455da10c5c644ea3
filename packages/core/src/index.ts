export { AuthError, type AuthFailureReason } from './auth-error';
export {
  type AuthenticationContext,
  type Authenticator,
  type ExtractedToken,
  extractToken,
  type Identity,
  type TokenSource,
} from './authenticator';
export type { Backend, BackendDeliver } from './backend';
export { BackendError } from './backend-error';
export {
  BackendUnavailableError,
  type BackendUnavailableErrorOptions,
  DEFAULT_BACKEND_RETRY_AFTER_MS,
} from './backend-unavailable-error';
export {
  BROADCAST_TOPIC,
  type BroadcastTarget,
  decodeEnvelope,
  type EnvelopeHeader,
  encodeEnvelope,
  topicFor,
} from './broadcast-envelope';
export type { BrokerBackendStats } from './broker-backend-stats';
export { BROKER_TIMEOUT_DEFAULTS, BROKER_TIMEOUT_RULES } from './broker-timeouts';
export { type BrokerUrl, type BrokerUrlRule, brokerUrlOrigin, parseBrokerUrl } from './broker-url';
export {
  internalChannelName,
  isValidChannelName,
  isValidEventName,
  isValidTenantId,
  MAX_CHANNEL_LENGTH,
} from './channel-name';
export {
  CHANNEL_OPTION_DEFAULTS,
  type ChannelOptions,
  channelOptionProblems,
  type RecoveryMode,
} from './channel-options';
export { type ChannelPolicy, type ChannelRef, defaultChannelPolicy } from './channel-policy';
export {
  createDevelopmentConfig,
  createProductionConfig,
  DEFAULTS,
  type GatewayOptions,
  type ResolvedGatewayConfig,
  resolveConfig,
  type SlowConsumerPolicy,
} from './config';
export { ConfigError } from './config-error';
export {
  BEARER_SUBPROTOCOL_PREFIX,
  CloseCode,
  CloseReason,
  ErrorCode,
  PROTOCOL_VERSION,
  RESERVED_CLIENT_TYPES,
  SERVER_FRAME_TYPES,
  SUBPROTOCOL,
} from './constants';
export { waitAtMost, withTimeout } from './deadline';
export { droppedPublishError } from './dropped-publish';
export { errorText } from './error-text';
export { type Frame, FrameError, type FrameId, type JsonValue, parseFrame } from './frame';
export {
  type BroadcastOptions,
  type GatewayAddress,
  type GatewayBroadcastTarget,
  type HistoryOptions,
  type HistoryResult,
  type MessageHandler,
  type MessageHandlerContext,
  WebSocketGateway,
} from './gateway';
export { HandshakeError } from './handshake-error';
export { type ComponentHealth, type GatewayHealth, type HealthStatus, worstStatus } from './health';
export type {
  AppendResult,
  HistoryAppend,
  HistoryQuery,
  HistoryReadResult,
  HistoryStore,
  StoredPublication,
} from './history-store';
export { type PublishRequest, parsePublishBody } from './http-api';
export { DEFAULT_MAX_JSON_DEPTH, exceedsJsonDepth } from './json-depth';
export {
  createConsoleLogger,
  LOG_LEVELS,
  type LogFields,
  type Logger,
  type LogLevel,
  silentLogger,
} from './logger';
export { MemoryBackend, type MemoryBackendOptions, MemoryBus } from './memory-backend';
export { MemoryHistoryStore, type MemoryHistoryStoreOptions } from './memory-history-store';
export { MemoryPresenceStore } from './memory-presence-store';
export {
  type ConnectionContext,
  type ConnectionMiddleware,
  compose,
  type GatewayMiddleware,
  type IdentityContext,
  type IdentityMiddleware,
  type MessageContext,
  type MessageMiddleware,
} from './middleware';
export type { BroadcastEvent, ObservabilityHooks } from './observability-hooks';
export {
  checkIntegerOptions,
  describeOptionValue,
  type IntegerRule,
  redactUrl,
  withoutUndefined,
} from './option-checks';
export { decodePositioned, encodePositioned, isPositioned } from './positioned-payload';
export type {
  PresenceAddResult,
  PresenceMember,
  PresenceStats,
  PresenceStore,
} from './presence-store';
export { ProtocolError, type ProtocolErrorOptions } from './protocol-error';
export { safeJsonParse } from './safe-json-parse';
export { WebSocketSession } from './session';
export { StartStopLifecycle, type StartStopSteps } from './start-stop-lifecycle';
export type { GatewayCounters, GatewayStats } from './stats';
export type { StreamPosition } from './stream-position';
export {
  matchGatewayPath,
  resolveTenant,
  type TenantResolution,
  type TenantSource,
} from './tenant-resolution';
export { type PingResult, timedPing } from './timed-ping';
export type { TrustedProxies, TrustProxyOption } from './trusted-proxies';

import type { GatewayOptions } from './config';
import { WebSocketGateway } from './gateway';

/**
 * Creates and starts a gateway. Use with `await using` to stop it at the end of a scope.
 *
 * @example
 * await using gateway = await startGateway(createDevelopmentConfig({ port: 0 }))
 */
export async function startGateway(options: GatewayOptions = {}): Promise<WebSocketGateway> {
  return new WebSocketGateway(options).start();
}
export { type ApiKeyOption, type ApiKeyScope, MIN_API_KEY_LENGTH } from './api-keys';
export type { ChannelPublishResult } from './channel-features';
export { Cluster, type ClusterChannels, type ClusterInfo, type DisconnectOptions } from './cluster';
export type { NodeInfo, SessionSelector } from './control-message';
export type { GatewayEventListener, GatewayEventMap, GatewayEventName } from './gateway-events';
export type { HealthComponentCheck } from './health-check';
export { MAX_API_BODY_BYTES } from './http-api-body';
export { OPENAPI_DOCUMENT, type OpenApiDocument } from './openapi';
export { VERSION } from './version';
