export {
  AppBackend,
  type AppBackendOptions,
  type AppBackendStats,
  createAppBackend,
} from './app-backend';
export {
  type ChannelOccupancy,
  MemoryChannelOccupancy,
  type OccupancyChange,
} from './channel-occupancy';
export { ChannelPatterns, channelPatternProblems } from './channel-patterns';
export type { BreakerState } from './circuit-breaker';
export { httpStatusOf } from './connect-proxy';
export { LATENCY_BUCKETS } from './metrics-text';
export { PROXY_ROUTES, type ProxyDecision, type ProxyRoute, parseProxyAnswer } from './proxy-answer';
export type { ProxyOutcome, ProxyRouteStats, ProxyStats } from './proxy-client';
export { PROXY_UNAVAILABLE, type ProxyFailureReason } from './proxy-failure';
export {
  MIN_SECRET_LENGTH,
  PROXY_DEFAULTS,
  type ProxyOptions,
  type ResolvedProxyOptions,
} from './proxy-options';
export { SESSION_EXTRA_KEY, type SessionProxyData, type TransportInfo } from './proxy-request';
export { REDIS_OCCUPANCY_DEFAULTS, RedisChannelOccupancy } from './redis-channel-occupancy';
export type { RefreshIdentity } from './refresh-proxy';
export { MAX_META_BYTES } from './result-fields';
export {
  DEFAULT_SIGNATURE_TOLERANCE_SEC,
  SIGNATURE_HEADER,
  signRequest,
  TIMESTAMP_HEADER,
  type VerifyRequestInput,
  verifyRequest,
} from './signature';
export { VERSION } from './version';
export {
  WEBHOOK_EVENT_NAMES,
  type WebhookBatch,
  type WebhookEvent,
  type WebhookEventName,
} from './webhook-event';
export {
  type RedisOccupancyOptions,
  type ResolvedWebhookOptions,
  WEBHOOK_DEFAULTS,
  type WebhookOptions,
  type WebhookTargetOptions,
} from './webhook-options';
export type { DropReason, WebhookTargetStats } from './webhook-target';
export type { WebhookStats } from './webhooks';
